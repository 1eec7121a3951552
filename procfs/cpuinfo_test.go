package procfs

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/cpu"
	"ksim/kernfs"
	"ksim/sysfs"
)

// vulnerabilityBug is the bug bit each file of
// /sys/devices/system/cpu/vulnerabilities reports on: cpu_show_common
// (arch/x86/kernel/cpu/bugs.c) says "Not affected" exactly when the CPU
// lacks that bit. ghostwrite is RISC-V's and never set on x86.
var vulnerabilityBug = map[string]string{
	"gather_data_sampling":      "gds",
	"ghostwrite":                "",
	"indirect_target_selection": "its",
	"itlb_multihit":             "itlb_multihit",
	"l1tf":                      "l1tf",
	"mds":                       "mds",
	"meltdown":                  "cpu_meltdown",
	"mmio_stale_data":           "mmio_stale_data",
	"old_microcode":             "old_microcode",
	"reg_file_data_sampling":    "rfds",
	"retbleed":                  "retbleed",
	"spec_rstack_overflow":      "srso",
	"spec_store_bypass":         "spec_store_bypass",
	"spectre_v1":                "spectre_v1",
	"spectre_v2":                "spectre_v2",
	"srbds":                     "srbds",
	"tsa":                       "tsa",
	"tsx_async_abort":           "taa",
	"vmscape":                   "vmscape",
}

// TestCpuinfoBugsAgreeWithVulnerabilities: cpuinfo's bugs line names a
// vulnerability exactly when sysfs says the CPU is affected by it.
func TestCpuinfoBugsAgreeWithVulnerabilities(t *testing.T) {
	k, d := newTestTree(t)
	sys := sysfs.New(k, kernfs.NewOutbox())
	const dir = "devices/system/cpu/vulnerabilities"
	files, err := kernfs.ReadDirNames(sys, reader, dir)
	require.NoError(t, err)
	require.NotEmpty(t, files)

	text := read(t, d, "cpuinfo")
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "bugs\t\t: ") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 4, "one per online CPU")
	bugs := map[string]bool{}
	for _, b := range strings.Fields(strings.TrimPrefix(lines[0], "bugs\t\t: ")) {
		bugs[b] = true
	}
	for _, f := range files {
		bug, known := vulnerabilityBug[f]
		require.True(t, known, "a vulnerabilities file this test does not know: %s", f)
		state, err := kernfs.ReadFile(sys, reader, dir+"/"+f)
		require.NoError(t, err)
		affected := string(state) != "Not affected\n"
		if bug == "" {
			require.False(t, affected, f)
			continue
		}
		require.Equal(t, affected, bugs[bug], "%s: %q, bugs line %q", f, state, lines[0])
	}
}

// TestCpuinfoBugsLine is the whole line 6.18 prints for a Cascade Lake on
// bare metal: the bits cpu_set_bug_bits (arch/x86/kernel/cpu/common.c)
// sets for INTEL_SKYLAKE_X stepping 7, in bit order
// (arch/x86/include/asm/cpufeatures.h). On 6.18 spectre_v2_user comes
// with spectre_v2, and vmscape is in the Skylake-X rows of
// cpu_vuln_blacklist. This host's 6.18 shows the same order for what its
// CPU has: "cpu_meltdown spectre_v1 spectre_v2 spec_store_bypass srso
// spectre_v2_user".
func TestCpuinfoBugsLine(t *testing.T) {
	_, d := newTestTree(t)
	require.Contains(t, read(t, d, "cpuinfo"), "\nbugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs taa "+
		"itlb_multihit mmio_stale_data retbleed eibrs_pbrsb gds bhi spectre_v2_user its vmscape\n")

	// The model's bugs are in bit order, as the host's line is.
	last := -1
	for _, b := range cpu.XeonGold6230.Bugs {
		i := slices.Index(cpu.BugBits, b)
		require.Greater(t, i, last, "%s out of bit order", b)
		last = i
	}
	hostBugs := []string{"cpu_meltdown", "spectre_v1", "spectre_v2", "spec_store_bypass", "srso", "spectre_v2_user"}
	require.True(t, slices.IsSortedFunc(hostBugs, func(a, b string) int {
		return slices.Index(cpu.BugBits, a) - slices.Index(cpu.BugBits, b)
	}), "BugBits orders the host's own line")
}

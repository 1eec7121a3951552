package procfs

import (
	"context"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernfs"
)

func TestInterruptsLayout(t *testing.T) {
	k, d := newTestTree(t)
	require.NoError(t, k.Advance(context.Background(), 1000))
	lines := strings.Split(strings.TrimSuffix(read(t, d, "interrupts"), "\n"), "\n")
	// kernel/irq/proc.c: prec+8 spaces, then "CPU%-8d" per online CPU.
	require.Equal(t, strings.Repeat(" ", 11)+"CPU0       CPU1       CPU2       CPU3       ", lines[0])
	require.Equal(t, "  0:         34          0          0          0  IO-APIC   2-edge      timer", lines[1])
	row := regexp.MustCompile(`^ 24:( +\d+){4} PCI-MSIX-0000:00:03\.0   0-edge      eth0-TxRx-0$`)
	require.True(t, slicesAny(lines, row.MatchString), "eth0 queue 0 row")
	require.Contains(t, lines, "ERR:          0")
	loc := regexp.MustCompile(`^LOC:( +\d+){4}   Local timer interrupts$`)
	require.True(t, slicesAny(lines, loc.MatchString))
	require.Equal(t, "PIW:          0          0          0          0   Posted-interrupt wakeup event", lines[len(lines)-1])

	soft := strings.Split(read(t, d, "softirqs"), "\n")
	require.Equal(t, strings.Repeat(" ", 20)+"CPU0       CPU1       CPU2       CPU3       ", soft[0])
	require.Regexp(t, `^ {10}HI:( +\d+){4}$`, soft[1])
	require.Regexp(t, `^ {6}NET_RX:( +\d+){4}$`, soft[4])
}

func slicesAny(lines []string, f func(string) bool) bool {
	for _, l := range lines {
		if f(l) {
			return true
		}
	}
	return false
}

func TestIRQAffinityWrites(t *testing.T) {
	_, d := newTestTree(t)
	write := func(path, s string) error { return kernfs.WriteFile(d, reader, path, []byte(s)) }
	require.Equal(t, "f\n", read(t, d, "irq/24/smp_affinity"))
	require.Equal(t, "0\n", read(t, d, "irq/24/effective_affinity_list"))
	require.Equal(t, "1\n", read(t, d, "irq/24/affinity_hint"))
	require.Equal(t, "0\n", read(t, d, "irq/24/node"))
	require.Equal(t, "-1\n", read(t, d, "irq/9/node"))
	require.NoError(t, write("irq/24/smp_affinity", "4\n"))
	require.Equal(t, "4\n", read(t, d, "irq/24/smp_affinity"))
	require.Equal(t, "2\n", read(t, d, "irq/24/smp_affinity_list"))
	require.Equal(t, "2\n", read(t, d, "irq/24/effective_affinity_list"))
	require.NoError(t, write("irq/24/smp_affinity_list", "0-1\n"))
	require.Equal(t, "3\n", read(t, d, "irq/24/smp_affinity"))

	// Refused as Linux 6.18 refuses them, leaving the mask alone.
	for _, c := range []struct {
		file, value string
		errno       syscall.Errno
	}{
		{"smp_affinity", "0\n", syscall.EINVAL},
		{"smp_affinity", "xyz\n", syscall.EINVAL},
		{"smp_affinity", "10\n", syscall.EOVERFLOW},
		{"smp_affinity_list", "0-4\n", syscall.ERANGE},
		{"smp_affinity_list", "a-b\n", syscall.EINVAL},
	} {
		require.ErrorIs(t, write("irq/24/"+c.file, c.value), c.errno, "%s %q", c.file, c.value)
	}
	require.Equal(t, "3\n", read(t, d, "irq/24/smp_affinity"))

	// Managed NVMe queues and the timer: read-only, EPERM even for root.
	require.ErrorIs(t, write("irq/30/smp_affinity", "1\n"), syscall.EPERM)
	require.ErrorIs(t, write("irq/0/smp_affinity_list", "1\n"), syscall.EPERM)
	names, err := kernfs.ReadDirNames(d, reader, "irq/24")
	require.NoError(t, err)
	require.Contains(t, names, "eth0-TxRx-0")
	require.Equal(t, "count 0\nunhandled 0\nlast_unhandled 0 ms\n", read(t, d, "irq/30/spurious"))

	require.NoError(t, write("irq/default_smp_affinity", "6\n"))
	require.Equal(t, "6\n", read(t, d, "irq/default_smp_affinity"))
	require.ErrorIs(t, write("irq/default_smp_affinity", "0\n"), syscall.EINVAL)
}

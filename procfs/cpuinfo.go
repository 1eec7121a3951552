package procfs

import (
	"bytes"
	"fmt"
	"strings"

	"ksim/kernelsim"
	"ksim/kernfs"
)

// cpuinfo prints /proc/cpuinfo as arch/x86/kernel/cpu/proc.c show_cpuinfo
// does for an Intel CPU: one block per online CPU, each ending in a blank line.
func (v *view) cpuinfo(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	cpus := m.CPUs
	model := cpus.Model()
	for _, c := range cpus.OnlineList() {
		t := cpus.Topology(c)
		fmt.Fprintf(b, "processor\t: %d\n", c)
		fmt.Fprintf(b, "vendor_id\t: %s\n", model.VendorID)
		fmt.Fprintf(b, "cpu family\t: %d\n", model.Family)
		fmt.Fprintf(b, "model\t\t: %d\n", model.Model)
		fmt.Fprintf(b, "model name\t: %s\n", model.ModelName)
		fmt.Fprintf(b, "stepping\t: %d\n", model.Stepping)
		fmt.Fprintf(b, "microcode\t: 0x%x\n", model.Microcode)
		khz := cpus.Policy(c).CurKHz() // APERF/MPERF, as scaling_cur_freq
		fmt.Fprintf(b, "cpu MHz\t\t: %d.%03d\n", khz/1000, khz%1000)
		fmt.Fprintf(b, "cache size\t: %d KB\n", model.CacheKB)
		fmt.Fprintf(b, "physical id\t: %d\n", t.PhysicalID)
		fmt.Fprintf(b, "siblings\t: %d\n", t.Siblings)
		fmt.Fprintf(b, "core id\t\t: %d\n", t.CoreID)
		fmt.Fprintf(b, "cpu cores\t: %d\n", t.Cores)
		fmt.Fprintf(b, "apicid\t\t: %d\n", t.APICID)
		fmt.Fprintf(b, "initial apicid\t: %d\n", t.APICID)
		b.WriteString("fpu\t\t: yes\nfpu_exception\t: yes\n")
		fmt.Fprintf(b, "cpuid level\t: %d\n", model.CPUIDLevel)
		b.WriteString("wp\t\t: yes\n")
		fmt.Fprintf(b, "flags\t\t: %s\n", strings.Join(model.Flags, " "))
		fmt.Fprintf(b, "vmx flags\t: %s\n", strings.Join(model.VMXFlags, " "))
		fmt.Fprintf(b, "bugs\t\t: %s\n", strings.Join(model.Bugs, " "))
		fmt.Fprintf(b, "bogomips\t: %s\n", model.BogoMIPS())
		fmt.Fprintf(b, "clflush size\t: %d\n", model.ClflushSize)
		fmt.Fprintf(b, "cache_alignment\t: %d\n", model.ClflushSize)
		fmt.Fprintf(b, "address sizes\t: %d bits physical, %d bits virtual\n", model.AddrPhys, model.AddrVirt)
		b.WriteString("power management:\n\n")
	}
}

package procfs

import (
	"bytes"
	"fmt"
	"strings"

	"ksim/kernfs"
)

// cpuinfo prints /proc/cpuinfo as arch/x86/kernel/cpu/proc.c show_cpuinfo
// does for an Intel CPU: one block per online CPU, each ending in a blank line.
func (v *view) cpuinfo(b *bytes.Buffer, _ *kernfs.Caller) {
	cpus := v.k.CPUs
	m := cpus.Model()
	for _, c := range cpus.OnlineList() {
		t := cpus.Topology(c)
		fmt.Fprintf(b, "processor\t: %d\n", c)
		fmt.Fprintf(b, "vendor_id\t: %s\n", m.VendorID)
		fmt.Fprintf(b, "cpu family\t: %d\n", m.Family)
		fmt.Fprintf(b, "model\t\t: %d\n", m.Model)
		fmt.Fprintf(b, "model name\t: %s\n", m.ModelName)
		fmt.Fprintf(b, "stepping\t: %d\n", m.Stepping)
		fmt.Fprintf(b, "microcode\t: 0x%x\n", m.Microcode)
		khz := cpus.Policy(c).CurKHz() // APERF/MPERF, as scaling_cur_freq
		fmt.Fprintf(b, "cpu MHz\t\t: %d.%03d\n", khz/1000, khz%1000)
		fmt.Fprintf(b, "cache size\t: %d KB\n", m.CacheKB)
		fmt.Fprintf(b, "physical id\t: %d\n", t.PhysicalID)
		fmt.Fprintf(b, "siblings\t: %d\n", t.Siblings)
		fmt.Fprintf(b, "core id\t\t: %d\n", t.CoreID)
		fmt.Fprintf(b, "cpu cores\t: %d\n", t.Cores)
		fmt.Fprintf(b, "apicid\t\t: %d\n", t.APICID)
		fmt.Fprintf(b, "initial apicid\t: %d\n", t.APICID)
		b.WriteString("fpu\t\t: yes\nfpu_exception\t: yes\n")
		fmt.Fprintf(b, "cpuid level\t: %d\n", m.CPUIDLevel)
		b.WriteString("wp\t\t: yes\n")
		fmt.Fprintf(b, "flags\t\t: %s\n", strings.Join(m.Flags, " "))
		fmt.Fprintf(b, "vmx flags\t: %s\n", strings.Join(m.VMXFlags, " "))
		fmt.Fprintf(b, "bugs\t\t: %s\n", strings.Join(m.Bugs, " "))
		fmt.Fprintf(b, "bogomips\t: %s\n", m.BogoMIPS())
		fmt.Fprintf(b, "clflush size\t: %d\n", m.ClflushSize)
		fmt.Fprintf(b, "cache_alignment\t: %d\n", m.ClflushSize)
		fmt.Fprintf(b, "address sizes\t: %d bits physical, %d bits virtual\n", m.AddrPhys, m.AddrVirt)
		b.WriteString("power management:\n\n")
	}
}

// Package cpu describes the simulated processors: their model (what
// /proc/cpuinfo reports), their topology and which of them are online.
package cpu

import (
	"fmt"
	"strings"
)

// Model is what CPUID tells the kernel about a processor.
type Model struct {
	VendorID   string
	Family     int
	Model      int
	ModelName  string
	Stepping   int
	Microcode  uint32
	KHz        uint64 // base frequency
	CacheKB    int    // last-level cache
	CPUIDLevel int
	Flags      []string
	VMXFlags   []string
	// Bugs are the X86_BUG_* bits cpu_set_bug_bits sets, in bit order
	// (BugBits), as show_cpuinfo prints them.
	Bugs []string
	// Vulnerabilities are what sys/devices/system/cpu/vulnerabilities/
	// says of each issue with default mitigations (arch/x86/kernel/cpu/bugs.c).
	Vulnerabilities []Vulnerability
	ClflushSize     int
	AddrPhys        int // address sizes in bits
	AddrVirt        int
	caches          []Cache
	freq            Frequencies
}

// BogoMIPS is the calibrated delay-loop speed: twice the TSC frequency in
// MHz on x86 (lpj from the TSC), printed with two decimals.
func (m *Model) BogoMIPS() string {
	hundredths := m.KHz * 2 / 10
	return fmt.Sprintf("%d.%02d", hundredths/100, hundredths%100)
}

// XeonGold6230 is a Cascade Lake server CPU with VT-x: a common cloud and
// lab machine, so its cpuinfo is what ops tooling expects to parse.
var XeonGold6230 = Model{
	VendorID:    "GenuineIntel",
	Family:      6,
	Model:       85,
	ModelName:   "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz",
	Stepping:    7,
	Microcode:   0x5003604,
	KHz:         2100000,
	CacheKB:     28160,
	CPUIDLevel:  22,
	ClflushSize: 64,
	AddrPhys:    46,
	AddrVirt:    48,
	caches: []Cache{
		{Level: 1, Type: "Data", KB: 32, Ways: 8},
		{Level: 1, Type: "Instruction", KB: 32, Ways: 8},
		{Level: 2, Type: "Unified", KB: 1024, Ways: 16},
		{Level: 3, Type: "Unified", KB: 28160, Ways: 11, PerPackage: true},
	},
	freq: Frequencies{MinKHz: 800_000, BaseKHz: 2_100_000, MaxKHz: 3_900_000},
	Flags: strings.Fields(`fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca
		cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx
		pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good nopl
		xtopology nonstop_tsc cpuid aperfmperf pni pclmulqdq dtes64 monitor ds_cpl
		vmx smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic
		movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm
		3dnowprefetch cpuid_fault epb cat_l3 cdp_l3 intel_ppin ssbd mba ibrs ibpb
		stibp ibrs_enhanced tpr_shadow flexpriority ept vpid ept_ad fsgsbase
		tsc_adjust bmi1 avx2 smep bmi2 erms invpcid cqm mpx rdt_a avx512f avx512dq
		rdseed adx smap clflushopt clwb intel_pt avx512cd avx512bw avx512vl
		xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total
		cqm_mbm_local dtherm ida arat pln pts pku ospke avx512_vnni md_clear
		flush_l1d arch_capabilities`),
	VMXFlags: strings.Fields(`vnmi preemption_timer posted_intr invvpid ept_x_only
		ept_ad ept_1gb flexpriority apicv tsc_offset vtpr mtf vapic ept vpid
		unrestricted_guest vapic_reg vid ple shadow_vmcs pml ept_mode_based_exec
		tsc_scaling`),
	// 6.18 sets spectre_v2_user with spectre_v2, and vmscape for the
	// Skylake-X rows of cpu_vuln_blacklist (bare metal only).
	Bugs: strings.Fields(`spectre_v1 spectre_v2 spec_store_bypass swapgs taa
		itlb_multihit mmio_stale_data retbleed eibrs_pbrsb gds bhi
		spectre_v2_user its vmscape`),
	Vulnerabilities: []Vulnerability{
		{"gather_data_sampling", "Mitigation: Microcode"},
		{"ghostwrite", "Not affected"},
		{"indirect_target_selection", "Mitigation: Aligned branch/return thunks"},
		{"itlb_multihit", "KVM: Mitigation: VMX disabled"},
		{"l1tf", "Not affected"},
		{"mds", "Not affected"},
		{"meltdown", "Not affected"},
		{"mmio_stale_data", "Mitigation: Clear CPU buffers; SMT disabled"},
		{"old_microcode", "Not affected"},
		{"reg_file_data_sampling", "Not affected"},
		{"retbleed", "Mitigation: Enhanced IBRS"},
		{"spec_rstack_overflow", "Not affected"},
		{"spec_store_bypass", "Mitigation: Speculative Store Bypass disabled via prctl"},
		{"spectre_v1", "Mitigation: usercopy/swapgs barriers and __user pointer sanitization"},
		{"spectre_v2", "Mitigation: Enhanced / Automatic IBRS; IBPB: conditional; RSB filling; PBRSB-eIBRS: SW sequence; BHI: SW loop, KVM: SW loop"},
		{"srbds", "Not affected"},
		{"tsa", "Not affected"},
		{"tsx_async_abort", "Mitigation: TSX disabled"},
		{"vmscape", "Mitigation: IBPB before exit to userspace"},
	},
}

// Vulnerability is one file of sys/devices/system/cpu/vulnerabilities.
type Vulnerability struct {
	File, State string
}

// BugBits are the names of the speculation bug bits, from
// X86_BUG_CPU_MELTDOWN (bit 14) to X86_BUG_VMSCAPE (1*32+10), in bit order
// (arch/x86/include/asm/cpufeatures.h, 6.18; bit 26 is unused): the order
// show_cpuinfo prints those a CPU has. The older errata bits before them
// are never set on the CPUs ksim models.
var BugBits = []string{
	"cpu_meltdown", "spectre_v1", "spectre_v2", "spec_store_bypass", "l1tf", "mds", "msbds_only",
	"swapgs", "taa", "itlb_multihit", "srbds", "mmio_stale_data", "retbleed", "eibrs_pbrsb",
	"smt_rsb", "gds", "tdx_pw_mce",
	"srso", "div0", "rfds", "bhi", "ibpb_no_ret", "spectre_v2_user", "old_microcode", "its",
	"its_native_only", "tsa", "vmscape",
}

// NrCPUsMax is CONFIG_NR_CPUS of a distribution kernel; kernel_max is one less.
const NrCPUsMax = 8192

// Set is the machine's CPUs: a package of single-threaded cores per NUMA
// node, all present, and which of them are online.
type Set struct {
	model    Model
	nr       int
	nodes    int
	online   []bool
	policies []FreqPolicy
}

// NewSet describes nr CPUs of one model spread over NUMA nodes, in
// consecutive groups (node i has CPUs i*nr/nodes up to (i+1)*nr/nodes).
func NewSet(model Model, nr, nodes int) (*Set, error) {
	if nr < 1 || nr > NrCPUsMax {
		return nil, fmt.Errorf("cpus %d: want 1..%d", nr, NrCPUsMax)
	}
	if nodes < 1 || nodes > nr {
		return nil, fmt.Errorf("nodes %d: want 1..%d", nodes, nr)
	}
	s := &Set{model: model, nr: nr, nodes: nodes, online: make([]bool, nr), policies: make([]FreqPolicy, nr)}
	for i := range s.online {
		s.online[i] = true
		s.policies[i] = newFreqPolicy(model.freq)
	}
	return s, nil
}

// Model is the processor model.
func (s *Set) Model() *Model { return &s.model }

// Possible is the number of possible (and present) CPUs, nr_cpu_ids.
func (s *Set) Possible() int { return s.nr }

// Online says whether a CPU is online.
func (s *Set) Online(cpu int) bool { return cpu >= 0 && cpu < s.nr && s.online[cpu] }

// SetOnline marks a CPU online or offline; the kernel's hotplug does the rest.
func (s *Set) SetOnline(cpu int, on bool) {
	if cpu >= 0 && cpu < s.nr {
		s.online[cpu] = on
	}
}

// OnlineList lists the online CPUs in ascending order.
func (s *Set) OnlineList() []int {
	var l []int
	for i, on := range s.online {
		if on {
			l = append(l, i)
		}
	}
	return l
}

// Node is the NUMA node a CPU belongs to.
func (s *Set) Node(cpu int) int { return cpu * s.nodes / s.nr }

// Nodes is the number of NUMA nodes.
func (s *Set) Nodes() int { return s.nodes }

// NodeCPUs lists a node's CPUs.
func (s *Set) NodeCPUs(node int) []int {
	var l []int
	for c := range s.nr {
		if s.Node(c) == node {
			l = append(l, c)
		}
	}
	return l
}

// Topology is where a CPU sits, as cpuinfo and sysfs topology report it.
type Topology struct {
	PhysicalID, CoreID, APICID int
	Siblings, Cores            int // logical CPUs and cores in the package
}

// Topology returns a CPU's place: a package per NUMA node, one thread
// per core. Siblings counts the package's online CPUs, as cpuinfo does.
func (s *Set) Topology(cpu int) Topology {
	node := s.Node(cpu)
	pkg := s.NodeCPUs(node)
	online := 0
	for _, c := range pkg {
		if s.online[c] {
			online++
		}
	}
	return Topology{PhysicalID: node, CoreID: cpu - pkg[0], APICID: cpu, Siblings: online, Cores: len(pkg)}
}

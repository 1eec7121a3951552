package sysfs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/cpu"
	"ksim/kernfs"
)

// cpuDir is /sys/devices/system/cpu (drivers/base/cpu.c): the CPU masks
// as lists, SMT control, vulnerabilities, the cpufreq policies and a
// directory per possible CPU.
func (v *view) cpuDir() kernfs.Dir {
	cpus := v.k.CPUs
	all := func() string { return cpu.FormatList(seq(cpus.Possible())) }
	entries := []kernfs.Entry{
		entry("cpufreq", v.cpufreqDir()),
		entry("enabled", v.attr(0o444, all, nil)),
		entry("isolated", v.attr(0o444, func() string { return "" }, nil)),
		entry("kernel_max", v.attr(0o444, func() string { return strconv.Itoa(cpu.NrCPUsMax - 1) }, nil)),
		entry("offline", v.attr(0o444, func() string { return cpu.FormatList(offline(cpus)) }, nil)),
		entry("online", v.attr(0o444, func() string { return cpu.FormatList(cpus.OnlineList()) }, nil)),
		entry("possible", v.attr(0o444, all, nil)),
		entry("present", v.attr(0o444, all, nil)),
		// One thread per core: kernel/cpu.c reports SMT as not supported.
		entry("smt", dir(
			entry("active", v.attr(0o444, func() string { return "0" }, nil)),
			entry("control", v.attr(0o644, func() string { return "notsupported" }, func(string) error {
				return fmt.Errorf("smt control: not supported: %w", syscall.ENODEV)
			})),
		)),
		entry("vulnerabilities", v.vulnerabilitiesDir()),
	}
	for c := range cpus.Possible() {
		nodeLink := fmt.Sprintf("node%d", cpus.Node(c))
		files := []kernfs.Entry{
			entry("cache", v.cacheDir(c)),
			entry("cpufreq", kernfs.NewLinkAttr(0o777, 0, 0, func(*kernfs.Caller) (string, error) {
				return fmt.Sprintf("../cpufreq/policy%d", c), nil
			})),
			entry(nodeLink, kernfs.NewLinkAttr(0o777, 0, 0, func(*kernfs.Caller) (string, error) {
				return fmt.Sprintf("../../node/node%d", cpus.Node(c)), nil
			})),
			entry("topology", v.topologyDir(c)),
		}
		if c > 0 { // x86 cannot take the boot CPU down, so cpu0 has no online file
			files = append(files, entry("online", v.attr(0o644,
				func() string { return boolDigit(cpus.Online(c)) },
				func(s string) error { return v.setCPUOnline(c, s) })))
		}
		// The topology and cache groups and the node link go with the CPU
		// (cpuhp states base/topology:prepare and base/cacheinfo:online,
		// unregister_cpu_under_node).
		onlineOnly := func(name string) bool { return name == "topology" || name == "cache" || name == nodeLink }
		entries = append(entries, entry(fmt.Sprintf("cpu%d", c), kernfs.NewFilteredDir(dir(files...), func(name string) bool {
			if !onlineOnly(name) {
				return true
			}
			var on bool
			_ = v.k.Do(func() error { on = cpus.Online(c); return nil })
			return on
		})))
	}
	return dir(entries...)
}

// setCPUOnline takes "0" or "1" as kstrtobool does and takes the CPU down
// or up (drivers/base/cpu.c online_store). The last online CPU stays: EBUSY.
func (v *view) setCPUOnline(c int, s string) error {
	on, err := parseBool(s)
	if err != nil {
		return err
	}
	if err := v.k.SetCPUOnline(c, on); err != nil {
		if errors.Is(err, kernelsim.ErrBusy) {
			return fmt.Errorf("%w: %w", err, syscall.EBUSY)
		}
		return fmt.Errorf("%w: %w", err, syscall.ENODEV)
	}
	return nil
}

// topologyDir is cpuN/topology (drivers/base/topology.c): ids and the
// sibling masks, each as a mask and a list. A package per NUMA node, one
// die per package, one thread per core; the cluster is the core's L2.
func (v *view) topologyDir(c int) kernfs.Dir {
	cpus := v.k.CPUs
	t := cpus.Topology(c)
	// The sibling masks hold the package's online CPUs (set_cpu_sibling_map).
	pkg := func() []int { return onlineOf(cpus, cpus.PackageCPUs(t.PhysicalID)) }
	self := func() []int { return []int{c} }
	var entries []kernfs.Entry
	id := func(name string, n int) {
		entries = append(entries, entry(name, v.attr(0o444, func() string { return strconv.Itoa(n) }, nil)))
	}
	masks := func(name string, set func() []int) {
		entries = append(entries,
			entry(name, v.attr(0o444, func() string { return cpu.FormatMask(set(), cpus.Possible()) }, nil)),
			entry(name+"_list", v.attr(0o444, func() string { return cpu.FormatList(set()) }, nil)))
	}
	masks("cluster_cpus", self)
	id("cluster_id", t.APICID)
	masks("core_cpus", self)
	id("core_id", t.CoreID)
	masks("core_siblings", pkg)
	masks("die_cpus", pkg)
	id("die_id", 0)
	masks("package_cpus", pkg)
	id("physical_package_id", t.PhysicalID)
	masks("thread_siblings", self)
	return dir(entries...)
}

// cacheDir is cpuN/cache (drivers/base/cacheinfo.c): an indexM directory
// per cache level in CPUID leaf 4 order. x86 shows no policy attributes.
func (v *view) cacheDir(c int) kernfs.Dir {
	cpus := v.k.CPUs
	var entries []kernfs.Entry
	for i, cache := range cpus.Model().Caches() {
		shared := func() []int { return onlineOf(cpus, cpus.SharedWith(c, cache)) }
		val := func(name, s string) kernfs.Entry {
			return entry(name, v.attr(0o444, func() string { return s }, nil))
		}
		entries = append(entries, entry(fmt.Sprintf("index%d", i), dir(
			val("coherency_line_size", strconv.Itoa(cpu.LineSize)),
			val("id", strconv.Itoa(cpus.CacheID(c, cache))),
			val("level", strconv.Itoa(cache.Level)),
			val("number_of_sets", strconv.Itoa(cache.Sets())),
			val("physical_line_partition", "1"),
			entry("shared_cpu_list", v.attr(0o444, func() string { return cpu.FormatList(shared()) }, nil)),
			entry("shared_cpu_map", v.attr(0o444, func() string { return cpu.FormatMask(shared(), cpus.Possible()) }, nil)),
			val("size", fmt.Sprintf("%dK", cache.KB)),
			val("type", cache.Type),
			val("ways_of_associativity", strconv.Itoa(cache.Ways)),
		)))
	}
	return dir(entries...)
}

// cpufreqDir is /sys/devices/system/cpu/cpufreq: a policy per CPU, as
// intel_pstate registers them (drivers/cpufreq/cpufreq.c, intel_pstate.c).
func (v *view) cpufreqDir() kernfs.Dir {
	cpus := v.k.CPUs
	f := cpus.Model().Freq()
	var entries []kernfs.Entry
	for c := range cpus.Possible() {
		p := func() *cpu.FreqPolicy { return cpus.Policy(c) }
		fixed := func(name, s string) kernfs.Entry {
			return entry(name, v.attr(0o444, func() string { return s }, nil))
		}
		kHz := func(n uint64) string { return strconv.FormatUint(n, 10) }
		setKHz := func(set func(*cpu.FreqPolicy, uint64)) func(string) error {
			return func(s string) error {
				n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
				if err != nil {
					return fmt.Errorf("frequency %q: %w", s, syscall.EINVAL)
				}
				set(p(), n)
				return nil
			}
		}
		choice := func(set func(*cpu.FreqPolicy, string) error) func(string) error {
			return func(s string) error {
				err := set(p(), strings.TrimSpace(s))
				if errors.Is(err, cpu.ErrEPPPerformance) {
					return fmt.Errorf("%w: %w", err, syscall.EBUSY)
				}
				if err != nil {
					return fmt.Errorf("%q: %w: %w", s, err, syscall.EINVAL)
				}
				return nil
			}
		}
		entries = append(entries, entry(fmt.Sprintf("policy%d", c), dir(
			fixed("affected_cpus", strconv.Itoa(c)),
			fixed("base_frequency", kHz(f.BaseKHz)),
			fixed("cpuinfo_max_freq", kHz(f.MaxKHz)),
			fixed("cpuinfo_min_freq", kHz(f.MinKHz)),
			fixed("cpuinfo_transition_latency", "0"),
			fixed("energy_performance_available_preferences", strings.Join(cpu.EPPPreferences, " ")+" "),
			entry("energy_performance_preference", v.attr(0o644, func() string { return p().EPP },
				choice((*cpu.FreqPolicy).SetEPP))),
			fixed("related_cpus", strconv.Itoa(c)),
			fixed("scaling_available_governors", strings.Join(cpu.Governors, " ")),
			entry("scaling_cur_freq", v.attr(0o444, func() string { return kHz(p().CurKHz()) }, nil)),
			fixed("scaling_driver", "intel_pstate"),
			entry("scaling_governor", v.attr(0o644, func() string { return p().Governor },
				choice((*cpu.FreqPolicy).SetGovernor))),
			entry("scaling_max_freq", v.attr(0o644, func() string { return kHz(p().Max()) },
				setKHz((*cpu.FreqPolicy).SetMax))),
			entry("scaling_min_freq", v.attr(0o644, func() string { return kHz(p().Min()) },
				setKHz((*cpu.FreqPolicy).SetMin))),
			fixed("scaling_setspeed", "<unsupported>"),
		)))
	}
	return dir(entries...)
}

// vulnerabilities of a Cascade Lake server on a 6.18 kernel with default
// mitigations (arch/x86/kernel/cpu/bugs.c), one file per issue.
var vulnerabilities = []struct{ name, state string }{
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
}

func (v *view) vulnerabilitiesDir() kernfs.Dir {
	var entries []kernfs.Entry
	for _, vu := range vulnerabilities {
		entries = append(entries, entry(vu.name, v.attr(0o444, func() string { return vu.state }, nil)))
	}
	return dir(entries...)
}

// onlineOf keeps the online CPUs of a list.
func onlineOf(cpus *cpu.Set, l []int) []int {
	var out []int
	for _, c := range l {
		if cpus.Online(c) {
			out = append(out, c)
		}
	}
	return out
}

func offline(cpus *cpu.Set) []int {
	var l []int
	for c := range cpus.Possible() {
		if !cpus.Online(c) {
			l = append(l, c)
		}
	}
	return l
}

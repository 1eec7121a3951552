package sysfs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/parse"
	"ksim/kernfs"
)

// cpuDir is /sys/devices/system/cpu (drivers/base/cpu.c): the CPU masks
// as lists, SMT control, vulnerabilities, the cpufreq policies and a
// directory per possible CPU.
func (v *view) cpuDir() kernfs.Dir {
	// The possible CPUs and their nodes are fixed at boot.
	var nodes []int
	v.k.Read(func(m *kernelsim.Machine) {
		for c := range m.CPUs.Possible() {
			nodes = append(nodes, m.CPUs.Node(c))
		}
	})
	all := cpu.FormatList(seq(len(nodes)))
	entries := []kernfs.Entry{
		entry("cpufreq", v.cpufreqDir()),
		entry("enabled", v.value(all)),
		entry("isolated", v.value("")),
		entry("kernel_max", v.value(strconv.Itoa(cpu.NrCPUsMax-1))),
		entry("offline", v.attr(0o444, func(m *kernelsim.Machine) string { return cpu.FormatList(offline(m.CPUs)) }, nil)),
		entry("online", v.attr(0o444, func(m *kernelsim.Machine) string { return cpu.FormatList(m.CPUs.OnlineList()) }, nil)),
		entry("possible", v.value(all)),
		entry("present", v.value(all)),
		// One thread per core: kernel/cpu.c reports SMT as not supported.
		entry("smt", dir(
			entry("active", v.value("0")),
			entry("control", v.fixed(0o644, "notsupported", func(string) error {
				return fmt.Errorf("smt control: not supported: %w", syscall.ENODEV)
			})),
		)),
		entry("vulnerabilities", v.vulnerabilitiesDir()),
	}
	var cpuDirs []cpuGroups
	for c, node := range nodes {
		nodeLink := fmt.Sprintf("node%d", node)
		policy := fmt.Sprintf("../cpufreq/policy%d", c)
		nodeDir := fmt.Sprintf("../../node/node%d", node)
		files := []kernfs.Entry{
			entry("cache", v.cacheDir(c)),
			entry("cpufreq", kernfs.NewLinkAttr(0o777, 0, 0, func(*kernfs.Caller) (string, error) { return policy, nil })),
			entry(nodeLink, kernfs.NewLinkAttr(0o777, 0, 0, func(*kernfs.Caller) (string, error) { return nodeDir, nil })),
			entry("topology", v.topologyDir(c)),
		}
		if c > 0 { // x86 cannot take the boot CPU down, so cpu0 has no online file
			files = append(files, entry("online", v.attr(0o644,
				func(m *kernelsim.Machine) string { return boolDigit(m.CPUs.Online(c)) },
				func(m *kernelsim.Machine, s string) error { return setCPUOnline(m, c, s) })))
		}
		// The topology and cache groups and the node link go with the CPU
		// (cpuhp states base/topology:prepare and base/cacheinfo:online,
		// unregister_cpu_under_node).
		onlineOnly := []string{"cache", nodeLink, "topology"}
		cpuDir := kernfs.NewFilteredDir(dir(files...), func(name string) bool {
			// The filter runs outside any lock: it takes it to look.
			return !slices.Contains(onlineOnly, name) || kernelsim.Get(v.k, func(m *kernelsim.Machine) bool { return m.CPUs.Online(c) })
		}).Notified()
		cpuDirs = append(cpuDirs, cpuGroups{cpuDir, onlineOnly})
		entries = append(entries, entry(fmt.Sprintf("cpu%d", c), cpuDir))
	}
	// The host may cache a CPU's entries: when the CPU goes or comes back,
	// the groups that go with it are invalidated.
	v.k.Observe(func(ch kernelsim.Change) {
		if ch.Kind == kernelsim.CPUOnline {
			for _, name := range cpuDirs[ch.CPU].withCPU {
				v.outbox.EntryChanged(cpuDirs[ch.CPU].dir, name)
			}
		}
	})
	return dir(entries...)
}

// cpuGroups is a cpuN directory and the entries that go and come with the CPU.
type cpuGroups struct {
	dir     *kernfs.FilteredDir
	withCPU []string
}

// setCPUOnline takes a boolean as kstrtobool reads it and takes the CPU
// down or up (drivers/base/cpu.c online_store). The last online CPU stays: EBUSY.
func setCPUOnline(m *kernelsim.Machine, c int, s string) error {
	on, err := parse.Bool(s)
	if err != nil {
		return err
	}
	return m.SetCPUOnline(c, on)
}

// topologyDir is cpuN/topology (drivers/base/topology.c): ids and the
// sibling masks, each as a mask and a list. A package per NUMA node, one
// die per package, one thread per core; the cluster is the core's L2.
func (v *view) topologyDir(c int) kernfs.Dir {
	// The ids are fixed at boot; only the masks follow hotplug.
	t := kernelsim.Get(v.k, func(m *kernelsim.Machine) cpu.Topology { return m.CPUs.Topology(c) })
	// The sibling masks hold the package's online CPUs (set_cpu_sibling_map).
	pkg := func(cpus *cpu.Set) []int { return onlineOf(cpus, cpus.PackageCPUs(t.PhysicalID)) }
	self := func(*cpu.Set) []int { return []int{c} }
	var entries []kernfs.Entry
	id := func(name string, n int) { entries = append(entries, entry(name, v.value(strconv.Itoa(n)))) }
	masks := func(name string, set func(*cpu.Set) []int) {
		entries = append(entries,
			entry(name, v.attr(0o444, func(m *kernelsim.Machine) string { return cpu.FormatMask(set(m.CPUs), m.CPUs.Possible()) }, nil)),
			entry(name+"_list", v.attr(0o444, func(m *kernelsim.Machine) string { return cpu.FormatList(set(m.CPUs)) }, nil)))
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
	// The caches and their ids are the model's, fixed at boot: copied out
	// here, only who shares them is looked up at each read.
	var caches []cpu.Cache
	var ids []int
	v.k.Read(func(m *kernelsim.Machine) {
		caches = slices.Clone(m.CPUs.Model().Caches())
		for _, cache := range caches {
			ids = append(ids, m.CPUs.CacheID(c, cache))
		}
	})
	var entries []kernfs.Entry
	for i, cache := range caches {
		shared := func(cpus *cpu.Set) []int { return onlineOf(cpus, cpus.SharedWith(c, cache)) }
		entries = append(entries, entry(fmt.Sprintf("index%d", i), dir(
			entry("coherency_line_size", v.value(strconv.Itoa(cpu.LineSize))),
			entry("id", v.value(strconv.Itoa(ids[i]))),
			entry("level", v.value(strconv.Itoa(cache.Level))),
			entry("number_of_sets", v.value(strconv.Itoa(cache.Sets()))),
			entry("physical_line_partition", v.value("1")),
			entry("shared_cpu_list", v.attr(0o444, func(m *kernelsim.Machine) string { return cpu.FormatList(shared(m.CPUs)) }, nil)),
			entry("shared_cpu_map", v.attr(0o444, func(m *kernelsim.Machine) string {
				return cpu.FormatMask(shared(m.CPUs), m.CPUs.Possible())
			}, nil)),
			entry("size", v.value(fmt.Sprintf("%dK", cache.KB))),
			entry("type", v.value(cache.Type)),
			entry("ways_of_associativity", v.value(strconv.Itoa(cache.Ways))),
		)))
	}
	return dir(entries...)
}

// cpufreqDir is /sys/devices/system/cpu/cpufreq: a policy per CPU, as
// intel_pstate registers them (drivers/cpufreq/cpufreq.c, intel_pstate.c).
func (v *view) cpufreqDir() kernfs.Dir {
	var nr int
	var f cpu.Frequencies
	v.k.Read(func(m *kernelsim.Machine) { nr, f = m.CPUs.Possible(), m.CPUs.Model().Freq() })
	kHz := func(n uint64) string { return strconv.FormatUint(n, 10) }
	var entries []kernfs.Entry
	for c := range nr {
		// The policy is looked up in each show and store, under the lock.
		p := func(m *kernelsim.Machine) *cpu.FreqPolicy { return m.CPUs.Policy(c) }
		show := func(get func(*cpu.FreqPolicy) string) func(*kernelsim.Machine) string {
			return func(m *kernelsim.Machine) string { return get(p(m)) }
		}
		setKHz := func(set func(*cpu.FreqPolicy, uint64)) func(*kernelsim.Machine, string) error {
			return func(m *kernelsim.Machine, s string) error {
				n, err := parse.Uint(s, 0) // store_one: kstrtoul(buf, 0)
				if err != nil {
					return fmt.Errorf("frequency: %w", err)
				}
				set(p(m), n)
				return nil
			}
		}
		choice := func(set func(*cpu.FreqPolicy, string) error) func(*kernelsim.Machine, string) error {
			return func(m *kernelsim.Machine, s string) error {
				if err := set(p(m), strings.TrimSpace(s)); err != nil {
					return fmt.Errorf("%q: %w", s, err)
				}
				return nil
			}
		}
		entries = append(entries, entry(fmt.Sprintf("policy%d", c), dir(
			entry("affected_cpus", v.value(strconv.Itoa(c))),
			entry("base_frequency", v.value(kHz(f.BaseKHz))),
			entry("cpuinfo_max_freq", v.value(kHz(f.MaxKHz))),
			entry("cpuinfo_min_freq", v.value(kHz(f.MinKHz))),
			entry("cpuinfo_transition_latency", v.value("0")),
			entry("energy_performance_available_preferences", v.value(strings.Join(cpu.EPPPreferences, " ")+" ")),
			entry("energy_performance_preference", v.attr(0o644, show(func(pol *cpu.FreqPolicy) string { return pol.EPP }),
				choice((*cpu.FreqPolicy).SetEPP))),
			entry("related_cpus", v.value(strconv.Itoa(c))),
			entry("scaling_available_governors", v.value(strings.Join(cpu.Governors, " "))),
			entry("scaling_cur_freq", v.attr(0o444, show(func(pol *cpu.FreqPolicy) string { return kHz(pol.CurKHz()) }), nil)),
			entry("scaling_driver", v.value("intel_pstate")),
			entry("scaling_governor", v.attr(0o644, show(func(pol *cpu.FreqPolicy) string { return pol.Governor }),
				choice((*cpu.FreqPolicy).SetGovernor))),
			entry("scaling_max_freq", v.attr(0o644, show(func(pol *cpu.FreqPolicy) string { return kHz(pol.Max()) }),
				setKHz((*cpu.FreqPolicy).SetMax))),
			entry("scaling_min_freq", v.attr(0o644, show(func(pol *cpu.FreqPolicy) string { return kHz(pol.Min()) }),
				setKHz((*cpu.FreqPolicy).SetMin))),
			entry("scaling_setspeed", v.value("<unsupported>")),
		)))
	}
	return dir(entries...)
}

// vulnerabilitiesDir is cpu/vulnerabilities: a file per issue, what the
// CPU model says of it.
func (v *view) vulnerabilitiesDir() kernfs.Dir {
	vulns := kernelsim.Get(v.k, func(m *kernelsim.Machine) []cpu.Vulnerability { return m.CPUs.Model().Vulnerabilities })
	var entries []kernfs.Entry
	for _, vu := range vulns {
		entries = append(entries, entry(vu.File, v.value(vu.State)))
	}
	return dir(entries...)
}

// onlineOf keeps the online CPUs of a list. Callers hold the lock, as
// for everything that takes a *cpu.Set.
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

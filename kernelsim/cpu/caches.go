package cpu

import (
	"slices"
	"syscall"

	"ksim/kernelsim/errno"
)

// Cache is one level of a core's cache hierarchy, as CPUID leaf 4
// describes it and drivers/base/cacheinfo.c shows it.
type Cache struct {
	Level int
	Type  string // "Data", "Instruction" or "Unified"
	KB    int
	Ways  int
	// PerPackage caches are shared by the package's cores; the others are the core's own.
	PerPackage bool
}

// LineSize is the coherency line size of every cache level.
const LineSize = 64

// Sets is the number of sets: size / (ways × line size).
func (c Cache) Sets() int { return c.KB * 1024 / (c.Ways * LineSize) }

// Caches are the model's caches in CPUID leaf 4 order, index0 first.
func (m *Model) Caches() []Cache { return m.caches }

// Frequencies of the model in kHz, as intel_pstate reports them.
type Frequencies struct {
	MinKHz, BaseKHz, MaxKHz uint64
}

// Freq is the model's frequency range.
func (m *Model) Freq() Frequencies { return m.freq }

// Governors and energy-performance preferences intel_pstate offers in
// active mode (drivers/cpufreq/intel_pstate.c).
var (
	Governors      = []string{"performance", "powersave"}
	EPPPreferences = []string{"default", "performance", "balance_performance", "balance_power", "power"}
)

// Errors of cpufreq policy writes.
var (
	ErrNoGovernor = errno.New(syscall.EINVAL, "no such governor")
	ErrNoEPP      = errno.New(syscall.EINVAL, "no such energy performance preference")
	// ErrEPPPerformance: under the performance governor only the
	// performance preference may be set (intel_pstate).
	ErrEPPPerformance = errno.New(syscall.EBUSY, "the performance governor fixes the preference")
)

// FreqPolicy is a CPU's cpufreq policy (struct cpufreq_policy): one per
// CPU with intel_pstate.
type FreqPolicy struct {
	Governor string
	EPP      string
	// minReq and maxReq are what userspace asked; the limits in force
	// are clamped to the hardware's range and min never exceeds max.
	minReq, maxReq uint64
	hw             Frequencies
}

func newFreqPolicy(f Frequencies) FreqPolicy {
	return FreqPolicy{Governor: "powersave", EPP: "balance_performance", minReq: f.MinKHz, maxReq: f.MaxKHz, hw: f}
}

// Max is scaling_max_freq: the request clamped to the hardware.
func (p *FreqPolicy) Max() uint64 { return min(max(p.maxReq, p.hw.MinKHz), p.hw.MaxKHz) }

// Min is scaling_min_freq: the request clamped to the hardware and the max.
func (p *FreqPolicy) Min() uint64 { return min(max(p.minReq, p.hw.MinKHz), p.Max()) }

// SetMax and SetMin take any value, as cpufreq's store functions do; the
// limits in force follow from it (freq_qos resolves them).
func (p *FreqPolicy) SetMax(kHz uint64) { p.maxReq = kHz }
func (p *FreqPolicy) SetMin(kHz uint64) { p.minReq = kHz }

// SetGovernor switches between the offered governors.
func (p *FreqPolicy) SetGovernor(g string) error {
	if !slices.Contains(Governors, g) {
		return ErrNoGovernor
	}
	p.Governor = g
	if g == "performance" {
		p.EPP = "performance"
	} else if p.EPP == "performance" {
		p.EPP = "balance_performance"
	}
	return nil
}

// SetEPP sets energy_performance_preference.
func (p *FreqPolicy) SetEPP(e string) error {
	if !slices.Contains(EPPPreferences, e) {
		return ErrNoEPP
	}
	if e == "default" {
		e = "balance_performance"
	}
	if p.Governor == "performance" && e != "performance" {
		return ErrEPPPerformance
	}
	p.EPP = e
	return nil
}

// CurKHz is scaling_cur_freq: a busy core runs at its turbo limit, an
// idle one is reported at the policy's minimum, as APERF/MPERF sampling
// shows them; powersave with a balanced preference settles at base.
func (p *FreqPolicy) CurKHz() uint64 {
	switch {
	case p.Governor == "performance":
		return p.Max()
	default:
		return min(max(p.hw.BaseKHz, p.Min()), p.Max())
	}
}

// Policy is a CPU's cpufreq policy.
func (s *Set) Policy(cpu int) *FreqPolicy { return &s.policies[cpu] }

// SharedWith lists the CPUs that share a cache with cpu: the core's own
// caches are its alone (one thread per core), package caches belong to
// every CPU of the package.
func (s *Set) SharedWith(cpu int, c Cache) []int {
	if c.PerPackage {
		return s.PackageCPUs(s.Topology(cpu).PhysicalID)
	}
	return []int{cpu}
}

// PackageCPUs lists a package's CPUs.
func (s *Set) PackageCPUs(pkg int) []int { return s.NodeCPUs(pkg) }

// CacheID is the id of a cache instance: the core's APIC id for private
// caches, the package for shared ones.
func (s *Set) CacheID(cpu int, c Cache) int {
	t := s.Topology(cpu)
	if c.PerPackage {
		return t.PhysicalID
	}
	return t.APICID
}

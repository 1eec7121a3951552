package kernelsim

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/printk"
)

// Config describes the machine to boot.
type Config struct {
	CPUs      int
	MemBytes  uint64
	NUMANodes int    // NUMA nodes; New takes zero for 1
	SwapBytes uint64 // a swap partition, none if zero
	HZ        int    // CONFIG_HZ
	Seed      uint64
	Clock     clock.Mode
	Speed     float64 // realtime multiplier
	// BootWallNs is the wall-clock time of boot in ns since the epoch. Zero
	// means DefaultBootWallNs in manual mode and the host's time in realtime mode.
	BootWallNs int64
	// WallClock reads the host's clock in ns since the epoch. Realtime mode needs it.
	WallClock func() int64
	// Console receives kernel messages below the console log level.
	Console func(printk.Record)
	// Hostname is the UTS node name; New takes "" for "ksim".
	Hostname string
}

// DefaultConfig is the machine `ksim mount` boots without flags.
func DefaultConfig() Config {
	return Config{CPUs: 4, MemBytes: 8 << 30, NUMANodes: 1, HZ: 250, Seed: 1, Clock: clock.Realtime, Speed: 1, Hostname: "ksim"}
}

// DefaultBootWallNs is the boot time of a manual-clock machine: 2026-01-01 00:00:00 UTC.
const DefaultBootWallNs = 1767225600 * clock.NsecPerSec

// ValidHZ are the CONFIG_HZ choices of kernel/Kconfig.hz.
var ValidHZ = []int{100, 250, 300, 1000}

// Limits of the machines ksim boots, beyond Linux's own where the model's
// cost says so. BenchmarkBootMaxCPUs measures the largest.
const (
	// MaxCPUs boots in about a second and runs a simulated second in a
	// quarter of one at HZ 1000; the cost grows with the square of the
	// CPUs. Linux itself allows NR_CPUS, cpu.NrCPUsMax.
	MaxCPUs = 1024
	// MaxTickRate bounds CPUs × HZ × speed, the CPU ticks a realtime
	// clock must simulate per host second: MaxCPUs at HZ 1000 and speed 1.
	MaxTickRate = MaxCPUs * 1000
	// MaxHostnameLen is __NEW_UTS_LEN: sethostname refuses longer names.
	MaxHostnameLen = 64
	// MaxBootWallNs keeps the wall clock within int64 nanoseconds for
	// centuries of uptime: 2200-01-01 00:00:00 UTC.
	MaxBootWallNs = 7258118400 * clock.NsecPerSec
)

// ConfigError is a Config field outside what ksim boots. Field is the
// `ksim mount` flag's name, so the command line can name the flag.
type ConfigError struct {
	Field, Value, Want string
}

func (e *ConfigError) Error() string { return fmt.Sprintf("%s %s: %s", e.Field, e.Value, e.Want) }

// Validate checks a complete config, field by field in flag order, and
// names the first field that is out of range and what it may be.
func (c Config) Validate() error {
	bad := func(field, value, want string, args ...any) error {
		return &ConfigError{Field: field, Value: value, Want: fmt.Sprintf(want, args...)}
	}
	cpus := strconv.Itoa(c.CPUs)
	switch {
	case c.CPUs < 1:
		return bad("cpus", cpus, "want 1..%d", MaxCPUs)
	case c.CPUs > cpu.NrCPUsMax:
		return bad("cpus", cpus, "want 1..%d (Linux's NR_CPUS maximum is %d)", MaxCPUs, cpu.NrCPUsMax)
	case c.CPUs > MaxCPUs:
		return bad("cpus", cpus, "want 1..%d: ksim cannot boot and run more in real time", MaxCPUs)
	}
	if c.MemBytes < mm.MinMemBytes || c.MemBytes > mm.MaxMemBytes {
		return bad("mem", FormatSize(c.MemBytes), "want %s..%s", FormatSize(mm.MinMemBytes), FormatSize(mm.MaxMemBytes))
	}
	if maxNodes := min(c.CPUs, mm.MaxNodesFor(c.MemBytes)); c.NUMANodes < 1 || c.NUMANodes > maxNodes {
		why := fmt.Sprintf("at most one per CPU with %d CPUs", c.CPUs)
		if maxNodes < c.CPUs {
			why = fmt.Sprintf("%s of memory makes at most %d nodes of two memory blocks", FormatSize(c.MemBytes), maxNodes)
		}
		return bad("numa", strconv.Itoa(c.NUMANodes), "want 1..%d (%s)", maxNodes, why)
	}
	if c.SwapBytes > mm.MaxMemBytes {
		return bad("swap", FormatSize(c.SwapBytes), "want 0..%s", FormatSize(mm.MaxMemBytes))
	}
	if !slices.Contains(ValidHZ, c.HZ) {
		return bad("hz", strconv.Itoa(c.HZ), "want one of 100, 250, 300 or 1000 (CONFIG_HZ)")
	}
	if err := c.checkSpeed(c.Speed); err != nil {
		return err
	}
	if c.BootWallNs < 0 || c.BootWallNs > MaxBootWallNs {
		return bad("boot-time", strconv.FormatInt(c.BootWallNs/clock.NsecPerSec, 10), "want 0..%d (Unix seconds; 0 for the default)", MaxBootWallNs/clock.NsecPerSec)
	}
	if c.Hostname == "" || len(c.Hostname) > MaxHostnameLen {
		return bad("hostname", strconv.Quote(c.Hostname), "want 1..%d bytes", MaxHostnameLen)
	}
	if c.Clock == clock.Realtime && c.WallClock == nil {
		return bad("clock", c.Clock.String(), "a realtime clock needs a wall clock")
	}
	return nil
}

// checkSpeed holds a realtime multiplier to what the machine can keep up
// with: a clock that falls behind the host holds the kernel forever.
func (c Config) checkSpeed(speed float64) error {
	value := strconv.FormatFloat(speed, 'g', -1, 64)
	if !(speed > 0) || math.IsInf(speed, 0) {
		return &ConfigError{Field: "speed", Value: value, Want: "want a factor above 0"}
	}
	if limit := float64(MaxTickRate) / float64(c.CPUs*c.HZ); speed > limit {
		return &ConfigError{Field: "speed", Value: value, Want: fmt.Sprintf(
			"want at most %g with %d CPUs at HZ %d: ksim simulates at most %d CPU ticks per second of real time",
			limit, c.CPUs, c.HZ, MaxTickRate)}
	}
	return nil
}

// FormatSize prints a byte count as memparse reads it back: the largest
// binary suffix that divides it.
func FormatSize(b uint64) string {
	for i, suffix := range []string{"E", "P", "T", "G", "M", "K"} {
		if shift := uint(60 - 10*i); b != 0 && b%(1<<shift) == 0 {
			return strconv.FormatUint(b>>shift, 10) + suffix
		}
	}
	return strconv.FormatUint(b, 10)
}

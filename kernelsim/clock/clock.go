// Package clock is the simulated kernel's one clock: monotonic nanoseconds
// since boot, jiffies at CONFIG_HZ, and the wall-clock time of boot.
//
// The clock never reads the host's time. It moves only when the kernel
// advances it, either by a manual write or by a driver that follows the
// wall clock in realtime mode.
package clock

import "fmt"

const (
	NsecPerSec  = 1_000_000_000
	NsecPerMsec = 1_000_000
	// UserHZ is the unit of clock_t in /proc files (USER_HZ, fixed at 100 on x86).
	UserHZ = 100
	// NsecPerUserTick is one clock_t tick.
	NsecPerUserTick = NsecPerSec / UserHZ
)

// Mode says what drives the clock.
type Mode int

const (
	// Realtime follows the host's wall clock times a speed factor.
	Realtime Mode = iota
	// Manual stands still until advanced explicitly.
	Manual
)

func (m Mode) String() string {
	if m == Manual {
		return "manual"
	}
	return "realtime"
}

// ParseMode accepts the names String prints.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "realtime":
		return Realtime, nil
	case "manual":
		return Manual, nil
	}
	return 0, fmt.Errorf("clock mode %q: want realtime or manual", s)
}

// Clock holds simulated time. It is not safe for concurrent use; the
// kernel's lock guards it.
type Clock struct {
	hz         uint64
	nowNs      uint64 // monotonic time since boot
	bootWallNs int64  // wall-clock time of boot, ns since the Unix epoch
}

// New returns a clock at time zero (the instant of boot).
func New(hz int, bootWallNs int64) (*Clock, error) {
	if hz < 24 || hz > 10000 {
		return nil, fmt.Errorf("hz %d: want 24..10000", hz)
	}
	return &Clock{hz: uint64(hz), bootWallNs: bootWallNs}, nil
}

// HZ is CONFIG_HZ, the tick rate.
func (c *Clock) HZ() int { return int(c.hz) }

// Now is monotonic nanoseconds since boot (ktime_get_boottime; no suspend here).
func (c *Clock) Now() uint64 { return c.nowNs }

// BootWallNs is the wall-clock time at boot in ns since the epoch.
func (c *Clock) BootWallNs() int64 { return c.bootWallNs }

// BootTime is btime in /proc/stat: boot wall time in whole seconds.
func (c *Clock) BootTime() int64 { return c.bootWallNs / NsecPerSec }

// WallNs is the current simulated wall-clock time.
func (c *Clock) WallNs() int64 { return c.bootWallNs + int64(c.nowNs) }

// InitialJiffies is where jiffies start, as include/linux/jiffies.h sets
// INITIAL_JIFFIES: five minutes before the 32-bit wrap, so wrap bugs show early.
func (c *Clock) InitialJiffies() uint64 {
	return uint64(uint32(-300 * int32(c.hz)))
}

// Ticks is the number of ticks since boot: tick n happens at n*1e9/HZ ns,
// so no rounding error builds up for an HZ that does not divide 1e9.
func (c *Clock) Ticks() uint64 { return ticksAt(c.nowNs, c.hz) }

// Jiffies is the kernel's jiffies counter.
func (c *Clock) Jiffies() uint64 { return c.InitialJiffies() + c.Ticks() }

// TickTime is the time of tick n since boot.
func (c *Clock) TickTime(n uint64) uint64 { return mulDiv(n, NsecPerSec, c.hz) }

// Set moves the clock forward to t. Going backwards is refused.
func (c *Clock) Set(t uint64) error {
	if t < c.nowNs {
		return fmt.Errorf("clock cannot go back from %d to %d ns", c.nowNs, t)
	}
	c.nowNs = t
	return nil
}

// ticksAt counts the ticks n >= 1 with TickTime(n) <= ns: floor(n*1e9/HZ) <= ns
// holds exactly when n*1e9 <= (ns+1)*HZ - 1.
func ticksAt(ns, hz uint64) uint64 {
	q, r := (ns+1)/NsecPerSec, (ns+1)%NsecPerSec
	if r == 0 {
		return q*hz - 1
	}
	return q*hz + (r*hz-1)/NsecPerSec
}

// mulDiv computes a*b/d without overflow for the ranges a clock sees
// (a up to centuries in ns, b up to 1e9).
func mulDiv(a, b, d uint64) uint64 {
	q, r := a/d, a%d
	return q*b + r*b/d
}

package kernelsim

import (
	"errors"
	"fmt"

	"ksim/kernelsim/clock"
)

// ErrInvalid is returned for a bad value written to a control (EINVAL).
var ErrInvalid = errors.New("invalid argument")

// MaxAdvanceMs bounds one advance_ms write to a simulated day, so a typo
// cannot keep the daemon busy for hours.
const MaxAdvanceMs = 24 * 3600 * 1000

// Advance runs the simulation forward by ms simulated milliseconds and
// returns when they have run. In realtime mode it jumps ahead and the
// clock keeps following the host from there.
func (k *Kernel) Advance(ms uint64) error {
	if ms > MaxAdvanceMs {
		return fmt.Errorf("advance %d ms: at most %d: %w", ms, MaxAdvanceMs, ErrInvalid)
	}
	return k.Do(func() error {
		k.runTo(k.Clock.Now() + ms*clock.NsecPerMsec)
		k.anchorSim += ms * clock.NsecPerMsec
		return nil
	})
}

// Mode is how the clock is driven.
func (k *Kernel) Mode() clock.Mode { return k.mode }

// SetMode switches between realtime and manual. Callers hold the lock (inside Do).
func (k *Kernel) SetMode(m clock.Mode) error {
	if m == clock.Realtime && k.cfg.WallClock == nil {
		return fmt.Errorf("realtime clock needs a wall clock: %w", ErrInvalid)
	}
	k.mode = m
	k.anchorRealtime()
	return nil
}

// Speed is the realtime multiplier.
func (k *Kernel) Speed() float64 { return k.speed }

// SetSpeed changes the realtime multiplier. Callers hold the lock (inside Do).
func (k *Kernel) SetSpeed(f float64) error {
	if err := k.cfg.checkSpeed(f); err != nil {
		return fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	k.speed = f
	k.anchorRealtime()
	return nil
}

// anchorRealtime restarts realtime following from the current instant.
func (k *Kernel) anchorRealtime() {
	if k.mode == clock.Realtime {
		k.anchorWall = k.cfg.WallClock()
		k.anchorSim = k.Clock.Now()
	}
}

// catchUp runs a realtime clock up to where the host's clock says it should be.
func (k *Kernel) catchUp() {
	if k.mode != clock.Realtime {
		return
	}
	elapsed := k.cfg.WallClock() - k.anchorWall
	if elapsed <= 0 {
		return
	}
	target := k.anchorSim + uint64(float64(elapsed)*k.speed)
	if target > k.Clock.Now() {
		k.runTo(target)
	}
}

// runTo runs the machine up to time t: every event due by then, the
// ticks among them, in the queue's order. At the end every CPU's time is
// accounted up to t.
func (k *Kernel) runTo(t uint64) {
	k.timers.RunUntil(t)
	if err := k.Clock.Set(t); err != nil {
		panic(err) // runTo is only asked to go forward
	}
	k.Sched.SyncTo(t)
}

// tick is timer tick n at time at, on every online CPU: the local timer
// interrupt and what it raises, memory's background work, then the
// scheduler tick (scheduler_tick), which accounts for all of it.
func (k *Kernel) tick(n, at uint64) {
	k.IRQ.Tick(n)
	k.memoryTick(n)
	k.Sched.Tick(at)
}

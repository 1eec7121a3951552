package kernelsim

import (
	"syscall"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/errno"
)

// MaxAdvanceMs bounds one advance_ms write to a simulated day, so a typo
// cannot keep the daemon busy for hours.
const MaxAdvanceMs = 24 * 3600 * 1000

// Mode is how the clock is driven.
func (m *Machine) Mode() clock.Mode { return m.mode }

// SetMode switches between realtime and manual.
func (m *Machine) SetMode(mode clock.Mode) error {
	if mode == clock.Realtime && m.cfg.WallClock == nil {
		return errno.Errorf(syscall.EINVAL, "realtime clock needs a wall clock")
	}
	m.mode = mode
	m.anchorRealtime()
	return nil
}

// Speed is the realtime multiplier.
func (m *Machine) Speed() float64 { return m.speed }

// SetSpeed changes the realtime multiplier.
func (m *Machine) SetSpeed(f float64) error {
	if err := m.cfg.checkSpeed(f); err != nil {
		return errno.Errorf(syscall.EINVAL, "%w", err)
	}
	m.speed = f
	m.anchorRealtime()
	return nil
}

// anchorRealtime restarts realtime following from the current instant.
func (m *Machine) anchorRealtime() {
	if m.mode == clock.Realtime {
		m.anchorWall = m.cfg.WallClock()
		m.anchorSim = m.Clock.Now()
	}
}

// realtimeTarget is where a realtime clock should be now, and false on a
// manual clock.
func (m *Machine) realtimeTarget() (uint64, bool) {
	if m.mode != clock.Realtime {
		return 0, false
	}
	elapsed := m.cfg.WallClock() - m.anchorWall
	if elapsed <= 0 {
		return m.Clock.Now(), true
	}
	return max(m.Clock.Now(), m.anchorSim+uint64(float64(elapsed)*m.speed)), true
}

// runTo runs the machine up to time t in one go; boot uses it.
func (m *Machine) runTo(t uint64) {
	m.runSlice(t, func() bool { return false })
}

// runSlice runs every event due by end, the ticks among them, in the
// queue's order, and at the end accounts every CPU's time up to end; it
// says whether it got there. It stops early right after a tick for which
// spent says the slice has used its share of the host's time: there every
// online CPU is accounted up to the tick, so a reader between slices sees
// numbers that agree. Where a run is cut never changes what happens.
func (m *Machine) runSlice(end uint64, spent func() bool) bool {
	for {
		e, ran := m.timers.RunNext(end)
		if !ran {
			break
		}
		if e.Kind == m.tickKind && spent() {
			return false
		}
	}
	if end > m.Clock.Now() {
		if err := m.Clock.Set(end); err != nil {
			panic(err) // not reached: end is ahead
		}
	}
	m.Sched.SyncTo(m.Clock.Now())
	return true
}

// tick is timer tick n at time at, on every online CPU: the local timer
// interrupt and what it raises, memory's background work, then the
// scheduler tick (scheduler_tick), which accounts for all of it.
func (m *Machine) tick(n, at uint64) {
	m.IRQ.Tick(n)
	m.memoryTick(n)
	m.Sched.Tick(at)
}

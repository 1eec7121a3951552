package sched

import (
	"math"
	"math/rand/v2"
	"syscall"

	"ksim/kernelsim/errno"
)

const ppm = 1_000_000

// forever is a burst or sleep that does not end by itself.
const forever = math.MaxUint64

// DefaultBurstNs is a thread's mean CPU burst when its profile names none.
const DefaultBurstNs = 10_000_000

// Profile is what a process's threads do when nothing stops them: each
// thread alternates CPU bursts with sleeps so that, on an idle machine, it
// uses SharePPM of a CPU and spends IOPPM of its time in uninterruptible
// I/O sleep (D). Deterministic under the kernel's seed.
type Profile struct {
	SharePPM  uint64 // CPU each thread wants, parts per million of one CPU; 1e6 never sleeps
	SystemPPM uint64 // the part of run time spent in the kernel (stime)
	IOPPM     uint64 // the part of wall time spent in D
	BurstNs   uint64 // mean CPU burst; 0 means DefaultBurstNs
	// Bursty draws bursts and sleeps from exponential distributions around
	// their means; otherwise they are fixed.
	Bursty bool
	// RSSRate is anonymous memory growth, bytes per second.
	RSSRate uint64
	// LifetimeNs ends the process this long after it starts; 0 is forever.
	LifetimeNs uint64
}

// Validate checks a profile's shares add up.
func (p Profile) Validate() error {
	if p.SharePPM > ppm || p.SystemPPM > ppm || p.IOPPM > ppm {
		return errno.Errorf(syscall.EINVAL, "shares above 100%%")
	}
	if p.SharePPM+p.IOPPM > ppm {
		return errno.Errorf(syscall.EINVAL, "cpu %d ppm + io %d ppm exceed all of the time", p.SharePPM, p.IOPPM)
	}
	return nil
}

// behaviour is a thread's progress through its profile.
type behaviour struct {
	burstLeft uint64 // CPU still to use before it next sleeps
	wakeAt    uint64 // while asleep: when it wakes; forever if never
	sleepGen  uint64 // bumped to cancel a pending wake event
	runGen    uint64 // bumped to cancel a pending burst-end event
	sysCarry  uint64 // ns×ppm of system time not yet charged
	ioCarry   uint64 // steady profiles: ppm-credit toward the next D sleep
	// idle marks a kernel worker that shows I, not S, while it waits (TASK_IDLE).
	idle bool
	// A fatal or stop signal that came while the task was in D takes
	// effect when it wakes: uninterruptible sleep is not interrupted.
	exitOnWake, stopOnWake bool
}

// sleepState is the state the task shows while it waits for its next burst.
func (b *behaviour) sleepState() State {
	if b.idle {
		return Idle
	}
	return Sleeping
}

func (p Profile) burstMean() uint64 {
	if p.BurstNs == 0 {
		return DefaultBurstNs
	}
	return p.BurstNs
}

// effectiveShare is the share that shapes the cycle: a thread that wants
// no CPU but does I/O still runs a little between its waits.
func (p Profile) effectiveShare() uint64 {
	if p.SharePPM == 0 && p.IOPPM > 0 {
		return 1000
	}
	return p.SharePPM
}

func draw(mean uint64, bursty bool, rng *rand.Rand) uint64 {
	if !bursty || mean == 0 {
		return mean
	}
	d := uint64(rng.ExpFloat64() * float64(mean))
	return max(d, 1000) // at least a microsecond
}

// nextBurst is how much CPU the thread uses before it next sleeps.
func (p Profile) nextBurst(rng *rand.Rand) uint64 {
	s := p.effectiveShare()
	switch {
	case s >= ppm:
		return forever
	case s == 0:
		return 50_000 // a thread that wants nothing still runs a moment after it starts or wakes
	}
	return draw(p.burstMean(), p.Bursty, rng)
}

// nextSleep is how long the thread sleeps after a burst, and whether in D.
func (p Profile) nextSleep(b *behaviour, rng *rand.Rand) (uint64, bool) {
	s := p.effectiveShare()
	if s == 0 {
		return forever, false
	}
	// A cycle is burst + sleep with burst/cycle = s; D sleeps make up io of the cycle.
	mean := uint64(float64(p.burstMean()) * float64(ppm-s) / float64(s))
	d := false
	if p.IOPPM > 0 {
		dShare := float64(p.IOPPM) / float64(ppm-s) // of the sleeps, those in D
		if p.Bursty {
			d = rng.Float64() < dShare
		} else {
			b.ioCarry += uint64(dShare * ppm)
			if b.ioCarry >= ppm {
				b.ioCarry -= ppm
				d = true
			}
		}
	}
	return draw(mean, p.Bursty, rng), d
}

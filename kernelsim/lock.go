package kernelsim

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/errno"
)

// Kernel is one simulated machine behind its lock. Who waits for what:
//
//   - Reads (Read, Get) take the lock for one render. They never wait for
//     more than one slice of time or one write.
//   - Writes (Write, and Advance) change the machine in arrival order:
//     each first takes a turn, then the lock. An Advance on a manual clock
//     keeps its turn until all its time has run, so a change written
//     during it applies after it, whatever the host's timing; on a
//     realtime clock it gives the turn back between slices. A writer
//     waiting for its turn gives up when its context ends (its caller
//     was killed).
//   - Time runs in slices of about SliceBudget of host time, with the lock
//     released between them, so no request waits long behind an advance
//     or a realtime catch-up. A slice ends only right after a tick, and
//     where it ends never changes what happens.
//
// Lock order: a turn, then mu. Nothing that can block (FUSE notifications,
// host I/O) runs under mu.
type Kernel struct {
	mu    sync.Mutex // guards m
	m     *Machine
	turns turns
	// hostNow reads the host's monotonic clock; it decides only where a
	// run of time is cut into slices, never what happens in it.
	hostNow func() time.Time
}

// SliceBudget is how long a slice of simulated time may hold the lock.
const SliceBudget = time.Millisecond

func newKernel(m *Machine) *Kernel {
	return &Kernel{m: m, hostNow: time.Now}
}

// Read runs fn with the machine, under the lock: a render. A realtime
// clock first catches up with the host, for at most a slice.
func (k *Kernel) Read(fn func(m *Machine)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.catchUpSlice()
	fn(k.m)
}

// Get returns what fn reads of the machine, under the lock.
func Get[T any](k *Kernel, fn func(m *Machine) T) T {
	var v T
	k.Read(func(m *Machine) { v = fn(m) })
	return v
}

// Write runs fn with the machine, under the lock, once every change that
// arrived before it has applied and no advance on a manual clock is
// running. If ctx is done first it gives up with EINTR, having changed
// nothing.
func (k *Kernel) Write(ctx context.Context, fn func(m *Machine) error) error {
	if err := k.turns.take(ctx); err != nil {
		return err
	}
	defer k.turns.give()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.catchUpSlice()
	return fn(k.m)
}

// Advance runs the simulation forward by ms simulated milliseconds, in
// slices, and returns when they have run. On a realtime clock the time is
// a jump ahead, and the clock follows the host from there. If ctx is done
// first it stops after the slice it is in and returns EINTR: the time
// that ran stays run, as a sleep cut short by a signal.
func (k *Kernel) Advance(ctx context.Context, ms uint64) error {
	if ms > MaxAdvanceMs {
		return errno.Errorf(syscall.EINVAL, "advance %d ms: at most %d", ms, MaxAdvanceMs)
	}
	if err := k.turns.take(ctx); err != nil {
		return err
	}
	held := true
	defer func() {
		if held {
			k.turns.give()
		}
	}()
	k.mu.Lock()
	end := k.m.Clock.Now() + ms*clock.NsecPerMsec
	k.m.anchorSim += ms * clock.NsecPerMsec // a realtime clock jumps by ms
	k.mu.Unlock()
	for {
		k.mu.Lock()
		done := k.m.runSlice(end, k.sliceSpent())
		manual, left := k.m.mode == clock.Manual, end-min(end, k.m.Clock.Now())
		k.mu.Unlock()
		runtime.Gosched() // let a waiting reader take the lock before the next slice does
		switch {
		case done:
			return nil
		case ctx != nil && ctx.Err() != nil:
			return errno.Errorf(syscall.EINTR, "advance stopped %d ms short", left/clock.NsecPerMsec)
		case !manual: // changes written meanwhile apply at this slice boundary
			k.turns.give()
			held = false
			if err := k.turns.take(ctx); err != nil {
				return err
			}
			held = true
		}
	}
}

// Sync brings a realtime clock up to the host's time, in slices; a driver
// calls it periodically so the machine lives while nobody looks. It
// returns at once on a manual clock.
func (k *Kernel) Sync() {
	k.mu.Lock()
	target, realtime := k.m.realtimeTarget()
	k.mu.Unlock()
	for realtime {
		k.mu.Lock()
		realtime = k.m.mode == clock.Realtime
		done := !realtime || k.m.runSlice(target, k.sliceSpent())
		k.mu.Unlock()
		runtime.Gosched()
		if done {
			return
		}
	}
}

// catchUpSlice runs a realtime clock towards the host's time for at most
// one slice. Callers hold mu.
func (k *Kernel) catchUpSlice() {
	if target, ok := k.m.realtimeTarget(); ok {
		k.m.runSlice(target, k.sliceSpent())
	}
}

// sliceSpent returns a function that says, from now on, whether a slice
// has used its budget of host time.
func (k *Kernel) sliceSpent() func() bool {
	start := k.hostNow()
	return func() bool { return k.hostNow().Sub(start) >= SliceBudget }
}

// turns hands out turns to change the machine, one at a time, in the
// order they were asked for.
type turns struct {
	mu      sync.Mutex
	held    bool
	waiting []chan struct{}
}

// take waits for a turn, or gives up with EINTR when ctx is done.
func (q *turns) take(ctx context.Context) error {
	q.mu.Lock()
	if !q.held && len(q.waiting) == 0 {
		q.held = true
		q.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	q.waiting = append(q.waiting, ch)
	q.mu.Unlock()
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	select {
	case <-ch:
		return nil
	case <-done:
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if i := slices.Index(q.waiting, ch); i >= 0 {
		q.waiting = slices.Delete(q.waiting, i, i+1)
	} else {
		q.giveLocked() // it was handed to us meanwhile: pass it on
	}
	return errno.Errorf(syscall.EINTR, "waiting to change the machine")
}

// busy says whether someone has the turn.
func (q *turns) busy() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.held
}

// give ends a turn: the longest waiter's begins.
func (q *turns) give() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.giveLocked()
}

func (q *turns) giveLocked() {
	if len(q.waiting) == 0 {
		q.held = false
		return
	}
	close(q.waiting[0])
	q.waiting = q.waiting[1:]
}

// Change is a change of the machine that a view may have to tell the
// host's caches about.
type Change struct {
	Kind ChangeKind
	CPU  int
}

// ChangeKind says what changed.
type ChangeKind int

const (
	// CPUOnline: CPU went online or offline.
	CPUOnline ChangeKind = iota
)

// Observe adds fn to those told of each Change. fn runs under the lock,
// in the middle of a write or a slice of time: it must not block, so it
// posts to an outbox.
func (k *Kernel) Observe(fn func(Change)) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.m.observers = append(k.m.observers, fn)
}

// changed tells the observers of a change.
func (m *Machine) changed(c Change) {
	for _, fn := range m.observers {
		fn(c)
	}
}

package kernelsim

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/sched"
)

// fingerprint is enough of a machine's state to tell two runs apart: the
// clock, every task's times and state, every CPU's times, memory and
// interrupt counts.
func fingerprint(m *Machine) string {
	var b strings.Builder
	fmt.Fprintf(&b, "now %d free %d switches %d\n", m.Clock.Now(), m.Mem.FreePages(), m.Sched.NrSwitches())
	for _, pid := range m.Sched.Pids() {
		t := m.Sched.Task(pid)
		fmt.Fprintf(&b, "%d %c %d %v\n", pid, t.State, t.CPU, t.SchedInfo())
	}
	for c := range m.Sched.NrCPUs() {
		fmt.Fprintf(&b, "cpu%d %v\n", c, *m.Sched.CPUTimes(c))
	}
	for _, d := range m.IRQ.Descs() {
		fmt.Fprintf(&b, "irq%d %d\n", d.IRQ, d.Total())
	}
	return b.String()
}

func loadedKernel(t *testing.T, cpus int) *Kernel {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Clock, cfg.CPUs, cfg.Seed = clock.Manual, cpus, 7
	k, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, k.Write(context.Background(), func(m *Machine) error {
		for _, spec := range []sched.Spec{
			{Comm: "pool", PPid: 1, Threads: 3, Profile: sched.Profile{SharePPM: 400_000, Bursty: true, IOPPM: 100_000}},
			{Comm: "hog", PPid: 1, Threads: 2, Profile: sched.Profile{SharePPM: 1_000_000}},
		} {
			if _, err := m.Spawn(SpawnRequest{Spec: spec}); err != nil {
				return err
			}
		}
		return nil
	}))
	return k
}

// Where an advance is cut into slices never changes what happens.
func TestSlicesDoNotChangeTheRun(t *testing.T) {
	whole := loadedKernel(t, 4)
	require.NoError(t, whole.Advance(context.Background(), 3000))

	sliced := loadedKernel(t, 4)
	slices := 0
	sliced.hostNow = func() time.Time { slices++; return time.Unix(int64(slices), 0) } // every slice is spent at once
	require.NoError(t, sliced.Advance(context.Background(), 3000))
	require.Greater(t, slices, 700, "a slice per tick")

	require.Equal(t, Get(whole, fingerprint), Get(sliced, fingerprint))
}

// A reader gets in between slices and sees the state at a tick, where
// every CPU's time adds up to the uptime; a change written during an
// advance applies after it.
func TestReadsGoBetweenSlicesWritesWait(t *testing.T) {
	k := loadedKernel(t, 8)
	start := Get(k, func(m *Machine) uint64 { return m.Clock.Now() })
	var mu sync.Mutex
	ticks := 0
	k.hostNow = func() time.Time { mu.Lock(); defer mu.Unlock(); ticks++; return time.Unix(int64(ticks), 0) }

	done := make(chan error, 1)
	go func() { done <- k.Advance(context.Background(), 20000) }()
	// Wait until the advance has begun, then queue a change behind it.
	var mid uint64
	for mid == 0 {
		k.Read(func(m *Machine) {
			if now := m.Clock.Now(); now > start && now < start+20*clock.NsecPerSec {
				mid = now
				var sum uint64
				for c := range m.Sched.NrCPUs() {
					for st := range sched.NumCPUTimeStates {
						sum += m.Sched.CPUTimes(c).Ns(st)
					}
				}
				require.Equal(t, uint64(m.Sched.NrCPUs())*now, sum, "every CPU accounted up to the tick")
			}
		})
	}
	var spawnedAt uint64
	require.NoError(t, k.Write(context.Background(), func(m *Machine) error {
		spawnedAt = m.Clock.Now()
		return nil
	}))
	require.NoError(t, <-done)
	require.Equal(t, start+20*clock.NsecPerSec, spawnedAt, "the write waited for the whole advance")
}

// A write waiting behind an advance gives up when its request is
// interrupted, and changes nothing; an interrupted advance stops short.
func TestInterruptedWaitsGiveUp(t *testing.T) {
	k := loadedKernel(t, 8)
	release := make(chan struct{})
	k.hostNow = func() time.Time { <-release; return time.Time{} } // the advance holds its turn until released
	done := make(chan error, 1)
	go func() { done <- k.Advance(context.Background(), 1000) }()
	for !k.turns.busy() {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	ran := false
	go func() {
		waited <- k.Write(ctx, func(*Machine) error { ran = true; return nil })
	}()
	cancel()
	require.ErrorIs(t, <-waited, syscall.EINTR)
	close(release)
	require.NoError(t, <-done)
	require.False(t, ran)

	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	before := Get(k, func(m *Machine) uint64 { return m.Clock.Now() })
	var calls int
	k.hostNow = func() time.Time { calls++; return time.Unix(int64(calls), 0) }
	err := k.Advance(ctx, 60000)
	require.ErrorIs(t, err, syscall.EINTR)
	after := Get(k, func(m *Machine) uint64 { return m.Clock.Now() })
	require.Greater(t, after, before, "what ran stays run")
	require.Less(t, after, before+60*clock.NsecPerSec)
}

// Turns go in the order they were asked for; one given up is skipped.
func TestTurnsAreFIFO(t *testing.T) {
	var q turns
	require.NoError(t, q.take(context.Background()))
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctxs := make([]context.CancelFunc, 5)
	for i := range 5 {
		ctx, cancel := context.WithCancel(context.Background())
		ctxs[i] = cancel
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.take(ctx); err != nil {
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			q.give()
		}()
		for {
			q.mu.Lock()
			n := len(q.waiting)
			q.mu.Unlock()
			if n == i+1 {
				break
			}
			time.Sleep(time.Millisecond)
		}
	}
	ctxs[2]()
	for {
		q.mu.Lock()
		n := len(q.waiting)
		q.mu.Unlock()
		if n == 4 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	q.give()
	wg.Wait()
	require.Equal(t, []int{0, 1, 3, 4}, order)
	require.False(t, q.busy())
}

package sched

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/mm"
)

func newTestScheduler(t *testing.T, hz, cpus int) (*Scheduler, *clock.Clock) {
	t.Helper()
	clk, err := clock.New(hz, 0)
	require.NoError(t, err)
	mem, err := mm.New(1<<30, rand.New(rand.NewPCG(1, 2)))
	require.NoError(t, err)
	return New(clk, mem, cpus), clk
}

// runTicks advances the clock tick by tick as the kernel's loop does.
func runTicks(s *Scheduler, clk *clock.Clock, n int) {
	for range n {
		next := clk.Ticks() + 1
		at := clk.TickTime(next)
		prev := clk.TickTime(next - 1)
		_ = clk.Set(at)
		s.Tick(at - prev)
	}
}

func hog(t *testing.T, s *Scheduler, cpu int) *Task {
	t.Helper()
	task, err := s.Spawn(Spec{Comm: "hog", CPU: cpu, SharePPM: 1_000_000})
	require.NoError(t, err)
	return task
}

func TestCalcLoadMatchesKernelArithmetic(t *testing.T) {
	// One task always running, sampled from zero: by hand from
	// kernel/sched/loadavg.c, (0*1884 + 2048*(2048-1884) + 2047) / 2048 = 164,
	// then (164*1884 + 2048*164 + 2047) / 2048 = 315.
	require.Equal(t, uint64(164), calcLoad(0, Exp1, Fixed1))
	require.Equal(t, uint64(315), calcLoad(164, Exp1, Fixed1))
	// Falling load rounds down: (315*1884 + 0) / 2048 = 289.
	require.Equal(t, uint64(289), calcLoad(315, Exp1, 0))
	// /proc/loadavg prints 164 as 0.08: (164+10)>>11 = 0, ((174&2047)*100)>>11 = 8.
	require.Equal(t, uint64(0), LoadInt(164+Fixed1/200))
	require.Equal(t, uint64(8), LoadFrac(164+Fixed1/200))
}

func TestLoadAverageSamplesEveryFiveSecondsPlusOneTick(t *testing.T) {
	s, clk := newTestScheduler(t, 250, 2)
	hog(t, s, 0)
	hog(t, s, 1)
	runTicks(s, clk, 5*250) // one tick short of LOAD_FREQ
	require.Equal(t, [3]uint64{0, 0, 0}, s.LoadAvg())
	runTicks(s, clk, 1)
	two := uint64(2 * Fixed1)
	want := [3]uint64{calcLoad(0, Exp1, two), calcLoad(0, Exp5, two), calcLoad(0, Exp15, two)}
	require.Equal(t, want, s.LoadAvg())
	require.Equal(t, uint64(328), want[0]) // (2*2048*164 + 2047)/2048
	runTicks(s, clk, 5*250+1)
	require.Equal(t, calcLoad(want[0], Exp1, two), s.LoadAvg()[0])
}

func TestCPUTimeAddsUpToElapsedTime(t *testing.T) {
	// HZ 300 does not divide 1e9: ticks are 3333333 or 3333334 ns apart.
	s, clk := newTestScheduler(t, 300, 3)
	task, err := s.Spawn(Spec{Comm: "third", CPU: 1, SharePPM: 333_333, SystemPPM: 250_000})
	require.NoError(t, err)
	niceTask, err := s.Spawn(Spec{Comm: "nice", CPU: 2, Nice: 5, SharePPM: 500_000})
	require.NoError(t, err)

	for step := 1; step <= 50; step++ {
		runTicks(s, clk, 7) // odd steps, so checks land between USER_HZ ticks too
		elapsedTicks := clk.TickTime(clk.Ticks()) / clock.NsecPerUserTick
		for cpu := range 3 {
			times := s.CPUTimes(cpu)
			var shown, exact uint64
			for st := range NumCPUTimeStates {
				shown += times.Ticks(st)
				exact += times.Ns(st)
				// Each state stays within two USER_HZ ticks of its exact time.
				require.InDelta(t, float64(times.Ns(st))/clock.NsecPerUserTick, float64(times.Ticks(st)), 2)
			}
			require.Equal(t, elapsedTicks, shown, "cpu %d after %d ticks", cpu, clk.Ticks())
			require.Equal(t, clk.TickTime(clk.Ticks()), exact)
		}
	}
	cpu1 := s.CPUTimes(1)
	require.Equal(t, task.Utime, cpu1.Ns(TimeUser))
	require.Equal(t, task.Stime, cpu1.Ns(TimeSystem))
	require.Equal(t, niceTask.Utime, s.CPUTimes(2).Ns(TimeNice))
	require.Zero(t, s.CPUTimes(0).Ns(TimeUser)+s.CPUTimes(0).Ns(TimeSystem))
	// A third of a CPU, a quarter of it in the kernel.
	require.InDelta(t, 1.0/3, float64(task.Utime+task.Stime)/float64(clk.Now()), 0.01)
	require.InDelta(t, 0.25, float64(task.Stime)/float64(task.Utime+task.Stime), 0.02)
}

func TestCPUTimeCountersNeverGoBack(t *testing.T) {
	s, clk := newTestScheduler(t, 250, 1)
	_, err := s.Spawn(Spec{Comm: "a", CPU: 0, SharePPM: 410_000, SystemPPM: 370_000})
	require.NoError(t, err)
	var last [NumCPUTimeStates]uint64
	for range 2000 {
		runTicks(s, clk, 1)
		for st := range NumCPUTimeStates {
			v := s.CPUTimes(0).Ticks(st)
			require.GreaterOrEqual(t, v, last[st])
			last[st] = v
		}
	}
}

func TestPidAllocationWrapsAboveReservedPids(t *testing.T) {
	s, _ := newTestScheduler(t, 100, 1)
	require.NoError(t, s.SetPidMax(400))
	first, err := s.Spawn(Spec{Comm: "a", CPU: 0})
	require.NoError(t, err)
	require.Equal(t, 1, first.Pid)
	require.NoError(t, s.SetLastPid(398))
	p, err := s.Spawn(Spec{Comm: "b", CPU: 0})
	require.NoError(t, err)
	require.Equal(t, 399, p.Pid)
	p, err = s.Spawn(Spec{Comm: "c", CPU: 0})
	require.NoError(t, err)
	require.Equal(t, ReservedPids, p.Pid, "after pid_max-1 allocation wraps to RESERVED_PIDS")
	require.Equal(t, ReservedPids, s.LastPid())

	require.ErrorIs(t, s.SetPidMax(300), ErrRange)
	require.ErrorIs(t, s.SetPidMax(PidMaxLimit+1), ErrRange)
	require.Equal(t, 400, s.PidMax())
	require.NoError(t, s.SetPidMax(301))
}

func TestStateShowsRunnableTasks(t *testing.T) {
	s, clk := newTestScheduler(t, 250, 1)
	h := hog(t, s, 0)
	idle, err := s.Spawn(Spec{Comm: "sleeper", CPU: 0})
	require.NoError(t, err)
	runTicks(s, clk, 10)
	require.Equal(t, Running, h.State)
	require.Equal(t, Sleeping, idle.State)
	require.Equal(t, 1, s.NrRunning())
}

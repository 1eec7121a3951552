package sched

import (
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/sysctl"
	"ksim/kernelsim/timer"
)

type machine struct {
	s      *Scheduler
	clk    *clock.Clock
	timers *timer.Queue
}

func newMachine(t *testing.T, hz, cpus int) *machine {
	t.Helper()
	clk, err := clock.New(hz, 0)
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	mem, err := mm.New(mm.Config{MemBytes: 1 << 30, Nodes: 1}, rng)
	require.NoError(t, err)
	q := timer.New(clk)
	m := &machine{s: New(clk, mem, rng, q, cpus), clk: clk, timers: q}
	q.Tick(func(_, at uint64) { m.s.Tick(at) })
	return m
}

// run advances the machine by ns, as the kernel does: every event due,
// the ticks among them, then every CPU's time accounted.
func (m *machine) run(ns uint64) {
	end := m.clk.Now() + ns
	m.timers.RunUntil(end)
	if err := m.clk.Set(end); err != nil {
		panic(err)
	}
	m.s.SyncTo(end)
}

func (m *machine) runTicks(n int) {
	for range n {
		m.run(m.clk.TickTime(m.clk.Ticks()+1) - m.clk.Now())
	}
}

// sysctl writes a tunable the scheduler owns, unprivileged.
func (m *machine) sysctl(t *testing.T, name, value string) error {
	t.Helper()
	tab, err := sysctl.NewTable(m.s.Sysctls()...)
	require.NoError(t, err)
	return tab.Write(name, sysctl.Op{}, value)
}

func (m *machine) spawn(t *testing.T, spec Spec) *Task {
	t.Helper()
	if spec.Comm == "" {
		spec.Comm = "task"
	}
	task, err := m.s.Spawn(spec)
	require.NoError(t, err)
	return task
}

func hogSpec(cpus ...int) Spec {
	return Spec{Comm: "hog", Allowed: cpu.MaskOf(cpus...), Profile: Profile{SharePPM: ppm}}
}

const sec = clock.NsecPerSec

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

func TestLoadAverageFollowsTheFormula(t *testing.T) {
	m := newMachine(t, 250, 4)
	for range 3 {
		m.spawn(t, hogSpec())
	}
	m.runTicks(5 * 250) // one tick short of LOAD_FREQ
	require.Equal(t, [3]uint64{0, 0, 0}, m.s.LoadAvg())
	var want [3]uint64
	three := uint64(3 * Fixed1)
	for sample := range 24 { // two minutes
		m.runTicks(1)
		for i, e := range []uint64{Exp1, Exp5, Exp15} {
			want[i] = calcLoad(want[i], e, three)
		}
		require.Equal(t, want, m.s.LoadAvg(), "sample %d", sample)
		m.runTicks(5 * 250)
	}
	require.Equal(t, uint64(2), LoadInt(want[0]+Fixed1/200), "three hogs for two minutes: load1 near 3")
}

func TestCPUTimeAddsUpToElapsedTime(t *testing.T) {
	// HZ 300 does not divide 1e9: ticks are 3333333 or 3333334 ns apart.
	m := newMachine(t, 300, 3)
	task := m.spawn(t, Spec{Comm: "third", Allowed: cpu.MaskOf(1), Profile: Profile{SharePPM: 333_333, SystemPPM: 250_000}})
	niceTask := m.spawn(t, Spec{Comm: "nice", Allowed: cpu.MaskOf(2), Nice: 5, Profile: Profile{SharePPM: 500_000}})

	for step := 1; step <= 50; step++ {
		m.run(23_456_789) // odd steps, so checks land between ticks too
		for c := range 3 {
			times := m.s.CPUTimes(c)
			var shown, exact uint64
			for st := range NumCPUTimeStates {
				shown += times.Ticks(st)
				exact += times.Ns(st)
				require.InDelta(t, float64(times.Ns(st))/clock.NsecPerUserTick, float64(times.Ticks(st)), 2)
			}
			require.Equal(t, m.clk.Now()/clock.NsecPerUserTick, shown, "cpu %d", c)
			require.Equal(t, m.clk.Now(), exact)
		}
	}
	cpu1 := m.s.CPUTimes(1)
	require.Equal(t, task.Utime, cpu1.Ns(TimeUser))
	require.Equal(t, task.Stime, cpu1.Ns(TimeSystem))
	require.Equal(t, niceTask.Utime, m.s.CPUTimes(2).Ns(TimeNice))
	require.Zero(t, m.s.CPUTimes(0).Ns(TimeUser)+m.s.CPUTimes(0).Ns(TimeSystem))
	require.InDelta(t, 1.0/3, float64(task.Utime+task.Stime)/float64(m.clk.Now()), 0.01)
	require.InDelta(t, 0.25, float64(task.Stime)/float64(task.Utime+task.Stime), 0.01)
	require.InDelta(t, 0.5, float64(niceTask.Utime)/float64(m.clk.Now()), 0.05)
}

func TestCPUTimeCountersNeverGoBack(t *testing.T) {
	m := newMachine(t, 250, 1)
	m.spawn(t, Spec{Comm: "a", Profile: Profile{SharePPM: 410_000, SystemPPM: 370_000, Bursty: true}})
	var last [NumCPUTimeStates]uint64
	for range 2000 {
		m.run(1_234_567)
		for st := range NumCPUTimeStates {
			v := m.s.CPUTimes(0).Ticks(st)
			require.GreaterOrEqual(t, v, last[st])
			last[st] = v
		}
	}
}

// The check: two hogs on one CPU at nice 0 and nice 5 share it
// 1024:335 over 30 s.
func TestNiceWeightsShareACPU(t *testing.T) {
	m := newMachine(t, 250, 2)
	a := m.spawn(t, hogSpec(0))
	spec := hogSpec(0)
	spec.Nice = 5
	b := m.spawn(t, spec)
	m.run(30 * sec)
	ratio := float64(a.Utime) / float64(b.Utime)
	require.InEpsilon(t, 1024.0/335, ratio, 0.10, "utime %d vs %d", a.Utime, b.Utime)
	require.Equal(t, uint64(30*sec), a.Utime+b.Utime, "the CPU ran one of them all the time")
	require.Greater(t, a.NonVoluntarySwitches+b.NonVoluntarySwitches, uint64(100), "the tick preempts them")
	require.Zero(t, m.s.CPUTimes(1).Ns(TimeUser), "affinity keeps them off CPU 1")
}

func TestRealTimeRunsBeforeFair(t *testing.T) {
	m := newMachine(t, 250, 1)
	fair := m.spawn(t, hogSpec(0))
	m.run(sec)
	rt := hogSpec(0)
	rt.Policy, rt.RTPriority = SchedFIFO, 10
	fifo := m.spawn(t, rt)
	before := fair.Utime
	m.run(2 * sec)
	require.Equal(t, before, fair.Utime, "a FIFO hog starves CFS (RT throttling is not simulated)")
	require.Equal(t, uint64(2*sec), fifo.Utime)
}

func TestRoundRobinRotatesEveryTimeslice(t *testing.T) {
	m := newMachine(t, 1000, 1)
	spec := hogSpec(0)
	spec.Policy, spec.RTPriority = SchedRR, 5
	a := m.spawn(t, spec)
	b := m.spawn(t, spec)
	m.run(10 * sec)
	require.InDelta(t, float64(5*sec), float64(a.Utime), float64(110_000_000))
	require.InDelta(t, 100, float64(a.NonVoluntarySwitches+b.NonVoluntarySwitches), 3, "a switch per 100 ms")
}

func TestBalancingSpreadsHogs(t *testing.T) {
	m := newMachine(t, 250, 4)
	var hogs []*Task
	for range 4 {
		hogs = append(hogs, m.spawn(t, hogSpec()))
	}
	m.run(2 * sec)
	for c := range 4 {
		busy := m.s.CPUTimes(c).Ns(TimeUser)
		require.Greater(t, busy, uint64(19*sec/10), "cpu %d busy", c)
	}
	for _, h := range hogs {
		require.InDelta(t, float64(2*sec), float64(h.Utime), float64(sec/10))
	}
}

// Seed 004's zombie: a parent that does not wait keeps its dead child as
// Z; killing the parent hands the child to init, which reaps it.
func TestZombieUntilParentDies(t *testing.T) {
	m := newMachine(t, 250, 2)
	m.spawn(t, Spec{Comm: "init"}) // pid 1 reaps
	parent := m.spawn(t, Spec{Comm: "a.out", PPid: 1, NoReap: true})
	child := m.spawn(t, Spec{Comm: "a.out", PPid: parent.Pid, Profile: Profile{LifetimeNs: sec}})
	m.run(2 * sec)
	require.Equal(t, Zombie, child.State)
	require.Same(t, child, m.s.Task(child.Pid), "the zombie keeps its pid")
	require.Nil(t, child.proc.MM)
	require.Equal(t, []int{child.Pid}, m.s.Children(parent.Pid))
	require.NoError(t, m.s.Kill(child.Pid, SIGKILL))
	require.Equal(t, Zombie, child.State, "a zombie cannot be killed")

	require.NoError(t, m.s.Kill(parent.Pid, SIGKILL))
	require.Nil(t, m.s.Task(parent.Pid), "init reaped the parent")
	require.Nil(t, m.s.Task(child.Pid), "and the child it inherited")
}

func TestIgnoringSIGCHLDLeavesNoZombies(t *testing.T) {
	m := newMachine(t, 250, 1)
	m.spawn(t, Spec{Comm: "init"})
	parent := m.spawn(t, Spec{Comm: "server", PPid: 1, NoReap: true, Ignored: SigSet(0).With(SIGCHLD)})
	child := m.spawn(t, Spec{Comm: "worker", PPid: parent.Pid, Profile: Profile{LifetimeNs: sec / 2}})
	m.run(sec)
	require.Nil(t, m.s.Task(child.Pid))
}

func TestThreadsShareATgid(t *testing.T) {
	m := newMachine(t, 250, 4)
	m.spawn(t, Spec{Comm: "init"})
	leader := m.spawn(t, Spec{Comm: "nginx", PPid: 1, Threads: 4, Profile: Profile{SharePPM: 300_000}})
	threads := slices.Clone(leader.Process().Threads())
	require.Len(t, threads, 4)
	for i, th := range threads {
		require.Equal(t, leader.Pid, th.Tgid())
		require.Equal(t, leader.Pid+i, th.Pid)
	}
	require.Equal(t, []int{1, leader.Pid}, m.s.Tgids())
	require.Equal(t, 5, m.s.NrThreads())
	require.Equal(t, uint64(5), m.s.TotalForks())
	m.run(10 * sec)
	u, _ := leader.Process().Times()
	require.InDelta(t, 4*0.3*10*float64(sec), float64(u), 0.05*4*0.3*10*float64(sec))
	require.NoError(t, m.s.Kill(threads[2].Pid, SIGTERM), "kill(tid) signals the whole process")
	for _, th := range threads {
		require.Nil(t, m.s.Task(th.Pid), "every thread died and init reaped the process")
	}
	require.Equal(t, 1, m.s.NrThreads())
}

func TestStopAndContinue(t *testing.T) {
	m := newMachine(t, 250, 1)
	m.spawn(t, Spec{Comm: "init"})
	h := m.spawn(t, hogSpec(0))
	m.run(sec)
	require.NoError(t, m.s.Kill(h.Pid, SIGSTOP))
	require.Equal(t, Stopped, h.State)
	before := h.Utime
	m.run(sec)
	require.Equal(t, before, h.Utime)
	before = h.Utime
	idle := m.s.CPUTimes(0).Ns(TimeIdle)
	m.run(sec)
	require.Equal(t, uint64(sec), m.s.CPUTimes(0).Ns(TimeIdle)-idle, "the CPU idles while it is stopped")
	require.NoError(t, m.s.Kill(h.Pid, SIGCONT))
	require.Equal(t, Running, h.State)
	m.run(sec)
	require.Equal(t, before+sec, h.Utime)
}

func TestSignalDispositions(t *testing.T) {
	m := newMachine(t, 250, 1)
	m.spawn(t, Spec{Comm: "init"})
	catcher := m.spawn(t, Spec{Comm: "d", PPid: 1, Caught: SigSet(0).With(SIGTERM), Blocked: SigSet(0).With(SIGUSR1)})
	require.NoError(t, m.s.Kill(catcher.Pid, SIGTERM))
	require.NotEqual(t, Zombie, catcher.State, "a caught signal runs the handler")
	require.NoError(t, m.s.Kill(catcher.Pid, SIGUSR1))
	require.True(t, catcher.Process().SharedPending.Has(SIGUSR1), "a blocked signal stays pending")
	require.NoError(t, m.s.Kill(catcher.Pid, SIGWINCH))
	require.False(t, catcher.Process().SharedPending.Has(SIGWINCH), "ignored by default")
	require.NoError(t, m.s.Kill(1, SIGKILL))
	require.NotNil(t, m.s.Task(1), "init ignores even SIGKILL")
	require.ErrorIs(t, m.s.Kill(9999, SIGTERM), ErrNoProcess)
	require.ErrorIs(t, m.s.Kill(catcher.Pid, Signal(65)), ErrInvalidSignal)
	require.NoError(t, m.s.Kill(catcher.Pid, 0))

	require.NoError(t, m.s.Kill(catcher.Pid, SIGKILL))
	require.Nil(t, m.s.Task(catcher.Pid))
}

func TestUninterruptibleSleepDelaysSIGKILL(t *testing.T) {
	m := newMachine(t, 250, 1)
	m.spawn(t, Spec{Comm: "init"})
	io := m.spawn(t, Spec{Comm: "dd", PPid: 1, Profile: Profile{SharePPM: 100_000, IOPPM: 900_000, BurstNs: 10_000_000}})
	for io.State != DiskSleep {
		m.run(1_000_000)
	}
	require.Equal(t, 1, m.s.NrBlocked())
	require.NoError(t, m.s.Kill(io.Pid, SIGKILL))
	require.Equal(t, DiskSleep, io.State, "D is not interrupted")
	m.run(sec)
	require.Nil(t, m.s.Task(io.Pid), "it dies when its I/O completes")
	require.Positive(t, m.s.CPUTimes(0).Ns(TimeIOWait))
}

func TestIOWaitShareShowsInD(t *testing.T) {
	m := newMachine(t, 250, 2)
	m.spawn(t, Spec{Comm: "dd", Profile: Profile{SharePPM: 200_000, IOPPM: 500_000, Bursty: true}})
	var inD, samples int
	for range 4000 {
		m.run(5_000_000)
		samples++
		if m.s.NrBlocked() == 1 {
			inD++
		}
	}
	require.InDelta(t, 0.5, float64(inD)/float64(samples), 0.06)
}

func TestSignalNames(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Signal
	}{{"9", SIGKILL}, {"KILL", SIGKILL}, {"SIGKILL", SIGKILL}, {"term", SIGTERM}, {"RTMIN+3", 37}, {"SIGRTMAX-1", 63}, {"0", 0}} {
		got, err := ParseSignal(c.in)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	for _, bad := range []string{"65", "-1", "32", "FOO", "SIG", ""} {
		_, err := ParseSignal(bad)
		require.ErrorIs(t, err, ErrInvalidSignal, bad)
	}
	require.Equal(t, "RTMIN+15", Signal(49).Name())
	require.Equal(t, "RTMAX-14", Signal(50).Name())
}

func TestPidAllocationWrapsAboveReservedPids(t *testing.T) {
	m := newMachine(t, 100, 1)
	s := m.s
	require.NoError(t, m.sysctl(t, "kernel.pid_max", "400"))
	first := m.spawn(t, Spec{Comm: "a"})
	require.Equal(t, 1, first.Pid)
	require.NoError(t, s.SetLastPid(398))
	require.Equal(t, 399, m.spawn(t, Spec{Comm: "b"}).Pid)
	require.Equal(t, ReservedPids, m.spawn(t, Spec{Comm: "c"}).Pid, "after pid_max-1 allocation wraps to RESERVED_PIDS")
	require.Equal(t, ReservedPids, s.LastPid())

	require.ErrorIs(t, m.sysctl(t, "kernel.pid_max", "300"), syscall.EINVAL)
	require.ErrorIs(t, m.sysctl(t, "kernel.pid_max", "4194305"), syscall.EINVAL)
	require.ErrorIs(t, m.sysctl(t, "kernel.ns_last_pid", "5"), syscall.EPERM, "unprivileged")
	require.Equal(t, 400, s.PidMax())
}

func TestForkFailsWhenPidsRunOut(t *testing.T) {
	m := newMachine(t, 100, 1)
	require.NoError(t, m.sysctl(t, "kernel.pid_max", "310"))
	for range 9 {
		m.spawn(t, Spec{Comm: "a"})
	}
	require.NoError(t, m.s.SetLastPid(300))
	_, err := m.s.Spawn(Spec{Comm: "b", Threads: 11})
	require.ErrorIs(t, err, ErrPidSpaceFull)
	require.Equal(t, 300, m.s.LastPid(), "nothing was taken")
	require.Equal(t, 9, m.s.NrThreads())
}

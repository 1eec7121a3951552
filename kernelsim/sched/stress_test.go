package sched

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/cpu"
)

// checkInvariants verifies the scheduler's bookkeeping: every runnable
// task is on exactly one runqueue, sleepers on none, iowait counts match
// the tasks in D, and each CPU's time adds up to the clock.
func checkInvariants(t *testing.T, m *machine) {
	t.Helper()
	s := m.s
	queued := map[*Task]int{}
	for i := range s.cpus {
		rq := &s.cpus[i]
		if rq.curr != nil {
			queued[rq.curr]++
			require.Same(t, rq, rq.curr.rqOf)
			require.Equal(t, Running, rq.curr.State)
			require.True(t, rq.curr.Allowed.Has(rq.cpu), "affinity")
		}
		for _, q := range [][]*Task{rq.fair, rq.rt} {
			for _, task := range q {
				queued[task]++
				require.Same(t, rq, task.rqOf)
				require.Equal(t, Running, task.State)
			}
		}
		iowait := 0
		for _, pid := range s.pids {
			if s.tasks[pid].iowaitOn == rq {
				iowait++
			}
		}
		require.Equal(t, iowait, rq.nrIOWait, "cpu %d iowait", i)
		var total uint64
		for st := range NumCPUTimeStates {
			total += rq.times.Ns(st)
		}
		require.Equal(t, m.clk.Now(), total, "cpu %d time", i)
	}
	for _, pid := range s.pids {
		task := s.tasks[pid]
		switch task.State {
		case Running:
			require.Equal(t, 1, queued[task], "pid %d runnable once", pid)
		default:
			require.Zero(t, queued[task], "pid %d in %c is on no runqueue", pid, task.State)
		}
		if task.State == DiskSleep {
			require.NotNil(t, task.iowaitOn)
		}
	}
}

func TestSchedulerBookkeepingUnderChurn(t *testing.T) {
	m := newMachine(t, 250, 4)
	m.spawn(t, Spec{Comm: "init"})
	rng := rand.New(rand.NewPCG(7, 7))
	policies := []Policy{SchedNormal, SchedNormal, SchedBatch, SchedIdle, SchedFIFO, SchedRR}
	sigs := []Signal{SIGSTOP, SIGCONT, SIGTERM, SIGKILL, SIGUSR1, SIGCHLD}
	for range 300 {
		if rng.IntN(3) == 0 {
			pol := policies[rng.IntN(len(policies))]
			spec := Spec{Comm: "w", PPid: 1, Policy: pol, Threads: 1 + rng.IntN(3), Nice: rng.IntN(20) - 10,
				Profile: Profile{SharePPM: uint64(rng.IntN(ppm + 1)), Bursty: rng.IntN(2) == 0,
					LifetimeNs: uint64(rng.IntN(3)) * 700_000_000}}
			spec.Profile.IOPPM = uint64(rng.IntN(int(ppm-spec.Profile.SharePPM) + 1))
			if pol.IsRT() {
				spec.RTPriority = 1 + rng.IntN(99)
				spec.Profile.SharePPM /= 4 // keep real-time tasks from starving the rest forever
			}
			if rng.IntN(2) == 0 {
				spec.Allowed = cpu.MaskOf(rng.IntN(4))
			}
			_, err := m.s.Spawn(spec)
			require.NoError(t, err)
		}
		if pids := m.s.Tgids(); len(pids) > 1 && rng.IntN(2) == 0 {
			require.NoError(t, m.s.Kill(pids[1+rng.IntN(len(pids)-1)], sigs[rng.IntN(len(sigs))]))
		}
		m.run(uint64(1+rng.IntN(50)) * 1_000_000)
		checkInvariants(t, m)
	}
}

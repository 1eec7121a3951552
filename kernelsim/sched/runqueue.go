package sched

import "slices"

// NICE_0_LOAD: the weight of a nice-0 task.
const nice0Load = 1024

// prioToWeight is kernel/sched/core.c sched_prio_to_weight: each nice
// level is about 10% more or less CPU than the next.
var prioToWeight = [40]uint64{
	/* -20 */ 88761, 71755, 56483, 46273, 36291,
	/* -15 */ 29154, 23254, 18705, 14949, 11916,
	/* -10 */ 9548, 7620, 6100, 4904, 3906,
	/*  -5 */ 3121, 2501, 1991, 1586, 1277,
	/*   0 */ 1024, 820, 655, 526, 423,
	/*   5 */ 335, 272, 215, 172, 137,
	/*  10 */ 110, 87, 70, 56, 45,
	/*  15 */ 36, 29, 23, 18, 15,
}

// weightIdle is WEIGHT_IDLEPRIO, the weight of SCHED_IDLE tasks.
const weightIdle = 3

// NiceWeight is the CFS weight of a nice level.
func NiceWeight(nice int) uint64 { return prioToWeight[nice+20] }

func weightOf(policy Policy, nice int) uint64 {
	if policy == SchedIdle {
		return weightIdle
	}
	return NiceWeight(nice)
}

// entity is a task's scheduling state (sched_entity, sched_rt_entity, sched_info).
type entity struct {
	weight       uint64
	vruntime     uint64 // ns of weighted runtime
	sumExec      uint64 // ns on a CPU
	sliceStart   uint64 // sumExec when last picked (prev_sum_exec_runtime)
	execStart    uint64 // when it last got a CPU
	nrMigrations uint64
	runDelay     uint64 // ns spent runnable but waiting (sched_info.run_delay)
	pcount       uint64 // times it got a CPU (sched_info.pcount)
	queuedAt     uint64 // when it last became runnable and waiting
	rrLeft       uint64 // SCHED_RR: what is left of its time slice
	seq          uint64 // enqueue order: breaks ties, keeps FIFO order
}

// runqueue is one CPU's (struct rq): what it runs, what waits, what it has done.
type runqueue struct {
	cpu         int
	curr        *Task   // nil while idle (the swapper)
	fair        []*Task // waiting CFS tasks, by vruntime then enqueue order
	rt          []*Task // waiting real-time tasks, highest priority first, FIFO within one
	minVruntime uint64
	clock       uint64 // up to when its time is accounted
	times       CPUTimes
	nrSwitches  uint64
	nrIOWait    int // tasks in D that last ran here: idle time counts as iowait
	offline     bool
	irqDebt     irqDebt
}

// nrRunning counts runnable tasks, the running one included.
func (rq *runqueue) nrRunning() int {
	n := len(rq.fair) + len(rq.rt)
	if rq.curr != nil {
		n++
	}
	return n
}

// fairLoad is the CFS weight on the CPU, the running task included.
func (rq *runqueue) fairLoad() (load uint64, nr int) {
	for _, t := range rq.fair {
		load += t.se.weight
	}
	nr = len(rq.fair)
	if c := rq.curr; c != nil && !c.Policy.IsRT() {
		load += c.se.weight
		nr++
	}
	return load, nr
}

func (rq *runqueue) enqueue(t *Task, seq uint64) {
	t.se.seq = seq
	t.rqOf = rq
	if t.Policy.IsRT() {
		// After every task of equal or higher priority: FIFO within a priority.
		i := len(rq.rt)
		for j, o := range rq.rt {
			if o.RTPriority < t.RTPriority {
				i = j
				break
			}
		}
		rq.rt = slices.Insert(rq.rt, i, t)
		return
	}
	i, _ := slices.BinarySearchFunc(rq.fair, t, func(a, b *Task) int {
		if a.se.vruntime != b.se.vruntime {
			if a.se.vruntime < b.se.vruntime {
				return -1
			}
			return 1
		}
		return int(int64(a.se.seq) - int64(b.se.seq))
	})
	rq.fair = slices.Insert(rq.fair, i, t)
}

func (rq *runqueue) dequeue(t *Task) {
	q := &rq.fair
	if t.Policy.IsRT() {
		q = &rq.rt
	}
	if i := slices.Index(*q, t); i >= 0 {
		*q = slices.Delete(*q, i, i+1)
	}
}

// pickNext is the waiting task to run next: real-time before fair.
func (rq *runqueue) pickNext() *Task {
	if len(rq.rt) > 0 {
		return rq.rt[0]
	}
	if len(rq.fair) > 0 {
		return rq.fair[0]
	}
	return nil
}

// updateMinVruntime keeps min_vruntime monotonic at the smallest vruntime
// on the CPU (kernel/sched/fair.c update_min_vruntime).
func (rq *runqueue) updateMinVruntime() {
	v, ok := uint64(0), false
	if c := rq.curr; c != nil && !c.Policy.IsRT() {
		v, ok = c.se.vruntime, true
	}
	if len(rq.fair) > 0 {
		if l := rq.fair[0].se.vruntime; !ok || l < v {
			v, ok = l, true
		}
	}
	if ok && v > rq.minVruntime {
		rq.minVruntime = v
	}
}

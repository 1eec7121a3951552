package sched

// Load balancing, reduced to what shows from outside: an idle CPU pulls a
// waiting task from the busiest CPU at once (newidle and idle balancing),
// and every balanceIntervalNs busy CPUs even out their counts of runnable
// tasks (periodic balancing). Affinity is respected and each move counts
// as a migration of the task.

// balanceIntervalNs is how often busy CPUs balance, about what a small
// machine's domains give (sd->balance_interval times busy_factor).
const balanceIntervalNs = 64_000_000

// pullIdle fills an idle CPU with a waiting task from the busiest CPU.
func (s *Scheduler) pullIdle(rq *runqueue, now uint64) {
	if rq.curr != nil || rq.pickNext() != nil {
		return
	}
	src := s.busiest(rq)
	if src == nil {
		return
	}
	if t := s.movable(src, rq); t != nil {
		s.migrate(t, src, rq, now)
		s.schedule(rq, now)
	}
}

// anyWaiting says whether a task waits on some online CPU's queue.
func (s *Scheduler) anyWaiting() bool {
	for i := range s.cpus {
		if rq := &s.cpus[i]; !rq.offline && len(rq.fair)+len(rq.rt) > 0 {
			return true
		}
	}
	return false
}

// busiest is the CPU other than dst with the most waiting tasks, if any waits.
func (s *Scheduler) busiest(dst *runqueue) *runqueue {
	var best *runqueue
	for i := range s.cpus {
		rq := &s.cpus[i]
		if rq == dst || rq.offline || len(rq.fair)+len(rq.rt) == 0 {
			continue
		}
		if best == nil || rq.nrRunning() > best.nrRunning() {
			best = rq
		}
	}
	return best
}

// movable finds a waiting task on src allowed on dst: the one that ran
// least recently, from the back of the queue, as detach_tasks takes them.
func (s *Scheduler) movable(src, dst *runqueue) *Task {
	for _, q := range [][]*Task{src.fair, src.rt} {
		for i := len(q) - 1; i >= 0; i-- {
			if q[i].Allowed.Has(dst.cpu) {
				return q[i]
			}
		}
	}
	return nil
}

func (s *Scheduler) migrate(t *Task, src, dst *runqueue, now uint64) {
	s.updateCurr(src, now)
	s.updateCurr(dst, now)
	src.dequeue(t)
	s.migrateVruntime(t, dst)
	s.seq++
	dst.enqueue(t, s.seq)
	t.CPU = dst.cpu
}

// balance runs the periodic balancing: while two CPUs differ by two or
// more runnable tasks, one moves from the busiest to the least busy.
func (s *Scheduler) balance(now uint64) {
	for range len(s.cpus) {
		var hi, lo *runqueue
		for i := range s.cpus {
			rq := &s.cpus[i]
			if rq.offline {
				continue
			}
			if hi == nil || rq.nrRunning() > hi.nrRunning() {
				hi = rq
			}
			if lo == nil || rq.nrRunning() < lo.nrRunning() {
				lo = rq
			}
		}
		if hi.nrRunning()-lo.nrRunning() < 2 {
			return
		}
		t := s.movable(hi, lo)
		if t == nil {
			return
		}
		s.migrate(t, hi, lo, now)
		if lo.curr == nil {
			s.schedule(lo, now)
		} else {
			s.checkPreemptWakeup(lo, t, now)
		}
	}
}

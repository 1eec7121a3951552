package sched

import (
	"slices"
	"syscall"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/errno"
)

// ErrLastCPU is returned for taking the last online CPU down.
var ErrLastCPU = errno.New(syscall.EBUSY, "the last online CPU cannot go offline")

// Online says whether a CPU takes part in scheduling.
func (s *Scheduler) Online(c int) bool { return c >= 0 && c < len(s.cpus) && !s.cpus[c].offline }

// onlineMask is cpu_active_mask.
func (s *Scheduler) onlineMask() cpu.Mask {
	var m cpu.Mask
	for i := range s.cpus {
		if !s.cpus[i].offline {
			m.Set(i)
		}
	}
	return m
}

// OfflineCPU takes a CPU out of scheduling (sched_cpu_deactivate and
// migrate_tasks): what runs or waits there moves to other CPUs, its clock
// stops, and a task allowed on no online CPU any more gets all of them
// (select_fallback_rq). It returns the user processes whose affinity
// was broken, which Linux logs. Parking its per-CPU threads is the caller's.
func (s *Scheduler) OfflineCPU(c int, now uint64) (broken []*Task, err error) {
	if !s.Online(c) {
		return nil, nil
	}
	rq := &s.cpus[c]
	if len(s.onlineMask().List()) == 1 {
		return nil, ErrLastCPU
	}
	s.updateCurr(rq, now)
	rq.offline = true
	online := s.onlineMask()
	for _, pid := range s.pids {
		t := s.tasks[pid]
		if t.State == Parked || t.Allowed.Intersects(online) {
			continue
		}
		t.Allowed = online
		if !t.IsKthread() {
			broken = append(broken, t)
		}
	}
	var moving []*Task
	if rq.curr != nil {
		moving = append(moving, rq.curr)
		rq.curr.run.runGen++ // its burst-end event no longer holds
		rq.curr.rqOf = nil
		rq.curr = nil
	}
	moving = append(moving, rq.rt...)
	moving = append(moving, rq.fair...)
	rq.rt, rq.fair = nil, nil
	for _, t := range moving {
		t.rqOf = nil
		s.rehome(t, now)
	}
	return broken, nil
}

// rehome puts a runnable task that has left its runqueue on the CPU
// select_task_rq picks for it, where it may preempt what runs.
func (s *Scheduler) rehome(t *Task, now uint64) {
	dst := s.selectRQ(t)
	s.updateCurr(dst, now)
	s.migrateVruntime(t, dst)
	s.enqueue(dst, t, now)
	s.checkPreemptWakeup(dst, t, now)
}

// OnlineCPU brings a CPU back into scheduling with its clock starting now:
// the time it was away counts in none of its states.
func (s *Scheduler) OnlineCPU(c int, now uint64) {
	if c < 0 || c >= len(s.cpus) || s.Online(c) {
		return
	}
	rq := &s.cpus[c]
	rq.offline = false
	rq.clock = now
	rq.irqDebt = irqDebt{}
}

// Park stops a per-CPU kernel thread whose CPU goes down (kthread_park):
// it leaves its runqueue and shows as P until unparked.
func (s *Scheduler) Park(pid int, now uint64) {
	t := s.tasks[pid]
	if t == nil || t.State == Parked || t.proc.exited {
		return
	}
	if rq := s.offCPU(t, now); rq != nil {
		t.State = Parked
		s.schedule(rq, now)
		return
	}
	t.State = Parked
}

// Unpark lets a parked thread run again on its CPU, which is back online.
func (s *Scheduler) Unpark(pid int, now uint64) {
	t := s.tasks[pid]
	if t == nil || t.State != Parked {
		return
	}
	t.State = Sleeping
	s.wake(t, now)
}

// SetKernelAffinity changes where a kernel thread may run, as the
// workqueue code rebinds its per-CPU workers around hotplug. A runnable
// thread that may no longer stay where it is moves at once.
func (s *Scheduler) SetKernelAffinity(pid int, m cpu.Mask, now uint64) {
	t := s.tasks[pid]
	if t == nil || m.Empty() {
		return
	}
	t.Allowed = m
	if t.rqOf == nil || m.Has(t.rqOf.cpu) {
		return
	}
	rq := t.rqOf
	if rq.curr == t {
		s.updateCurr(rq, now)
		t.run.runGen++
		rq.curr = nil
		t.rqOf = nil
		defer s.schedule(rq, now)
	} else {
		rq.dequeue(t)
		t.rqOf = nil
	}
	s.rehome(t, now)
}

// irqDebt is interrupt time a CPU owes: handlers ran, and the time they
// took comes out of what the CPU was doing (IRQ_TIME_ACCOUNTING: the
// task's clock excludes it).
type irqDebt struct{ hard, soft uint64 }

// ChargeIRQ takes hardirq and softirq time from a CPU, as the time passes.
func (s *Scheduler) ChargeIRQ(c int, hardNs, softNs uint64) {
	if !s.Online(c) {
		return
	}
	d := &s.cpus[c].irqDebt
	d.hard += hardNs
	d.soft += softNs
}

// payIRQDebt charges up to delta ns of owed interrupt time to the CPU's
// irq and softirq states and returns what is left of delta for the task or idle.
func (rq *runqueue) payIRQDebt(delta uint64) uint64 {
	d := &rq.irqDebt
	if h := min(d.hard, delta); h > 0 {
		d.hard -= h
		delta -= h
		rq.times.charge(TimeIRQ, h)
	}
	if sft := min(d.soft, delta); sft > 0 {
		d.soft -= sft
		delta -= sft
		rq.times.charge(TimeSoftIRQ, sft)
	}
	return delta
}

// MarkSoftirqThread says pid is a ksoftirqd: the time it runs is softirq
// time of its CPU (irqtime_account_process_tick), though ps shows it as
// the thread's system time.
func (s *Scheduler) MarkSoftirqThread(pid int) {
	if t := s.tasks[pid]; t != nil {
		t.softirqThread = true
	}
}

// onlineAllowed are the CPUs a task may run on now.
func (s *Scheduler) onlineAllowed(t *Task) []int {
	return slices.DeleteFunc(t.Allowed.List(), func(c int) bool { return !s.Online(c) })
}

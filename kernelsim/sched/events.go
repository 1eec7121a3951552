package sched

import "container/heap"

type eventKind int

const (
	evBurstEnd eventKind = iota // the running task has used its burst and sleeps
	evWake                      // a sleeping task wakes
	evLifetime                  // a process's lifetime is over
)

// event is something that happens to a task at a time. gen must still
// match the task's counter when the event comes, or it was cancelled.
type event struct {
	at   uint64
	seq  uint64 // order of scheduling: ties at one instant run in that order
	kind eventKind
	task *Task
	gen  uint64
}

// eventQueue is a min-heap by time, then by scheduling order.
type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

func (s *Scheduler) post(at uint64, kind eventKind, t *Task, gen uint64) {
	s.seq++
	heap.Push(&s.events, event{at: at, seq: s.seq, kind: kind, task: t, gen: gen})
}

// RunUntil handles every event due at or before t, in order.
func (s *Scheduler) RunUntil(t uint64) {
	for len(s.events) > 0 && s.events[0].at <= t {
		e := heap.Pop(&s.events).(event)
		if e.at > s.clk.Now() {
			_ = s.clk.Set(e.at) // the clock reads the event's time while it is handled
		}
		s.handle(e)
	}
}

func (s *Scheduler) handle(e event) {
	t := e.task
	switch e.kind {
	case evBurstEnd:
		if t.run.runGen == e.gen && t.rqOf != nil && t.rqOf.curr == t {
			s.burstEnd(t, e.at)
		}
	case evWake:
		if t.run.sleepGen == e.gen && (t.State == Sleeping || t.State == DiskSleep || t.State == Idle) {
			s.wake(t, e.at)
		}
	case evLifetime:
		if !t.proc.exited {
			s.exitGroup(t.proc, t.proc.ExitCodeAtLifetime<<8, e.at)
		}
	}
}

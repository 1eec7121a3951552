package sched

import "ksim/kernelsim/timer"

// The scheduler's kinds of event, which it posts on the kernel's timer
// queue. Each carries its task and a generation: an event whose
// generation no longer matches the task's counter was cancelled.
type eventKind int

const (
	evBurstEnd eventKind = iota // the running task has used its burst and sleeps
	evWake                      // a sleeping task wakes
	evLifetime                  // a process's lifetime is over
	nrEventKinds
)

var eventNames = [nrEventKinds]string{"sched.burst_end", "sched.wake", "sched.lifetime"}

// registerEvents gives the scheduler's events their handlers on q.
func (s *Scheduler) registerEvents(q *timer.Queue) {
	s.timers = q
	for k := range nrEventKinds {
		s.kinds[k] = q.Register(eventNames[k], s.handle)
	}
}

func (s *Scheduler) post(at uint64, kind eventKind, t *Task, gen uint64) {
	s.timers.Post(timer.Event{At: at, Kind: s.kinds[kind], Arg: t, Gen: gen})
}

func (s *Scheduler) handle(e timer.Event) {
	t := e.Arg.(*Task)
	switch e.Kind {
	case s.kinds[evBurstEnd]:
		if t.run.runGen == e.Gen && t.rqOf != nil && t.rqOf.curr == t {
			s.burstEnd(t, e.At)
		}
	case s.kinds[evWake]:
		if t.run.sleepGen == e.Gen && (t.State == Sleeping || t.State == DiskSleep || t.State == Idle) {
			s.wake(t, e.At)
		}
	case s.kinds[evLifetime]:
		if !t.proc.exited {
			s.exitGroup(t.proc, t.proc.ExitCodeAtLifetime<<8, e.At)
		}
	}
}

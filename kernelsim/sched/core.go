package sched

import "slices"

// CFS here is the pre-6.6 Completely Fair Scheduler (kernel/sched/fair.c
// before EEVDF): the task with the smallest vruntime runs; the tick
// preempts one that has run past its share of sched_latency; a waking task
// preempts when it is owed more than wakeup_granularity. Real-time tasks
// (FIFO, RR) always run before fair ones; RR rotates every
// sched_rr_timeslice_ms.

// Tunables of kernel/sched/fair.c, before scaling by the CPU count.
const (
	baseLatencyNs    = 6_000_000 // sysctl_sched_latency
	baseMinGranNs    = 750_000   // sysctl_sched_min_granularity
	baseWakeupGranNs = 1_000_000 // sysctl_sched_wakeup_granularity
	// RRTimesliceMsDefault is RR_TIMESLICE, 100 ms.
	RRTimesliceMsDefault = 100
)

// tunables are the fair class's timing, scaled as
// sched_update_scaling with SCHED_TUNABLESCALING_LOG: by 1+log2(CPUs),
// counting at most 8 CPUs.
type tunables struct {
	latency, minGran, wakeupGran uint64
	nrLatency                    int
	rrTimeslice                  uint64
}

func newTunables(nrCPUs int) tunables {
	factor := uint64(1)
	for n := min(nrCPUs, 8); n > 1; n >>= 1 {
		factor++
	}
	return tunables{
		latency:     baseLatencyNs * factor,
		minGran:     baseMinGranNs * factor,
		wakeupGran:  baseWakeupGranNs * factor,
		nrLatency:   baseLatencyNs / baseMinGranNs,
		rrTimeslice: RRTimesliceMsDefault * 1_000_000,
	}
}

// calcDeltaFair weights real time into virtual time: delta × NICE_0_LOAD / weight.
func calcDeltaFair(delta, weight uint64) uint64 {
	if weight == nice0Load {
		return delta
	}
	return delta/weight*nice0Load + delta%weight*nice0Load/weight
}

// period is sched_period: the latency, stretched once more tasks wait
// than fit in it at the minimum granularity.
func (s *Scheduler) period(nr int) uint64 {
	if nr > s.tun.nrLatency {
		return uint64(nr) * s.tun.minGran
	}
	return s.tun.latency
}

// slice is sched_slice: a task's share of the period by weight.
func (s *Scheduler) slice(rq *runqueue, t *Task) uint64 {
	load, nr := rq.fairLoad()
	if load == 0 {
		return s.tun.latency
	}
	return s.period(nr) * t.se.weight / load
}

// updateCurr charges the time since the CPU's clock to what it ran: the
// current task (its runtime, vruntime, burst and utime or stime, and the
// CPU's user, nice or system time), or idle (iowait while a task it ran
// waits for I/O).
func (s *Scheduler) updateCurr(rq *runqueue, now uint64) {
	if now <= rq.clock {
		return
	}
	delta := now - rq.clock
	rq.clock = now
	if rq.offline {
		return // an offline CPU's time counts nowhere
	}
	if delta = rq.payIRQDebt(delta); delta == 0 {
		return
	}
	t := rq.curr
	if t == nil {
		if rq.nrIOWait > 0 {
			rq.times.charge(TimeIOWait, delta)
		} else {
			rq.times.charge(TimeIdle, delta)
		}
		return
	}
	t.se.sumExec += delta
	if !t.Policy.IsRT() {
		t.se.vruntime += calcDeltaFair(delta, t.se.weight)
	}
	if t.Policy == SchedRR {
		t.se.rrLeft -= min(delta, t.se.rrLeft)
	}
	if t.run.burstLeft != forever {
		t.run.burstLeft -= min(delta, t.run.burstLeft)
	}
	sp := t.proc.profile.SystemPPM
	if t.IsKthread() {
		sp = ppm
	}
	// Split delta by the system share without overflow: whole millionths first.
	num := delta%ppm*sp + t.run.sysCarry
	sys := delta/ppm*sp + num/ppm
	t.run.sysCarry = num % ppm
	t.Stime += sys
	t.Utime += delta - sys
	switch {
	case t.softirqThread:
		rq.times.charge(TimeSoftIRQ, sys)
	default:
		rq.times.charge(TimeSystem, sys)
	}
	if t.Nice > 0 {
		rq.times.charge(TimeNice, delta-sys)
	} else {
		rq.times.charge(TimeUser, delta-sys)
	}
	rq.updateMinVruntime()
}

// schedule picks what the CPU runs next (__schedule): the current task
// goes back in the queue if it is still runnable, and the best waiting
// task, perhaps the same, gets the CPU.
func (s *Scheduler) schedule(rq *runqueue, now uint64) {
	s.updateCurr(rq, now)
	prev := rq.curr
	switch {
	case prev == nil:
	case prev.State == Running:
		s.seq++
		rq.enqueue(prev, s.seq)
		prev.se.queuedAt = now
	default:
		prev.rqOf = nil // it blocked, stopped or died
	}
	next := rq.pickNext()
	if next != nil {
		rq.dequeue(next)
	}
	rq.curr = next
	if next == prev {
		return
	}
	rq.nrSwitches++
	if prev != nil {
		prev.run.runGen++ // its burst-end event no longer holds
		if prev.State == Running {
			prev.NonVoluntarySwitches++
		}
	}
	if next != nil {
		next.CPU = rq.cpu
		next.se.execStart = now
		next.se.sliceStart = next.se.sumExec
		next.se.pcount++
		next.se.runDelay += now - next.se.queuedAt
		if next.run.burstLeft != forever {
			next.run.runGen++
			s.post(now+next.run.burstLeft, evBurstEnd, next, next.run.runGen)
		}
	} else {
		s.pullIdle(rq, now)
	}
}

// burstEnd puts a task that has used its burst to sleep, as a blocking
// system call does: a voluntary switch.
func (s *Scheduler) burstEnd(t *Task, now uint64) {
	rq := t.rqOf
	s.updateCurr(rq, now)
	dur, inD := t.proc.profile.nextSleep(&t.run, s.rng)
	io := &t.proc.IO
	if !t.IsKthread() {
		// The call it blocks in reads, and the burst wrote a little. A
		// kernel thread's bursts end in schedule(), not in a system call:
		// its task_io_accounting never moves.
		io.SyscR++
		io.SyscW++
		io.RChar += 512
		io.WChar += 128
	}
	var readPages uint64
	if inD && dur != forever {
		// Disk reads at about 100 MB/s while it waits for them.
		bytes := dur / 10 &^ 4095
		io.ReadBytes += bytes
		io.RChar += bytes
		readPages = bytes / 4096
	}
	s.sleep(t, rq, dur, inD, now)
	s.schedule(rq, now)
	if s.ReadHook != nil && readPages > 0 {
		// What it reads lands in the page cache; making room may reclaim,
		// and the OOM killer may pick it while it waits.
		s.current = t
		s.ReadHook(t, readPages)
		s.current = nil
	}
}

// sleep takes a task off its CPU into S, I or D until now+dur.
func (s *Scheduler) sleep(t *Task, rq *runqueue, dur uint64, inD bool, now uint64) {
	t.State = t.run.sleepState()
	if inD {
		t.State = DiskSleep
		t.iowaitOn = rq
		rq.nrIOWait++
	}
	t.VoluntarySwitches++
	if rq.curr != t {
		t.rqOf = nil
		rq.dequeue(t)
	}
	t.run.sleepGen++
	t.run.wakeAt = forever
	if dur != forever {
		t.run.wakeAt = now + dur
		s.post(t.run.wakeAt, evWake, t, t.run.sleepGen)
	}
}

// wake makes a sleeping or stopped task runnable on the CPU
// select_task_rq chooses, and lets it preempt what runs there.
func (s *Scheduler) wake(t *Task, now uint64) {
	if t.iowaitOn != nil {
		t.iowaitOn.nrIOWait--
		t.iowaitOn = nil
	}
	if t.run.exitOnWake {
		t.State = Running // it leaves D only to die
		s.exitThread(t, now)
		s.maybeFinish(t.proc, now)
		return
	}
	if t.run.stopOnWake || t.proc.stopped {
		t.State = Stopped
		t.run.stopOnWake = false
		return
	}
	t.State = Running
	t.run.burstLeft = t.proc.profile.nextBurst(s.rng)
	prevCPU := t.CPU
	rq := s.selectRQ(t)
	s.updateCurr(rq, now)
	if rq.cpu != prevCPU {
		// A wakeup onto another CPU goes through that CPU's wake list and
		// a function-call IPI (ttwu_queue_wakelist).
		s.sendIPI(rq.cpu, IPIWakeup)
	}
	s.migrateVruntime(t, rq)
	if !t.Policy.IsRT() {
		// place_entity with GENTLE_FAIR_SLEEPERS: a sleeper gets at most half a latency of credit.
		floor := rq.minVruntime - min(rq.minVruntime, s.tun.latency/2)
		t.se.vruntime = max(t.se.vruntime, floor)
	}
	s.enqueue(rq, t, now)
	s.checkPreemptWakeup(rq, t, now)
}

func (s *Scheduler) enqueue(rq *runqueue, t *Task, now uint64) {
	s.seq++
	rq.enqueue(t, s.seq)
	t.se.queuedAt = now
	t.CPU = rq.cpu
}

// migrateVruntime moves a task's vruntime from its last CPU's scale to rq's.
func (s *Scheduler) migrateVruntime(t *Task, rq *runqueue) {
	if t.CPU == rq.cpu {
		return
	}
	t.se.nrMigrations++
	if !t.Policy.IsRT() {
		from := s.cpus[t.CPU].minVruntime
		t.se.vruntime = t.se.vruntime - min(t.se.vruntime, from) + rq.minVruntime
	}
}

// selectRQ is select_task_rq: the task's last CPU if it may run there and
// it is idle, else the first idle CPU it may run on, else its last CPU,
// else the least loaded allowed one.
func (s *Scheduler) selectRQ(t *Task) *runqueue {
	allowed := s.onlineAllowed(t)
	if len(allowed) == 0 {
		// Its CPUs all went offline while it slept (select_fallback_rq).
		t.Allowed = s.onlineMask()
		allowed = t.Allowed.List()
	}
	prevOK := slices.Contains(allowed, t.CPU)
	prev := &s.cpus[t.CPU]
	if prevOK && prev.nrRunning() == 0 {
		return prev
	}
	for _, c := range allowed {
		if s.cpus[c].nrRunning() == 0 {
			return &s.cpus[c]
		}
	}
	if prevOK {
		return prev
	}
	best := allowed[0]
	for _, c := range allowed {
		if s.cpus[c].nrRunning() < s.cpus[best].nrRunning() {
			best = c
		}
	}
	return &s.cpus[best]
}

// checkPreemptWakeup lets a woken task take the CPU from the current one:
// an idle CPU runs it at once; real-time beats fair and higher real-time
// priority beats lower; among fair tasks the woken one wins when its
// vruntime is behind by more than the wakeup granularity, weighted by its
// load. SCHED_BATCH and SCHED_IDLE tasks never preempt on wakeup.
func (s *Scheduler) checkPreemptWakeup(rq *runqueue, t *Task, now uint64) {
	curr := rq.curr
	switch {
	case curr == nil:
	case t.Policy.IsRT():
		if curr.Policy.IsRT() && curr.RTPriority >= t.RTPriority {
			return
		}
	case curr.Policy.IsRT():
		return
	case curr.Policy == SchedIdle && t.Policy != SchedIdle:
	case t.Policy == SchedBatch || t.Policy == SchedIdle:
		return
	default:
		gran := calcDeltaFair(s.tun.wakeupGran, t.se.weight)
		if curr.se.vruntime <= t.se.vruntime+gran {
			return
		}
	}
	if curr != nil {
		s.sendIPI(rq.cpu, IPIReschedule)
	}
	s.schedule(rq, now)
}

// sendIPI tells the interrupt model about an IPI to cpu.
func (s *Scheduler) sendIPI(c int, kind IPI) {
	if s.IPIHook != nil {
		s.IPIHook(c, kind)
	}
}

// tickCPU is scheduler_tick's task_tick: RR rotation and CFS preemption
// of a task that has had its slice (check_preempt_tick).
func (s *Scheduler) tickCPU(rq *runqueue, now uint64) {
	s.updateCurr(rq, now)
	curr := rq.curr
	if curr == nil {
		if rq.pickNext() != nil {
			s.schedule(rq, now)
		}
		return
	}
	switch {
	case curr.Policy == SchedRR:
		if curr.se.rrLeft == 0 {
			curr.se.rrLeft = s.tun.rrTimeslice
			if len(rq.rt) > 0 && rq.rt[0].RTPriority == curr.RTPriority {
				s.schedule(rq, now) // to the back of its priority's queue
			}
		}
	case curr.Policy.IsRT():
	case len(rq.rt) > 0:
		s.schedule(rq, now)
	default:
		ideal := s.slice(rq, curr)
		ran := curr.se.sumExec - curr.se.sliceStart
		if ran > ideal {
			s.schedule(rq, now)
			return
		}
		if ran < s.tun.minGran || len(rq.fair) == 0 {
			return
		}
		if lead := rq.fair[0].se.vruntime; curr.se.vruntime > lead && curr.se.vruntime-lead > ideal {
			s.schedule(rq, now)
		}
	}
}

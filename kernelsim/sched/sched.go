package sched

import (
	"math/rand/v2"
	"slices"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/timer"
)

// Scheduler owns the tasks and the CPUs' runqueues.
type Scheduler struct {
	clk    *clock.Clock
	mem    *mm.Memory
	rng    *rand.Rand
	cpus   []runqueue
	tasks  map[int]*Task // every thread, by pid
	pids   []int         // sorted, so that every walk over tasks is deterministic
	timers *timer.Queue  // the kernel's: the scheduler posts its events there
	kinds  [nrEventKinds]timer.Kind
	seq    uint64 // orders enqueues
	tun    tunables

	pidAlloc      pidAllocator
	nextSerial    uint64
	totalForks    uint64 // "processes" in /proc/stat
	load          loadAvg
	ticksDone     uint64 // ticks already run
	lastBalanceAt uint64

	// current is the task on whose behalf the kernel is working (for the
	// OOM killer's report), nil for none.
	current *Task
	// ReadHook is told when a task's I/O wait read pages from disk, so the
	// page cache can grow by them.
	ReadHook func(t *Task, pages uint64)
	// IPIHook is told of each inter-processor interrupt the scheduler sends.
	IPIHook func(cpu int, kind IPI)
}

// IPI is a kind of inter-processor interrupt.
type IPI int

const (
	// IPIReschedule makes a CPU preempt what it runs (resched_curr).
	IPIReschedule IPI = iota
	// IPIWakeup queues a wakeup on a remote CPU's wake list, a function call.
	IPIWakeup
	// IPIFlushTLB flushes a CPU's TLB for an address space that changed.
	IPIFlushTLB
)

// Current is the task on whose behalf the kernel is allocating, if any.
func (s *Scheduler) Current() *Task { return s.current }

// SetCurrent says on whose behalf the kernel works from now; nil for none.
func (s *Scheduler) SetCurrent(t *Task) { s.current = t }

// Kick gives a kernel thread work: a sleeping one wakes with a burst of
// burstNs (or its running burst grows by it), as a wake_up of kswapd or a
// kworker does.
func (s *Scheduler) Kick(pid int, burstNs uint64) {
	t := s.tasks[pid]
	if t == nil || t.proc.exited {
		return
	}
	now := s.clk.Now()
	switch t.State {
	case Sleeping, Idle:
		t.run.sleepGen++ // its own wake comes later, as a new sleep
		s.wake(t, now)
		s.setBurst(t, burstNs, now)
	case Running:
		if t.run.burstLeft != forever {
			s.setBurst(t, t.run.burstLeft+burstNs, now)
		}
	}
}

// setBurst gives a runnable task a new burst length, moving its
// burst-end event if it is on a CPU.
func (s *Scheduler) setBurst(t *Task, burst uint64, now uint64) {
	t.run.burstLeft = burst
	if t.rqOf != nil && t.rqOf.curr == t {
		t.run.runGen++
		s.post(now+burst, evBurstEnd, t, t.run.runGen)
	}
}

// New returns a scheduler for nrCPUs CPUs with no tasks. rng is the
// kernel's random source, which workloads draw from; timers is the
// kernel's event queue, which runs the scheduler's events. The kernel's
// tick calls Tick.
func New(clk *clock.Clock, mem *mm.Memory, rng *rand.Rand, timers *timer.Queue, nrCPUs int) *Scheduler {
	s := &Scheduler{
		clk:   clk,
		mem:   mem,
		rng:   rng,
		cpus:  make([]runqueue, nrCPUs),
		tasks: make(map[int]*Task),
		tun:   newTunables(nrCPUs),
	}
	for i := range s.cpus {
		s.cpus[i].cpu = i
	}
	s.pidAlloc = pidAllocator{max: PidMaxDefault, inUse: func(pid int) bool { return s.tasks[pid] != nil }}
	s.load.nextSample = loadFreq(clk.HZ())
	s.registerEvents(timers)
	return s
}

// Tick is the scheduler tick on every CPU at time now (scheduler_tick):
// it accounts, preempts, balances, grows memory and samples the load.
func (s *Scheduler) Tick(now uint64) {
	s.ticksDone++
	for i := range s.cpus {
		if !s.cpus[i].offline {
			s.tickCPU(&s.cpus[i], now)
		}
	}
	if s.anyWaiting() { // each pull scans every CPU: skip the pass when there is nothing to pull
		for i := range s.cpus {
			if !s.cpus[i].offline {
				s.pullIdle(&s.cpus[i], now)
			}
		}
	}
	if now-s.lastBalanceAt >= balanceIntervalNs {
		s.lastBalanceAt = now
		s.balance(now)
	}
	s.growMemory(now)
	if s.ticksDone == s.load.nextSample {
		s.load.sample(uint64(s.NrRunning() + s.NrBlocked()))
		s.load.nextSample += loadFreq(s.clk.HZ())
	}
}

// SyncTo accounts every CPU's time up to now, so that what the CPUs did
// adds up to the time that passed.
func (s *Scheduler) SyncTo(now uint64) {
	for i := range s.cpus {
		s.updateCurr(&s.cpus[i], now)
	}
}

// growMemory lets processes whose profile grows take more anonymous
// memory, tick by tick. Growth that finds no free memory waits; reclaim
// and the OOM killer come with the memory-management issue.
func (s *Scheduler) growMemory(now uint64) {
	tickNs := uint64(clock.NsecPerSec / s.clk.HZ())
	defer func() { s.current = nil }()
	for _, pid := range slices.Clone(s.pids) { // the OOM killer may end tasks meanwhile
		t := s.tasks[pid]
		if t == nil {
			continue
		}
		p := t.proc
		if !t.IsLeader() || p.MM == nil || p.exited || p.profile.RSSRate == 0 || p.stopped {
			continue
		}
		s.current = t
		p.rssCarry += p.profile.RSSRate * tickNs / clock.NsecPerSec
		pages := p.rssCarry / mm.PageSize
		if pages == 0 {
			continue
		}
		if err := s.mem.GrowAnon(p.MM, pages); err != nil {
			continue
		}
		p.rssCarry -= pages * mm.PageSize
		t.MinFlt += pages // each new page is a minor fault
	}
}

// Task returns the task with this pid, or nil.
func (s *Scheduler) Task(pid int) *Task { return s.tasks[pid] }

// Pids lists the pids of all tasks, threads included, in ascending order.
// The slice must not be modified.
func (s *Scheduler) Pids() []int { return s.pids }

// Tgids lists the processes (thread group leaders) in ascending order.
func (s *Scheduler) Tgids() []int {
	var out []int
	for _, pid := range s.pids {
		if s.tasks[pid].IsLeader() {
			out = append(out, pid)
		}
	}
	return out
}

// NrThreads is the number of tasks (nr_threads).
func (s *Scheduler) NrThreads() int { return len(s.pids) }

// TotalForks is the number of forks since boot ("processes").
func (s *Scheduler) TotalForks() uint64 { return s.totalForks }

// LastPid is ns_last_pid.
func (s *Scheduler) LastPid() int { return s.pidAlloc.last }

// SetLastPid sets ns_last_pid.
func (s *Scheduler) SetLastPid(n int) error { return s.pidAlloc.setLast(n) }

// PidMax is kernel.pid_max.
func (s *Scheduler) PidMax() int { return s.pidAlloc.max }

// RRTimesliceMs is kernel.sched_rr_timeslice_ms.
func (s *Scheduler) RRTimesliceMs() int { return int(s.tun.rrTimeslice / 1_000_000) }

// SetRRTimesliceMs sets kernel.sched_rr_timeslice_ms; 0 or less restores
// the default (kernel/sched/rt.c sched_rr_handler).
func (s *Scheduler) SetRRTimesliceMs(ms int) {
	if ms <= 0 {
		ms = RRTimesliceMsDefault
	}
	s.tun.rrTimeslice = uint64(ms) * 1_000_000
}

// BaseSliceNs is sysctl_sched_base_slice as 6.6+ kernels scale it
// (0.7 ms × 1+log2(CPUs)), which /proc/PID/sched shows as se.slice.
func (s *Scheduler) BaseSliceNs() uint64 { return 700_000 * (s.tun.latency / baseLatencyNs) }

// NrCPUs is the number of CPUs.
func (s *Scheduler) NrCPUs() int { return len(s.cpus) }

// CPUTimes returns a CPU's time accounting.
func (s *Scheduler) CPUTimes(cpu int) *CPUTimes { return &s.cpus[cpu].times }

// NrSwitches is the number of context switches since boot on all CPUs ("ctxt").
func (s *Scheduler) NrSwitches() uint64 {
	var n uint64
	for i := range s.cpus {
		n += s.cpus[i].nrSwitches
	}
	return n
}

// NrRunning counts tasks in state R (nr_running).
func (s *Scheduler) NrRunning() int { return s.countState(Running) }

// NrBlocked counts tasks in uninterruptible sleep (procs_blocked).
func (s *Scheduler) NrBlocked() int { return s.countState(DiskSleep) }

func (s *Scheduler) countState(st State) int {
	n := 0
	for _, pid := range s.pids {
		if s.tasks[pid].State == st {
			n++
		}
	}
	return n
}

// LoadAvg returns avenrun: the 1, 5 and 15 minute load in fixed point.
func (s *Scheduler) LoadAvg() [3]uint64 { return s.load.avenrun }

// visitorImage is a small command-line tool's memory, like cat's.
var visitorImage = mm.Image{Text: 20 << 10, Data: 8 << 10, Libs: 1528 << 10, Heap: 132 << 10, Stack: 132 << 10,
	OtherVM: 220 << 10, RSSAnon: 112 << 10, RSSFile: 1624 << 10, ArgBytes: 16, EnvBytes: 400}

// NewVisitor makes a task that is not part of the simulation: a process
// from outside that looks at /proc and must find itself there. It is
// running, started now, is a child of init, is in no table and holds no
// memory of the machine. Its serial is zero: visitors are told apart by
// who calls.
func (s *Scheduler) NewVisitor(pid int, comm string, cmdline []string, creds Creds) *Task {
	p := &Process{Tgid: pid, PPid: 1, Pgid: pid, Sid: pid, Cmdline: cmdline, LoginUID: ^uint32(0),
		MM: mm.UnaccountedAddressSpace(visitorImage, uint64(pid)), Cgroup: "/user.slice"}
	t := &Task{
		Pid: pid, Comm: truncateComm(comm), procName: comm, Creds: creds,
		State: Running, Flags: PFRandomize, StartTime: s.clk.Now(), ExitSignal: int(SIGCHLD),
		Allowed: cpu.MaskAll(len(s.cpus)), proc: p,
	}
	t.se.weight = nice0Load
	p.threads = []*Task{t}
	return t
}

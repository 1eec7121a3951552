package sched

import (
	"fmt"
	"slices"
	"strings"
	"syscall"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/mm"
)

// Errors the life cycle returns, with their errnos.
var (
	ErrNoProcess     = errno.New(syscall.ESRCH, "no such process")
	ErrInvalidSignal = errno.New(syscall.EINVAL, "invalid signal")
)

// Spec describes a process to create, as fork and exec would make it.
type Spec struct {
	Comm    string
	Cmdline []string
	Environ []string
	Exe     string
	PPid    int
	Creds   Creds
	Flags   uint32
	Nice    int
	Policy  Policy
	// RTPriority is the real-time priority (1..99) of FIFO and RR tasks.
	RTPriority int
	// Allowed are the CPUs it may run on; empty means all.
	Allowed cpu.Mask
	// NewSession makes the process a session and process-group leader (setsid).
	NewSession bool
	TTY        uint32
	MM         *mm.AddressSpace
	// Threads is the number of threads, the main one included (at least 1).
	Threads int
	// IdleWorker shows I rather than S while it waits (kernel workers, TASK_IDLE).
	IdleWorker bool
	Profile    Profile
	// Ignored, Caught and Blocked set up its signal handling.
	Ignored, Caught, Blocked SigSet
	// NoReap makes it a parent that never waits for its children.
	NoReap      bool
	ExitCode    int // when its lifetime ends
	Wchan       string
	Cgroup      string
	OOMScoreAdj int
	LoginUID    uint32
	SessionID   uint32
	Fds         []OpenFile
}

// Validate checks what does not depend on the machine.
func (spec *Spec) Validate() error {
	switch {
	case spec.Comm == "":
		return errno.Errorf(syscall.EINVAL, "no comm")
	case spec.Nice < -20 || spec.Nice > 19:
		return errno.Errorf(syscall.EINVAL, "nice %d: want -20..19", spec.Nice)
	case spec.Policy.IsRT() && (spec.RTPriority < 1 || spec.RTPriority > 99):
		return errno.Errorf(syscall.EINVAL, "rt priority %d: want 1..99", spec.RTPriority)
	case !spec.Policy.IsRT() && spec.RTPriority != 0:
		return errno.Errorf(syscall.EINVAL, "rt priority %d for a policy that has none", spec.RTPriority)
	case !spec.Policy.simulated():
		return errno.Errorf(syscall.EINVAL, "policy %d is not simulated", spec.Policy)
	case spec.Threads < 0 || spec.Threads > 10000:
		return errno.Errorf(syscall.EINVAL, "threads %d: want 1..10000", spec.Threads)
	case spec.ExitCode < 0 || spec.ExitCode > 255:
		return errno.Errorf(syscall.EINVAL, "exit code %d: want 0..255", spec.ExitCode)
	}
	return spec.Profile.Validate()
}

// Spawn creates a process and its threads, runnable at once, and counts
// one fork per thread. Nothing is created if it fails.
func (s *Scheduler) Spawn(spec Spec) (*Task, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", spec.Comm, err)
	}
	var parent *Process
	if spec.PPid != 0 {
		pt := s.tasks[spec.PPid]
		if pt == nil || pt.proc.exited || !pt.IsLeader() {
			return nil, fmt.Errorf("spawn %s: parent %d: %w", spec.Comm, spec.PPid, ErrNoProcess)
		}
		parent = pt.proc
	}
	allowed := spec.Allowed.And(cpu.MaskAll(len(s.cpus)))
	if spec.Allowed.Empty() {
		allowed = cpu.MaskAll(len(s.cpus))
	}
	if !allowed.Intersects(s.onlineMask()) {
		return nil, errno.Errorf(syscall.EINVAL, "spawn %s: no allowed CPU is online", spec.Comm)
	}
	n := max(spec.Threads, 1)
	pids, err := s.pidAlloc.allocN(n)
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", spec.Comm, err)
	}
	for i := range n {
		if err := s.mem.AddKernelStack(); err != nil {
			for range i {
				s.mem.FreeKernelStack()
			}
			s.pidAlloc.last = pids[0] - 1                          // as if the fork never happened
			return nil, fmt.Errorf("spawn %s: %w", spec.Comm, err) // mm.ErrNoMemory: ENOMEM
		}
	}

	now := s.clk.Now()
	p := &Process{
		Cmdline: spec.Cmdline, Environ: spec.Environ, MM: spec.MM, TTY: spec.TTY, PPid: spec.PPid,
		Ignored: spec.Ignored, Caught: spec.Caught, NoReap: spec.NoReap,
		OOMScoreAdj: spec.OOMScoreAdj, LoginUID: spec.LoginUID, SessionID: spec.SessionID, Cgroup: spec.Cgroup, Fds: spec.Fds,
		Exe: spec.Exe, Wchan: spec.Wchan, oomScoreAdjMin: spec.OOMScoreAdj, ExitCodeAtLifetime: spec.ExitCode, profile: spec.Profile,
	}
	for i, pid := range pids {
		s.nextSerial++
		t := &Task{
			Pid: pid, Comm: truncateComm(spec.Comm), procName: spec.Comm, Creds: spec.Creds,
			Flags: spec.Flags, Policy: spec.Policy, Nice: spec.Nice, RTPriority: spec.RTPriority,
			Allowed: allowed, StartTime: now, ExitSignal: int(SIGCHLD), Blocked: spec.Blocked,
			proc: p, serial: s.nextSerial,
		}
		if i > 0 {
			t.ExitSignal = -1 // threads release themselves
		}
		if t.Policy.IsRT() {
			t.se.rrLeft = s.tun.rrTimeslice
		}
		t.se.weight = weightOf(t.Policy, t.Nice)
		t.run.idle = spec.IdleWorker
		t.CPU = allowed.First()
		if parent != nil && allowed.Has(parent.Leader().CPU) {
			t.CPU = parent.Leader().CPU // fork starts on the parent's CPU
		}
		p.threads = append(p.threads, t)
		s.addTask(t)
		s.totalForks++
	}
	p.Tgid = p.threads[0].Pid
	switch {
	case spec.NewSession || parent == nil:
		p.Pgid, p.Sid = p.Tgid, p.Tgid
	default:
		p.Pgid, p.Sid = parent.Pgid, parent.Sid
	}
	if spec.Flags&PFKthread != 0 && spec.PPid == 0 {
		p.Pgid, p.Sid = 0, 0 // kthreadd
	}
	for _, t := range p.threads {
		s.startNew(t, now)
	}
	if spec.Profile.LifetimeNs > 0 {
		s.post(now+spec.Profile.LifetimeNs, evLifetime, p.threads[0], 0)
	}
	return p.threads[0], nil
}

// startNew puts a new task on a runqueue (wake_up_new_task): its first
// vruntime is one slice behind min_vruntime (START_DEBIT), so forking
// does not buy CPU.
func (s *Scheduler) startNew(t *Task, now uint64) {
	t.State = Running
	t.run.burstLeft = t.proc.profile.nextBurst(s.rng)
	rq := s.selectRQ(t)
	s.updateCurr(rq, now)
	t.CPU = rq.cpu
	if !t.Policy.IsRT() {
		t.se.vruntime = rq.minVruntime + calcDeltaFair(s.slice(rq, t), t.se.weight)
	}
	s.enqueue(rq, t, now)
	s.checkPreemptWakeup(rq, t, now)
}

func (s *Scheduler) addTask(t *Task) {
	s.tasks[t.Pid] = t
	i, _ := slices.BinarySearch(s.pids, t.Pid)
	s.pids = slices.Insert(s.pids, i, t.Pid)
}

func (s *Scheduler) removeTask(t *Task) {
	delete(s.tasks, t.Pid)
	if i, ok := slices.BinarySearch(s.pids, t.Pid); ok {
		s.pids = slices.Delete(s.pids, i, i+1)
	}
	s.mem.FreeKernelStack()
}

// BurnPids forks and reaps n short-lived processes, as boot scripts and
// udev workers do: pids and the fork count move on, nothing stays.
func (s *Scheduler) BurnPids(n int) error {
	for range n {
		if _, err := s.pidAlloc.alloc(); err != nil {
			return err
		}
		s.totalForks++
	}
	return nil
}

// truncateComm cuts a name to TASK_COMM_LEN-1 bytes, as set_task_comm does.
func truncateComm(s string) string {
	if len(s) > 15 {
		return s[:15]
	}
	return s
}

// Exec replaces a process's program (fs/exec.c): the other threads die
// (de_thread), caught signals go back to their default action while
// ignored ones stay ignored, and the name, arguments and executable are
// the new program's.
func (s *Scheduler) Exec(pid int, exe string, cmdline []string) error {
	t := s.tasks[pid]
	if t == nil || t.proc.exited || t.IsKthread() {
		return fmt.Errorf("exec in %d: %w", pid, ErrNoProcess)
	}
	if len(cmdline) == 0 {
		return errno.Errorf(syscall.EINVAL, "exec with no arguments")
	}
	p := t.proc
	now := s.clk.Now()
	for _, th := range slices.Clone(p.threads[1:]) {
		s.exitThread(th, now)
	}
	comm := exe[strings.LastIndexByte(exe, '/')+1:]
	leader := p.threads[0]
	leader.Comm, leader.procName = truncateComm(comm), comm
	p.Cmdline, p.Exe, p.Caught = cmdline, exe, 0
	return nil
}

// offCPU takes a task off its runqueue or out of its sleep, whatever it
// was doing. A task that is running stays its CPU's current task, charged
// up to now, until the caller has changed its state and calls schedule on
// the runqueue offCPU returns.
func (s *Scheduler) offCPU(t *Task, now uint64) *runqueue {
	t.run.sleepGen++ // cancel a pending wake
	t.run.runGen++   // and a pending burst end
	if t.iowaitOn != nil {
		t.iowaitOn.nrIOWait--
		t.iowaitOn = nil
	}
	rq := t.rqOf
	if rq == nil {
		return nil
	}
	if rq.curr == t {
		s.updateCurr(rq, now)
		t.VoluntarySwitches++
		return rq
	}
	t.rqOf = nil
	rq.dequeue(t)
	return nil
}

// exitThread ends one thread (do_exit). A thread other than the leader is
// released at once; the leader stays as the process's zombie.
func (s *Scheduler) exitThread(t *Task, now uint64) {
	rq := s.offCPU(t, now)
	t.State = Dead
	t.Flags |= PFExiting
	p := t.proc
	if !t.IsLeader() {
		p.deadUtime += t.Utime
		p.deadStime += t.Stime
		p.threads = slices.DeleteFunc(p.threads, func(o *Task) bool { return o == t })
		s.removeTask(t)
	}
	if rq != nil {
		s.schedule(rq, now)
	}
}

// flushTLBs is the shootdown of tearing down a process's address space
// (exit_mmap): every other CPU its threads last ran on holds its
// translations and gets a TLB flush IPI.
func (s *Scheduler) flushTLBs(p *Process) {
	if p.MM == nil || len(p.threads) < 2 {
		return
	}
	var cpus cpu.Mask
	for _, t := range p.threads[1:] {
		if t.CPU != p.threads[0].CPU {
			cpus.Set(t.CPU)
		}
	}
	for _, c := range cpus.List() {
		s.sendIPI(c, IPIFlushTLB)
	}
}

// exitGroup ends every thread of a process with a wait status (do_group_exit).
// Threads in D die when their I/O completes.
func (s *Scheduler) exitGroup(p *Process, status int, now uint64) {
	if p.exited {
		return
	}
	p.threads[0].ExitCode = status
	s.flushTLBs(p)
	for _, t := range slices.Clone(p.threads) {
		switch t.State {
		case Dead:
		case DiskSleep:
			t.run.exitOnWake = true
		default:
			s.exitThread(t, now)
		}
	}
	s.maybeFinish(p, now)
}

// maybeFinish turns a process whose threads have all exited into a zombie
// (exit_notify): its memory goes, its children go to init, and its parent
// is told. A parent that ignores SIGCHLD gets no zombie; one that waits
// reaps it at once; one that never waits keeps it.
func (s *Scheduler) maybeFinish(p *Process, now uint64) {
	if p.exited {
		return
	}
	for _, t := range p.threads {
		if t.State != Dead {
			return
		}
	}
	p.exited = true
	leader := p.threads[0]
	leader.State = Zombie
	if p.MM != nil {
		s.mem.ReleaseAddressSpace(p.MM)
		p.MM = nil
	}
	s.reparentChildren(p, now)
	parent := s.processOf(p.PPid)
	switch {
	case parent == nil:
		s.reap(p)
	case parent.Ignored.Has(SIGCHLD):
		s.reap(p) // SIG_IGN for SIGCHLD: the kernel reaps (do_notify_parent)
	default:
		s.sendSignal(parent, SIGCHLD, now) // pending if blocked, else handled or ignored
		if !parent.NoReap && !parent.stopped {
			s.reap(p) // the parent waits: the zombie is gone at once
		}
	}
}

// processOf finds a live process by tgid.
func (s *Scheduler) processOf(tgid int) *Process {
	if t := s.tasks[tgid]; t != nil && t.IsLeader() && !t.proc.exited {
		return t.proc
	}
	return nil
}

// reap releases a zombie (release_task after wait): its pid is free again
// and its times add to the parent's.
func (s *Scheduler) reap(p *Process) {
	leader := p.threads[0]
	if parent := s.processOf(p.PPid); parent != nil {
		u, st := p.Times()
		parent.Cutime += u + p.Cutime
		parent.Cstime += st + p.Cstime
		mi, ma := p.Faults()
		parent.CMinFlt += mi + p.CMinFlt
		parent.CMajFlt += ma + p.CMajFlt
	}
	leader.State = Dead
	p.threads = nil
	p.deadUtime, p.deadStime = 0, 0
	s.removeTask(leader)
}

// reparentChildren hands a dying process's children to init, which reaps
// the zombies among them (forget_original_parent).
func (s *Scheduler) reparentChildren(p *Process, now uint64) {
	var zombies []*Process
	for _, pid := range slices.Clone(s.pids) {
		t := s.tasks[pid]
		if t == nil || !t.IsLeader() || t.proc.PPid != p.Tgid || t.proc == p {
			continue
		}
		t.proc.PPid = 1
		if t.proc.exited {
			zombies = append(zombies, t.proc)
		}
	}
	for _, z := range zombies {
		s.reap(z)
	}
}

// Children lists the tgids of a process's live and zombie children.
func (s *Scheduler) Children(tgid int) []int {
	var out []int
	for _, pid := range s.pids {
		t := s.tasks[pid]
		if t.IsLeader() && t.proc.PPid == tgid && t.proc.Tgid != tgid {
			out = append(out, pid)
		}
	}
	return out
}

// PlaceNew is the CPU the first thread of a process forked now from ppid
// and allowed on allowed would start on, as Spawn and wake_up_new_task
// place it, or -1 if it could start nowhere: its image is faulted in
// there, so its memory comes from that CPU's node.
func (s *Scheduler) PlaceNew(allowed cpu.Mask, ppid int) int {
	all := cpu.MaskAll(len(s.cpus))
	t := &Task{Allowed: allowed.And(all)}
	if allowed.Empty() {
		t.Allowed = all
	}
	if !t.Allowed.Intersects(s.onlineMask()) {
		return -1
	}
	t.CPU = t.Allowed.First()
	if pt := s.tasks[ppid]; pt != nil && !pt.proc.exited && t.Allowed.Has(pt.proc.Leader().CPU) {
		t.CPU = pt.proc.Leader().CPU
	}
	return s.selectRQ(t).cpu
}

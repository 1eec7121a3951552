// Package sched holds the simulated tasks and the CPUs they run on: the
// task table and pid allocation, processes and threads with their life
// cycle and signals, per-CPU runqueues with the CFS and real-time
// scheduling classes, load balancing, CPU time accounting
// (kernel/sched/cputime.c) and the load average (kernel/sched/loadavg.c).
//
// Time moves by events on the kernel's timer queue: a task's CPU burst
// ends, a sleeper wakes, a lifetime runs out; and by the scheduler tick
// at CONFIG_HZ, which the kernel's tick calls to preempt, balance and
// sample the load. Between events a CPU runs its current task, so CPU
// time is charged exactly, in ns.
package sched

import (
	"fmt"
	"syscall"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/mm"
)

// State is a task's state letter as /proc prints it (fs/proc/array.c task_state_array).
type State byte

const (
	Running     State = 'R'
	Sleeping    State = 'S'
	DiskSleep   State = 'D'
	Stopped     State = 'T'
	TracingStop State = 't'
	Dead        State = 'X'
	Zombie      State = 'Z'
	Parked      State = 'P'
	Idle        State = 'I'
)

// Name is the state as /proc/PID/status prints it, e.g. "S (sleeping)".
func (s State) Name() string {
	switch s {
	case Running:
		return "R (running)"
	case Sleeping:
		return "S (sleeping)"
	case DiskSleep:
		return "D (disk sleep)"
	case Stopped:
		return "T (stopped)"
	case TracingStop:
		return "t (tracing stop)"
	case Dead:
		return "X (dead)"
	case Zombie:
		return "Z (zombie)"
	case Parked:
		return "P (parked)"
	case Idle:
		return "I (idle)"
	}
	return "? (unknown)"
}

// Task flags (include/linux/sched.h PF_*), as /proc/PID/stat field 9 shows them.
const (
	PFIdle          = 0x00000002
	PFExiting       = 0x00000004
	PFWQWorker      = 0x00000020
	PFForkNoExec    = 0x00000040
	PFSuperPriv     = 0x00000100
	PFSignaled      = 0x00000400
	PFNoFreeze      = 0x00008000
	PFKthread       = 0x00200000
	PFRandomize     = 0x00400000
	PFNoSetAffinity = 0x04000000
)

// Policy is a scheduling policy (include/uapi/linux/sched.h).
type Policy int

const (
	SchedNormal Policy = iota
	SchedFIFO
	SchedRR
	SchedBatch
	_
	SchedIdle
	SchedDeadline
)

// simulated says whether the scheduler runs tasks of this policy;
// SCHED_DEADLINE it does not.
func (p Policy) simulated() bool {
	switch p {
	case SchedNormal, SchedFIFO, SchedRR, SchedBatch, SchedIdle:
		return true
	}
	return false
}

// IsRT says whether the policy is a real-time one.
func (p Policy) IsRT() bool { return p == SchedFIFO || p == SchedRR }

// Creds are a task's credentials (struct cred).
type Creds struct {
	Uid, Euid, Suid, Fsuid uint32
	Gid, Egid, Sgid, Fsgid uint32
	Groups                 []uint32
}

// RootCreds are uid and gid 0 everywhere.
var RootCreds = Creds{}

// UserCreds are the credentials of a plain user and group.
func UserCreds(uid, gid uint32) Creds {
	return Creds{Uid: uid, Euid: uid, Suid: uid, Fsuid: uid, Gid: gid, Egid: gid, Sgid: gid, Fsgid: gid}
}

// Task is one schedulable thread (task_struct). What the threads of a
// process share is in its Process.
type Task struct {
	Pid   int
	Comm  string // at most 15 bytes (TASK_COMM_LEN 16 with the NUL)
	Creds Creds
	State State
	Flags uint32

	Policy     Policy
	Nice       int
	RTPriority int
	CPU        int      // the CPU it runs or last ran on
	Allowed    cpu.Mask // cpus_allowed
	StartTime  uint64   // ns since boot

	Utime, Stime         uint64 // ns
	MinFlt, MajFlt       uint64
	VoluntarySwitches    uint64
	NonVoluntarySwitches uint64

	// Pending holds signals sent to this thread; Blocked those it blocks.
	Pending, Blocked SigSet
	// ExitSignal is sent to the parent when the process ends (SIGCHLD for
	// processes, 0 for kthreadd, -1 for threads).
	ExitSignal int
	ExitCode   int // the wait status once dead

	proc     *Process
	procName string // the full name of a kernel thread, which /proc shows beyond TASK_COMM_LEN
	serial   uint64 // tells two tasks that had the same pid apart

	se   entity    // scheduling state
	run  behaviour // what it does when it runs
	rqOf *runqueue // the runqueue it is queued on or running on, nil while not runnable
	// iowaitOn is the runqueue whose iowait count this task adds to while in D.
	iowaitOn *runqueue
	// softirqThread marks a ksoftirqd, whose time is its CPU's softirq time.
	softirqThread bool
}

// Process is what the threads of one process share: the thread group,
// its memory, signal handlers and the family tree (signal_struct, sighand,
// mm and the group's pids).
type Process struct {
	Tgid    int
	PPid    int // the parent process's tgid
	Pgid    int
	Sid     int
	TTY     uint32 // tty_nr: major<<8 | minor, 0 for none
	Cmdline []string
	Environ []string
	MM      *mm.AddressSpace // nil for kernel threads and once exited

	// Ignored and Caught are the signal dispositions; the rest are default.
	Ignored, Caught SigSet
	// SharedPending holds signals sent to the process as a whole.
	SharedPending SigSet
	// NoReap marks a parent that never calls wait: its children stay zombies.
	NoReap bool

	Cutime, Cstime     uint64 // ns of reaped children
	CMinFlt, CMajFlt   uint64
	OOMScoreAdj        int
	LoginUID           uint32
	SessionID          uint32 // audit session, (uint32)-1 for none
	Fds                []OpenFile
	IO                 IOCounters
	Cgroup             string
	Exe                string // the executable's path, "" for kernel threads
	Wchan              string // where its threads sleep
	ExitCodeAtLifetime int

	threads            []*Task // live threads and, once dead, the leader as zombie
	deadUtime          uint64  // ns of threads that exited
	deadStime          uint64
	stopped            bool // group-stopped by a stop signal
	profile            Profile
	rssCarry           uint64 // bytes of growth not yet a whole page
	oomScoreAdjMin     int    // oom_score_adj_min: how low an unprivileged write may go
	exited             bool
	lifetimeEventArmed bool
}

// OpenFile is an entry of a process's file table.
type OpenFile struct {
	Fd    int
	Path  string // what /proc/PID/fd/N points to: a path, socket:[N], pipe:[N], anon_inode:[...]
	Flags int    // open(2) flags, as fdinfo prints them in octal
	Inode uint64
}

// IOCounters is the I/O accounting /proc/PID/io shows (struct task_io_accounting).
type IOCounters struct {
	RChar, WChar, SyscR, SyscW            uint64
	ReadBytes, WriteBytes, CancelledWrite uint64
}

// Process returns the task's thread group.
func (t *Task) Process() *Process { return t.proc }

// Tgid is the thread group id (getpid()).
func (t *Task) Tgid() int { return t.proc.Tgid }

// IsLeader says whether the task is its process's main thread.
func (t *Task) IsLeader() bool { return t.Pid == t.proc.Tgid }

// Serial is unique per task over the kernel's life; views use it to tell a
// reused pid from the task that had it before.
func (t *Task) Serial() uint64 { return t.serial }

// IsKthread says whether the task is a kernel thread.
func (t *Task) IsKthread() bool { return t.Flags&PFKthread != 0 }

// ProcName is the name /proc shows in stat, status and comm: kernel
// threads show their full name beyond TASK_COMM_LEN (fs/proc/array.c
// proc_task_name: get_kthread_comm, and wq_worker_comm for workers).
func (t *Task) ProcName() string {
	if t.Flags&PFKthread != 0 {
		return t.procName
	}
	return t.Comm
}

// Priority is the kernel-internal priority /proc/PID/stat shows: nice+20 for
// normal tasks, -1-rt_priority for real-time ones (task_prio).
func (t *Task) Priority() int {
	if t.Policy.IsRT() {
		return -1 - t.RTPriority
	}
	return t.Nice + 20
}

// Weight is the task's CFS load weight.
func (t *Task) Weight() uint64 { return t.se.weight }

// Sched is what /proc/PID/sched and schedstat show of a task.
type SchedInfo struct {
	Vruntime, SumExecRuntime, ExecStart uint64
	NrMigrations                        uint64
	RunDelay, Pcount                    uint64
}

// SchedInfo returns the task's scheduling statistics.
func (t *Task) SchedInfo() SchedInfo {
	return SchedInfo{
		Vruntime: t.se.vruntime, SumExecRuntime: t.se.sumExec, ExecStart: t.se.execStart,
		NrMigrations: t.se.nrMigrations, RunDelay: t.se.runDelay, Pcount: t.se.pcount,
	}
}

// Threads returns the process's threads, leader first. The slice must not be modified.
func (p *Process) Threads() []*Task { return p.threads }

// Leader is the main thread.
func (p *Process) Leader() *Task { return p.threads[0] }

// Times sums the CPU time of the live and dead threads (ns).
func (p *Process) Times() (utime, stime uint64) {
	utime, stime = p.deadUtime, p.deadStime
	for _, t := range p.threads {
		utime += t.Utime
		stime += t.Stime
	}
	return utime, stime
}

// Faults sums the page faults of the threads.
func (p *Process) Faults() (minflt, majflt uint64) {
	for _, t := range p.threads {
		minflt += t.MinFlt
		majflt += t.MajFlt
	}
	return minflt, majflt
}

// Exited says whether the process has ended (it may still be a zombie).
func (p *Process) Exited() bool { return p.exited }

// Profile is the process's workload.
func (p *Process) Profile() Profile { return p.profile }

// The range of oom_score_adj (include/uapi/linux/oom.h).
const (
	OOMScoreAdjMin = -1000
	OOMScoreAdjMax = 1000
)

// ErrNotPermitted is an action that needs privilege the caller lacks.
var ErrNotPermitted = errno.New(syscall.EACCES, "not permitted without privilege")

// SetOOMScoreAdj sets oom_score_adj for the whole process
// (fs/proc/base.c __set_oom_adj): -1000..1000; going below the floor
// needs CAP_SYS_RESOURCE, and a privileged write sets the floor.
func (p *Process) SetOOMScoreAdj(n int, privileged bool) error {
	if n < OOMScoreAdjMin || n > OOMScoreAdjMax {
		return errno.Errorf(syscall.EINVAL, "oom_score_adj %d: want %d..%d", n, OOMScoreAdjMin, OOMScoreAdjMax)
	}
	if n < p.oomScoreAdjMin && !privileged {
		return fmt.Errorf("oom_score_adj %d below %d: %w", n, p.oomScoreAdjMin, ErrNotPermitted)
	}
	p.OOMScoreAdj = n
	if privileged {
		p.oomScoreAdjMin = n
	}
	return nil
}

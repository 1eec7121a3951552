// Package sched holds the simulated tasks and the CPUs they run on: the
// task table, pid allocation, the tick that charges CPU time, per-CPU time
// accounting (kernel/sched/cputime.c) and the load average
// (kernel/sched/loadavg.c).
//
// The scheduler here is a placeholder: each task wants a share of one CPU
// and a CPU runs the runnable task that is owed the most time. The
// processes-and-scheduler issue replaces it with CFS and RT classes.
package sched

import "ksim/kernelsim/mm"

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
	PFWQWorker      = 0x00000020
	PFForkNoExec    = 0x00000040
	PFSuperPriv     = 0x00000100
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

// Task is one schedulable entity (task_struct). Threads of a process share Tgid and MM.
type Task struct {
	Pid, Tgid  int
	PPid       int
	Pgid, Sid  int
	TTY        uint32 // tty_nr: major<<8 | minor, 0 for none
	Comm       string // at most 15 bytes (TASK_COMM_LEN 16 with the NUL)
	Cmdline    []string
	Creds      Creds
	State      State
	Flags      uint32
	Policy     Policy
	Nice       int
	RTPriority int
	CPU        int  // the CPU it runs or last ran on
	Bound      bool // may run on CPU only (a per-CPU kernel thread)
	StartTime  uint64
	MM         *mm.AddressSpace // nil for kernel threads
	// ExitSignal is sent to the parent on exit (SIGCHLD, 17, for processes).
	ExitSignal int

	Utime, Stime         uint64 // ns
	MinFlt, MajFlt       uint64
	VoluntarySwitches    uint64
	NonVoluntarySwitches uint64

	load workload
	// procName is the full name a kernel thread was given.
	procName string
	// serial tells two tasks that had the same pid apart.
	serial uint64
}

// Serial is unique per task over the kernel's life; views use it to tell a
// reused pid from the task that had it before.
func (t *Task) Serial() uint64 { return t.serial }

// ProcName is the name /proc shows in stat, status and comm: kernel
// threads show their full name beyond TASK_COMM_LEN (fs/proc/array.c
// proc_task_name: get_kthread_comm, and wq_worker_comm for workers).
func (t *Task) ProcName() string {
	if t.Flags&PFKthread != 0 {
		return t.procName
	}
	return t.Comm
}

// IsKthread says whether the task is a kernel thread.
func (t *Task) IsKthread() bool { return t.Flags&PFKthread != 0 }

// Priority is the kernel-internal priority /proc/PID/stat shows: nice+20 for
// normal tasks, -1-rt_priority for real-time ones (task_prio).
func (t *Task) Priority() int {
	if t.Policy == SchedFIFO || t.Policy == SchedRR {
		return -1 - t.RTPriority
	}
	return t.Nice + 20
}

// workload is what the placeholder scheduler knows of a task's demand.
type workload struct {
	sharePPM      uint64 // wanted CPU time, parts per million of one CPU
	systemPPM     uint64 // of the time it runs, the part spent in the kernel
	wakeupsPerSec uint64 // wakeups too short to be charged a tick
	owed          uint64 // accumulated demand in ppm-ticks
	systemOwed    uint64
	wakeupsOwed   uint64 // in wakeups × HZ
	idleState     State  // what the task shows while it does not want the CPU
}

// wantsCPU says whether the task is owed at least a tick of CPU time now.
func (w *workload) wantsCPU() bool { return w.owed >= ppm }

// runnable says whether the task will want the CPU at the next tick: it
// is on a runqueue (state R) between ticks.
func (w *workload) runnable() bool { return w.owed+w.sharePPM >= ppm }

const ppm = 1_000_000

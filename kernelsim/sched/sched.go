package sched

import (
	"fmt"
	"slices"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/mm"
)

// cpuRunState is what one CPU is doing and has done.
type cpuRunState struct {
	curr       *Task // nil while idle
	times      CPUTimes
	nrSwitches uint64
}

// Scheduler owns the task table and the CPUs' time.
type Scheduler struct {
	clk   *clock.Clock
	mem   *mm.Memory
	cpus  []cpuRunState
	tasks map[int]*Task
	pids  []int // sorted, so that every walk over tasks is deterministic

	pidAlloc   pidAllocator
	nextSerial uint64
	totalForks uint64 // "processes" in /proc/stat
	load       loadAvg
	ticksDone  uint64 // ticks already run
}

// New returns a scheduler for nrCPUs CPUs with no tasks.
func New(clk *clock.Clock, mem *mm.Memory, nrCPUs int) *Scheduler {
	s := &Scheduler{
		clk:   clk,
		mem:   mem,
		cpus:  make([]cpuRunState, nrCPUs),
		tasks: make(map[int]*Task),
	}
	s.pidAlloc = pidAllocator{max: PidMaxDefault, inUse: func(pid int) bool { return s.tasks[pid] != nil }}
	s.load.nextSample = loadFreq(clk.HZ())
	return s
}

// Spec describes a task to create.
type Spec struct {
	Comm    string
	Cmdline []string
	PPid    int
	Creds   Creds
	Flags   uint32
	Nice    int
	Policy  Policy
	// RTPriority is the real-time priority (1..99) of FIFO and RR tasks.
	RTPriority int
	// CPU pins the task to one CPU (per-CPU kthreads); -1 lets the
	// scheduler place it on the least loaded CPU.
	CPU int
	// NewSession makes the task a session and process-group leader (setsid).
	NewSession bool
	TTY        uint32
	MM         *mm.AddressSpace
	// IdleState is the state the task shows while it does not want the CPU:
	// Sleeping, or Idle for idle kernel workers.
	IdleState State
	// SharePPM is the CPU the task wants, in parts per million of one CPU;
	// SystemPPM the part of its run time spent in the kernel.
	SharePPM, SystemPPM uint64
	// WakeupsPerSec are short wakeups too brief to be charged a tick; each
	// is two context switches.
	WakeupsPerSec uint64
}

// Spawn creates a task as fork followed by exec would, and counts the fork.
func (s *Scheduler) Spawn(spec Spec) (*Task, error) {
	parent := s.tasks[spec.PPid]
	if spec.PPid != 0 && parent == nil {
		return nil, fmt.Errorf("spawn %s: parent %d does not exist", spec.Comm, spec.PPid)
	}
	if spec.CPU >= len(s.cpus) {
		return nil, fmt.Errorf("spawn %s: cpu %d does not exist", spec.Comm, spec.CPU)
	}
	if err := s.mem.AddKernelStack(); err != nil {
		return nil, fmt.Errorf("spawn %s: %w", spec.Comm, err)
	}
	pid, err := s.pidAlloc.alloc()
	if err != nil {
		s.mem.FreeKernelStack()
		return nil, fmt.Errorf("spawn %s: %w", spec.Comm, err)
	}
	s.nextSerial++
	t := &Task{
		Pid: pid, Tgid: pid, PPid: spec.PPid,
		Comm:       truncateComm(spec.Comm),
		procName:   spec.Comm,
		Cmdline:    spec.Cmdline,
		Creds:      spec.Creds,
		State:      spec.IdleState,
		Flags:      spec.Flags,
		Nice:       spec.Nice,
		Policy:     spec.Policy,
		RTPriority: spec.RTPriority,
		TTY:        spec.TTY,
		MM:         spec.MM,
		StartTime:  s.clk.Now(),
		ExitSignal: 17, // SIGCHLD
		load:       workload{sharePPM: spec.SharePPM, systemPPM: spec.SystemPPM, wakeupsPerSec: spec.WakeupsPerSec},
		serial:     s.nextSerial,
	}
	if t.State == 0 {
		t.State = Sleeping
	}
	t.load.idleState = t.State
	switch {
	case spec.NewSession:
		t.Pgid, t.Sid = pid, pid
	case parent != nil:
		t.Pgid, t.Sid = parent.Pgid, parent.Sid
	}
	t.CPU, t.Bound = spec.CPU, spec.CPU >= 0
	if t.CPU < 0 {
		t.CPU = s.leastLoadedCPU()
	}
	s.tasks[pid] = t
	i, _ := slices.BinarySearch(s.pids, pid)
	s.pids = slices.Insert(s.pids, i, pid)
	s.totalForks++
	return t, nil
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

func (s *Scheduler) leastLoadedCPU() int {
	loads := make([]uint64, len(s.cpus))
	for _, pid := range s.pids {
		t := s.tasks[pid]
		loads[t.CPU] += t.load.sharePPM
	}
	best := 0
	for cpu, l := range loads {
		if l < loads[best] {
			best = cpu
		}
	}
	return best
}

// truncateComm cuts a name to TASK_COMM_LEN-1 bytes, as set_task_comm does.
func truncateComm(s string) string {
	if len(s) > 15 {
		return s[:15]
	}
	return s
}

// Task returns the task with this pid, or nil.
func (s *Scheduler) Task(pid int) *Task { return s.tasks[pid] }

// Pids lists live pids in ascending order. The slice must not be modified.
func (s *Scheduler) Pids() []int { return s.pids }

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

// SetPidMax sets kernel.pid_max.
func (s *Scheduler) SetPidMax(n int) error { return s.pidAlloc.setMax(n) }

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

// NrBlocked counts tasks in uninterruptible sleep (nr_iowait in /proc/stat's procs_blocked).
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
	return &Task{
		Pid: pid, Tgid: pid, PPid: 1, Pgid: pid, Sid: pid,
		Comm: truncateComm(comm), procName: comm, Cmdline: cmdline, Creds: creds,
		State: Running, Flags: PFRandomize, StartTime: s.clk.Now(), ExitSignal: 17,
		MM: mm.UnaccountedAddressSpace(visitorImage, uint64(pid)),
	}
}

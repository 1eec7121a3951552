package procfs

import (
	"bytes"
	"fmt"
	"math/bits"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
)

// rlimInfinity is RLIM_INFINITY as an unsigned long.
const rlimInfinity = ^uint64(0)

// maxNumNodes is MAX_NUMNODES (CONFIG_NODES_SHIFT 10) for Mems_allowed's width.
const maxNumNodes = 1024

// clockT converts ns to USER_HZ ticks (nsec_to_clock_t).
func clockT(ns uint64) uint64 { return ns / clock.NsecPerUserTick }

// permitted says whether the caller may look into a task
// (ptrace_may_access with PTRACE_MODE_READ_FSCREDS): root, or its owner.
func permitted(c *kernfs.Caller, t *sched.Task) bool {
	return c.IsRoot() || c.Uid == t.Creds.Euid
}

// ttyForegroundPgrp is tpgid: the foreground process group of the task's
// terminal; a session leader's shell owns its terminal's foreground.
func ttyForegroundPgrp(p *sched.Process) int {
	if p.TTY == 0 {
		return -1
	}
	return p.Pgid
}

// sigIgnored is the ignored-signal mask: kernel threads ignore everything.
func sigIgnored(t *sched.Task) sched.SigSet {
	if t.IsKthread() {
		return sched.AllSignals
	}
	return t.Process().Ignored
}

// taskTimes is a task's or, for /proc/PID, its whole process's CPU time and faults.
func taskTimes(d *taskDirNode) (utime, stime, minflt, majflt uint64) {
	t := d.t
	if d.thread {
		return t.Utime, t.Stime, t.MinFlt, t.MajFlt
	}
	utime, stime = t.Process().Times()
	minflt, majflt = t.Process().Faults()
	return utime, stime, minflt, majflt
}

// taskStat prints /proc/PID/stat as fs/proc/array.c do_task_stat does:
// 52 fields separated by single spaces; the name in parentheses may
// itself contain spaces and parentheses.
func taskStat(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	t := d.t
	p := t.Process()
	allowed := permitted(c, t)
	as := p.MM
	utime, stime, minflt, majflt := taskTimes(d)
	fmt.Fprintf(b, "%d (%s) %c", t.Pid, t.ProcName(), t.State)
	putInt(b, " ", int64(p.PPid))
	putInt(b, " ", int64(p.Pgid))
	putInt(b, " ", int64(p.Sid))
	putInt(b, " ", int64(p.TTY))
	putInt(b, " ", int64(ttyForegroundPgrp(p)))
	putUint(b, " ", uint64(t.Flags))
	putUint(b, " ", minflt)
	putUint(b, " ", p.CMinFlt)
	putUint(b, " ", majflt)
	putUint(b, " ", p.CMajFlt)
	putUint(b, " ", clockT(utime))
	putUint(b, " ", clockT(stime))
	putInt(b, " ", int64(clockT(p.Cutime)))
	putInt(b, " ", int64(clockT(p.Cstime)))
	putInt(b, " ", int64(t.Priority()))
	putInt(b, " ", int64(t.Nice))
	putInt(b, " ", int64(max(len(p.Threads()), 1)))
	putInt(b, " ", 0) // itrealvalue
	putUint(b, " ", clockT(t.StartTime))
	var vsize, rss uint64
	if as != nil {
		vsize, rss = as.TotalVM()*mm.PageSize, as.RSS()
	}
	putUint(b, " ", vsize)
	putInt(b, " ", int64(rss))
	putUint(b, " ", rlimInfinity) // rsslim
	switch {
	case as == nil:
		b.WriteString(" 0 0 0")
	case allowed:
		putUint(b, " ", as.StartCode)
		putUint(b, " ", as.EndCode)
		putUint(b, " ", as.StartStack)
	default:
		b.WriteString(" 1 1 0")
	}
	b.WriteString(" 0 0") // kstkesp, kstkeip: only shown for a dying task
	putUint(b, " ", uint64(t.Pending)&0x7fffffff)
	putUint(b, " ", uint64(t.Blocked)&0x7fffffff)
	putUint(b, " ", uint64(sigIgnored(t))&0x7fffffff)
	putUint(b, " ", uint64(p.Caught)&0x7fffffff)
	if t.State == sched.Running || t.State == sched.Zombie || t.State == sched.Dead {
		b.WriteString(" 0") // wchan: whether the task sleeps somewhere
	} else {
		b.WriteString(" 1")
	}
	b.WriteString(" 0 0") // nswap, cnswap
	putInt(b, " ", int64(t.ExitSignal))
	putInt(b, " ", int64(t.CPU))
	putUint(b, " ", uint64(t.RTPriority))
	putUint(b, " ", uint64(t.Policy))
	b.WriteString(" 0 0 0") // delayacct_blkio_ticks, guest_time, cguest_time
	if as != nil && allowed {
		for _, a := range []uint64{as.StartData, as.EndData, as.StartBrk, as.ArgStart, as.ArgEnd, as.EnvStart, as.EnvEnd} {
			putUint(b, " ", a)
		}
	} else {
		b.WriteString(" 0 0 0 0 0 0 0")
	}
	if allowed {
		putInt(b, " ", int64(t.ExitCode))
	} else {
		b.WriteString(" 0")
	}
	b.WriteByte('\n')
	return nil
}

// taskStatm prints /proc/PID/statm (fs/proc/task_mmu.c task_statm): size,
// resident, shared, text, lib (0), data, dt (0), in pages.
func taskStatm(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	as := d.t.Process().MM
	if as == nil {
		b.WriteString("0 0 0 0 0 0 0\n")
		return nil
	}
	fmt.Fprintf(b, "%d %d %d %d 0 %d 0\n", as.TotalVM(), as.RSS(), as.RSSFile()+as.RSSShmem(),
		as.TextPages(), as.DataVM()+as.StackVM())
	return nil
}

// taskCmdline prints the arguments, each ended by a NUL; kernel threads
// and zombies have none.
func taskCmdline(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	p := d.t.Process()
	if p.MM == nil {
		return nil
	}
	for _, a := range p.Cmdline {
		b.WriteString(a)
		b.WriteByte(0)
	}
	return nil
}

// taskEnviron prints the environment, NUL-separated; only for those who
// may look into the task (mm_access). A task without an mm, a kernel
// thread or a zombie, fails the open with ESRCH: environ_open ->
// __mem_open, whose proc_mem_open finds no mm before it checks access.
func taskEnviron(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	p := d.t.Process()
	if p.MM == nil {
		return syscall.ESRCH
	}
	if !permitted(c, d.t) {
		return syscall.EACCES
	}
	for _, e := range p.Environ {
		b.WriteString(e)
		b.WriteByte(0)
	}
	return nil
}

// taskComm prints the task's name and a newline.
func taskComm(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	b.WriteString(d.t.ProcName())
	b.WriteByte('\n')
	return nil
}

// setComm is fs/proc/base.c comm_write: only the task's own thread group
// may rename it, so every simulated task refuses with EINVAL.
func setComm(*kernelsim.Machine, *kernfs.Caller, *sched.Task, string) error { return syscall.EINVAL }

// taskStatus prints /proc/PID/status as fs/proc/array.c proc_pid_status
// does on 6.18 x86_64: "Key:" and a tab before every value.
func taskStatus(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	t := d.t
	p := t.Process()
	cr := t.Creds
	fmt.Fprintf(b, "Name:\t%s\n", t.ProcName())
	// get_task_umask reads the task's fs_struct: 0022 for everyone here,
	// kernel threads included (they share init_fs); a zombie has left its
	// fs_struct in exit_fs, so the line goes.
	if t.State != sched.Zombie && t.State != sched.Dead {
		b.WriteString("Umask:\t0022\n")
	}
	fmt.Fprintf(b, "State:\t%s\n", t.State.Name())
	fmt.Fprintf(b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", p.Tgid, t.Pid, p.PPid)
	fmt.Fprintf(b, "Uid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\n",
		cr.Uid, cr.Euid, cr.Suid, cr.Fsuid, cr.Gid, cr.Egid, cr.Sgid, cr.Fsgid)
	fdSize := 64
	if p.MM != nil {
		fdSize = 256
	}
	fmt.Fprintf(b, "FDSize:\t%d\nGroups:\t", fdSize)
	for i, g := range cr.Groups {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(b, "%d", g)
	}
	b.WriteString(" \n") // "Trailing space shouldn't have been added in the first place."
	fmt.Fprintf(b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", p.Tgid, t.Pid, p.Pgid, p.Sid)
	if t.IsKthread() {
		b.WriteString("Kthread:\t1\n")
	} else {
		b.WriteString("Kthread:\t0\n")
	}
	if as := p.MM; as != nil {
		kb := func(label string, pages uint64) { fmt.Fprintf(b, "%s:\t%8d kB\n", label, pages*mm.PageSize>>10) }
		kb("VmPeak", as.HiwaterVM())
		kb("VmSize", as.TotalVM())
		kb("VmLck", 0)
		kb("VmPin", 0)
		kb("VmHWM", as.HiwaterRSS())
		kb("VmRSS", as.RSS())
		kb("RssAnon", as.RSSAnon())
		kb("RssFile", as.RSSFile())
		kb("RssShmem", as.RSSShmem())
		kb("VmData", as.DataVM())
		kb("VmStk", as.StackVM())
		kb("VmExe", as.TextPages())
		kb("VmLib", as.ExecVM()-as.TextPages())
		fmt.Fprintf(b, "VmPTE:\t%8d kB\n", as.PageTableBytes()>>10)
		kb("VmSwap", 0)
		kb("HugetlbPages", 0)
		b.WriteString("CoreDumping:\t0\nTHP_enabled:\t1\nuntag_mask:\t0xffffffffffffffff\n")
	}
	pending := t.Pending | p.SharedPending
	fmt.Fprintf(b, "Threads:\t%d\nSigQ:\t%d/%d\n", max(len(p.Threads()), 1), bits.OnesCount64(uint64(pending)),
		sigQueueLimit(m.Mem.TotalPages()))
	fmt.Fprintf(b, "SigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		uint64(t.Pending), uint64(p.SharedPending), uint64(t.Blocked), uint64(sigIgnored(t)), uint64(p.Caught))
	capPrm, capBnd := uint64(0), uint64(capFull)
	if cr.Euid == 0 {
		capPrm = capFull
	}
	fmt.Fprintf(b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
		0, capPrm, capPrm, capBnd, 0)
	b.WriteString("NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n")
	b.WriteString("Speculation_Store_Bypass:\tthread vulnerable\nSpeculationIndirectBranch:\tconditional enabled\n")
	allowed := t.Allowed.List()
	fmt.Fprintf(b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n",
		cpu.FormatMask(allowed, m.CPUs.Possible()), cpu.FormatList(allowed))
	// The root cpuset's mems: every node with memory (cpuset_mems_allowed).
	nodes := seqList(m.CPUs.Nodes())
	fmt.Fprintf(b, "Mems_allowed:\t%s\nMems_allowed_list:\t%s\n", cpu.FormatMask(nodes, maxNumNodes), cpu.FormatList(nodes))
	fmt.Fprintf(b, "voluntary_ctxt_switches:\t%d\nnonvoluntary_ctxt_switches:\t%d\n",
		t.VoluntarySwitches, t.NonVoluntarySwitches)
	return nil
}

// capFull is every capability up to CAP_CHECKPOINT_RESTORE (40).
const capFull = 1<<41 - 1

// sigQueueLimit is RLIMIT_SIGPENDING's default, max_threads/2
// (kernel/fork.c: max_threads is an eighth of memory in thread-sized units).
func sigQueueLimit(totalPages uint64) uint64 {
	maxThreads := totalPages * mm.PageSize / (8 * mm.ThreadSize)
	return maxThreads / 2
}

// seqList is 0, 1, ... n-1.
func seqList(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

package procfs

import (
	"bytes"
	"fmt"

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

// permitted says whether the caller may see a task's memory layout
// (ptrace_may_access with PTRACE_MODE_READ_FSCREDS): root, or the owner.
func permitted(c *kernfs.Caller, t *sched.Task) bool {
	return c.IsRoot() || c.Uid == t.Creds.Euid
}

// ttyForegroundPgrp is tpgid: the foreground process group of the task's
// terminal; a session leader's shell owns its terminal's foreground.
func ttyForegroundPgrp(t *sched.Task) int {
	if t.TTY == 0 {
		return -1
	}
	return t.Pgid
}

// sigIgnored is the ignored-signal mask: kernel threads ignore everything.
func sigIgnored(t *sched.Task) uint64 {
	if t.IsKthread() {
		return ^uint64(0)
	}
	return 0
}

// taskStat prints /proc/PID/stat as fs/proc/array.c do_task_stat does:
// 52 fields separated by single spaces; the name in parentheses may
// itself contain spaces and parentheses.
func (v *view) taskStat(b *bytes.Buffer, c *kernfs.Caller, t *sched.Task) {
	allowed := permitted(c, t)
	as := t.MM
	fmt.Fprintf(b, "%d (%s) %c", t.Pid, t.ProcName(), t.State)
	putInt(b, " ", int64(t.PPid))
	putInt(b, " ", int64(t.Pgid))
	putInt(b, " ", int64(t.Sid))
	putInt(b, " ", int64(t.TTY))
	putInt(b, " ", int64(ttyForegroundPgrp(t)))
	putUint(b, " ", uint64(t.Flags))
	putUint(b, " ", t.MinFlt)
	putUint(b, " ", 0) // cminflt
	putUint(b, " ", t.MajFlt)
	putUint(b, " ", 0) // cmajflt
	putUint(b, " ", clockT(t.Utime))
	putUint(b, " ", clockT(t.Stime))
	putInt(b, " ", 0) // cutime
	putInt(b, " ", 0) // cstime
	putInt(b, " ", int64(t.Priority()))
	putInt(b, " ", int64(t.Nice))
	putInt(b, " ", 1) // num_threads
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
	putUint(b, " ", 0)    // pending signals
	putUint(b, " ", 0)    // blocked
	putUint(b, " ", sigIgnored(t)&0x7fffffff)
	putUint(b, " ", 0) // caught
	if t.State == sched.Running {
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
	b.WriteString(" 0\n") // exit_code
}

// taskStatm prints /proc/PID/statm (fs/proc/task_mmu.c task_statm): size,
// resident, shared, text, lib (0), data, dt (0), in pages.
func (v *view) taskStatm(b *bytes.Buffer, _ *kernfs.Caller, t *sched.Task) {
	as := t.MM
	if as == nil {
		b.WriteString("0 0 0 0 0 0 0\n")
		return
	}
	fmt.Fprintf(b, "%d %d %d %d 0 %d 0\n", as.TotalVM(), as.RSS(), as.RSSFile()+as.RSSShmem(),
		as.TextPages(), as.DataVM()+as.StackVM())
}

// taskCmdline prints the arguments, each ended by a NUL; kernel threads have none.
func (v *view) taskCmdline(b *bytes.Buffer, _ *kernfs.Caller, t *sched.Task) {
	for _, a := range t.Cmdline {
		b.WriteString(a)
		b.WriteByte(0)
	}
}

// taskComm prints the task's name and a newline.
func (v *view) taskComm(b *bytes.Buffer, _ *kernfs.Caller, t *sched.Task) {
	b.WriteString(t.ProcName())
	b.WriteByte('\n')
}

// taskStatus prints /proc/PID/status as fs/proc/array.c proc_pid_status
// does on 6.18 x86_64: "Key:" and a tab before every value.
func (v *view) taskStatus(b *bytes.Buffer, _ *kernfs.Caller, t *sched.Task) {
	cr := t.Creds
	umask := "0022"
	if t.IsKthread() {
		umask = "0000"
	}
	fmt.Fprintf(b, "Name:\t%s\nUmask:\t%s\nState:\t%s\n", t.ProcName(), umask, t.State.Name())
	fmt.Fprintf(b, "Tgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\n", t.Tgid, t.Pid, t.PPid)
	fmt.Fprintf(b, "Uid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\n",
		cr.Uid, cr.Euid, cr.Suid, cr.Fsuid, cr.Gid, cr.Egid, cr.Sgid, cr.Fsgid)
	fdSize := 64
	if t.MM != nil {
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
	fmt.Fprintf(b, "NStgid:\t%d\nNSpid:\t%d\nNSpgid:\t%d\nNSsid:\t%d\n", t.Tgid, t.Pid, t.Pgid, t.Sid)
	if t.IsKthread() {
		b.WriteString("Kthread:\t1\n")
	} else {
		b.WriteString("Kthread:\t0\n")
	}
	if as := t.MM; as != nil {
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
	fmt.Fprintf(b, "Threads:\t1\nSigQ:\t0/%d\n", sigQueueLimit(v.k.Mem.TotalPages()))
	fmt.Fprintf(b, "SigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n",
		0, 0, 0, sigIgnored(t), 0)
	capPrm, capBnd := uint64(0), uint64(capFull)
	if cr.Euid == 0 {
		capPrm = capFull
	}
	fmt.Fprintf(b, "CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\n",
		0, capPrm, capPrm, capBnd, 0)
	b.WriteString("NoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n")
	b.WriteString("Speculation_Store_Bypass:\tthread vulnerable\nSpeculationIndirectBranch:\tconditional enabled\n")
	online := v.k.CPUs.OnlineList()
	fmt.Fprintf(b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n",
		cpu.FormatMask(allowedCPUs(t, online), v.k.CPUs.Possible()), cpu.FormatList(allowedCPUs(t, online)))
	fmt.Fprintf(b, "Mems_allowed:\t%s\nMems_allowed_list:\t0\n", cpu.FormatMask([]int{0}, maxNumNodes))
	fmt.Fprintf(b, "voluntary_ctxt_switches:\t%d\nnonvoluntary_ctxt_switches:\t%d\n",
		t.VoluntarySwitches, t.NonVoluntarySwitches)
}

// capFull is every capability up to CAP_CHECKPOINT_RESTORE (40).
const capFull = 1<<41 - 1

// allowedCPUs is the task's affinity: its one CPU for a bound task (a
// per-CPU kernel thread), every online CPU otherwise.
func allowedCPUs(t *sched.Task, online []int) []int {
	if t.Bound {
		return []int{t.CPU}
	}
	return online
}

// sigQueueLimit is RLIMIT_SIGPENDING's default, max_threads/2
// (kernel/fork.c: max_threads is an eighth of memory in thread-sized units).
func sigQueueLimit(totalPages uint64) uint64 {
	maxThreads := totalPages * mm.PageSize / (8 * mm.ThreadSize)
	return maxThreads / 2
}

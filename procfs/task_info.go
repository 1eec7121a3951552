package procfs

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/parse"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
)

// taskPersonality prints the execution domain (fs/proc/base.c
// proc_pid_personality): only to one that may trace the task, else EPERM.
func taskPersonality(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	if !permitted(c, d.t) {
		return syscall.EPERM
	}
	b.WriteString("00000000\n") // PER_LINUX
	return nil
}

// rlimit is one row of /proc/PID/limits; a value of rlimInfinity prints "unlimited".
type rlimit struct {
	name       string
	soft, hard uint64
	unit       string
}

// taskLimits prints the resource limits as fs/proc/base.c proc_pid_limits
// does: the defaults of init_task, with those systemd sets for services.
func taskLimits(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	inf := rlimInfinity
	nproc := sigQueueLimit(m.Mem.TotalPages())
	nofileSoft, nofileHard := uint64(1024), uint64(524288)
	if d.t.IsKthread() {
		nofileHard = 4096
	}
	rows := []rlimit{
		{"Max cpu time", inf, inf, "seconds"},
		{"Max file size", inf, inf, "bytes"},
		{"Max data size", inf, inf, "bytes"},
		{"Max stack size", 8 << 20, inf, "bytes"},
		{"Max core file size", 0, inf, "bytes"},
		{"Max resident set", inf, inf, "bytes"},
		{"Max processes", nproc, nproc, "processes"},
		{"Max open files", nofileSoft, nofileHard, "files"},
		{"Max locked memory", 8 << 20, 8 << 20, "bytes"},
		{"Max address space", inf, inf, "bytes"},
		{"Max file locks", inf, inf, "locks"},
		{"Max pending signals", nproc, nproc, "signals"},
		{"Max msgqueue size", 819200, 819200, "bytes"},
		{"Max nice priority", 0, 0, ""},
		{"Max realtime priority", 0, 0, ""},
		{"Max realtime timeout", inf, inf, "us"},
	}
	lim := func(n uint64) string {
		if n == rlimInfinity {
			return "unlimited"
		}
		return strconv.FormatUint(n, 10)
	}
	fmt.Fprintf(b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units")
	for _, r := range rows {
		fmt.Fprintf(b, "%-25s %-20s %-20s ", r.name, lim(r.soft), lim(r.hard))
		if r.unit != "" {
			fmt.Fprintf(b, "%-10s", r.unit)
		}
		b.WriteByte('\n')
	}
	return nil
}

// splitNs prints a kernel/sched/debug.c __PN line, "%-45s:%14Ld.%06ld"
// of SPLIT_NS: ms and ns in the 21 columns a plain __P value takes.
func splitNs(b *bytes.Buffer, name string, ns uint64) {
	fmt.Fprintf(b, "%-45s:%14d.%06d\n", name, ns/1_000_000, ns%1_000_000)
}

// schedLine prints a kernel/sched/debug.c __P line, "%-45s:%21Ld".
func schedLine(b *bytes.Buffer, name string, n int64) {
	fmt.Fprintf(b, "%-45s:%21d\n", name, n)
}

// loadAvgMax is LOAD_AVG_MAX, the ceiling of the PELT sums.
const loadAvgMax = 47742

// taskSched prints /proc/PID/sched as kernel/sched/debug.c
// proc_sched_show_task does on 6.18. The PELT averages are the task's
// long-run share of a CPU.
func taskSched(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	t := d.t
	si := t.SchedInfo()
	fmt.Fprintf(b, "%s (%d, #threads: %d)\n", t.ProcName(), t.Pid, max(len(t.Process().Threads()), 1))
	b.WriteString(strings.Repeat("-", 67) + "\n")
	splitNs(b, "se.exec_start", si.ExecStart)
	splitNs(b, "se.vruntime", si.Vruntime)
	splitNs(b, "se.sum_exec_runtime", si.SumExecRuntime)
	schedLine(b, "se.nr_migrations", int64(si.NrMigrations))
	schedLine(b, "nr_switches", int64(t.VoluntarySwitches+t.NonVoluntarySwitches))
	schedLine(b, "nr_voluntary_switches", int64(t.VoluntarySwitches))
	schedLine(b, "nr_involuntary_switches", int64(t.NonVoluntarySwitches))
	weight := t.Weight()
	if weight == 0 {
		weight = 1024
	}
	schedLine(b, "se.load.weight", int64(weight<<10)) // scale_load on 64-bit
	age := m.Clock.Now() - t.StartTime
	util := uint64(0)
	if age > 0 {
		util = min(si.SumExecRuntime*1024/age, 1024)
	}
	schedLine(b, "se.avg.load_sum", int64(util*loadAvgMax/1024))
	schedLine(b, "se.avg.runnable_sum", int64(util*loadAvgMax))
	schedLine(b, "se.avg.util_sum", int64(util*loadAvgMax))
	schedLine(b, "se.avg.load_avg", int64(util*weight/1024))
	schedLine(b, "se.avg.runnable_avg", int64(util))
	schedLine(b, "se.avg.util_avg", int64(util))
	schedLine(b, "se.avg.last_update_time", int64(si.ExecStart&^1023))
	schedLine(b, "se.avg.util_est", int64(util))
	schedLine(b, "policy", int64(t.Policy))
	prio := int64(120 + t.Nice)
	if t.Policy.IsRT() {
		prio = int64(99 - t.RTPriority)
	}
	schedLine(b, "prio", prio)
	schedLine(b, "se.slice", int64(m.Sched.BaseSliceNs()))
	schedLine(b, "clock-delta", 70)
	if t.Process().MM != nil {
		schedLine(b, "mm->numa_scan_seq", 0)
	}
	schedLine(b, "numa_pages_migrated", 0)
	schedLine(b, "numa_preferred_nid", -1)
	schedLine(b, "total_numa_faults", 0)
	b.WriteString("current_node=0, numa_group_id=0\n")
	b.WriteString("numa_faults node=0 task_private=0 task_shared=0 group_private=0 group_shared=0\n")
	return nil
}

// resetSchedStats takes a write to /proc/PID/sched, which resets the
// statistics only with schedstats on; here it changes nothing.
func resetSchedStats(*kernelsim.Machine, *kernfs.Caller, *sched.Task, string) error { return nil }

// taskSchedstat prints sum_exec_runtime, run_delay and pcount (ns, ns, count).
func taskSchedstat(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	si := d.t.SchedInfo()
	fmt.Fprintf(b, "%d %d %d\n", si.SumExecRuntime, si.RunDelay, si.Pcount)
	return nil
}

// taskChildren prints the pids of the children, each followed by a space
// (fs/proc/array.c children_seq_show), from the thread that forked them:
// the main thread here.
func taskChildren(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	if !d.t.IsLeader() {
		return nil
	}
	for _, pid := range m.Sched.Children(d.t.Pid) {
		fmt.Fprintf(b, "%d ", pid)
	}
	return nil
}

// mapsNameColumn is where the path of a mapping starts in maps
// (fs/proc/task_mmu.c: seq_setwidth 25 + sizeof(void *) * 6 - 1, then one space).
const mapsNameColumn = 73

// taskMaps prints the mappings (fs/proc/task_mmu.c show_map_vma), then
// the gate page, to one who may look into the task; a task without an mm
// has none (proc_maps_open lets a NULL mm through, before any access check).
func taskMaps(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	as := d.t.Process().MM
	if as == nil {
		return nil
	}
	if !permitted(c, d.t) {
		return syscall.EACCES
	}
	for _, vma := range as.VMAs() {
		mapsLine(b, vma)
	}
	mapsLine(b, gateVMA)
	return nil
}

func taskCwd(_ *kernelsim.Machine, c *kernfs.Caller, t *sched.Task) (string, error) {
	if !permitted(c, t) {
		return "", syscall.EACCES
	}
	if t.Process().LoginUID == 0 {
		return "/root", nil
	}
	return "/", nil
}

func taskRoot(_ *kernelsim.Machine, c *kernfs.Caller, t *sched.Task) (string, error) {
	if !permitted(c, t) {
		return "", syscall.EACCES
	}
	return "/", nil
}

// taskExe is the executable; kernel threads and zombies have none.
func taskExe(_ *kernelsim.Machine, c *kernfs.Caller, t *sched.Task) (string, error) {
	if !permitted(c, t) {
		return "", syscall.EACCES
	}
	p := t.Process()
	if p.MM == nil || p.Exe == "" {
		return "", syscall.ENOENT
	}
	return p.Exe, nil
}

// taskWchan prints where a sleeping task waits, or "0" while it runs or
// to one who may not look (fs/proc/base.c proc_pid_wchan); no newline.
func taskWchan(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	w := wchanOf(d.t)
	if w == "" || !permitted(c, d.t) {
		w = "0"
	}
	b.WriteString(w)
	return nil
}

// wchanOf is the function a task sleeps in, or "" when it does not sleep.
func wchanOf(t *sched.Task) string {
	switch t.State {
	case sched.Running, sched.Zombie, sched.Dead:
		return ""
	case sched.Stopped:
		return "do_signal_stop"
	case sched.DiskSleep:
		return "io_schedule"
	}
	if w := t.Process().Wchan; w != "" {
		return w
	}
	return "do_nanosleep"
}

// taskStack prints the kernel stack of a sleeping task: only root may
// read it (fs/proc/base.c proc_pid_stack wants CAP_SYS_ADMIN).
func taskStack(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	if !c.IsRoot() {
		return syscall.EACCES
	}
	w := wchanOf(d.t)
	if w == "" {
		return nil
	}
	frames := []string{w}
	switch {
	case d.t.IsKthread() && d.t.Process().PPid == 0:
		// kthreadd: rest_init starts it with kernel_thread, so
		// ret_from_fork calls its function directly.
		frames = append(frames, "ret_from_fork", "ret_from_fork_asm")
	case d.t.IsKthread():
		// kthread_create's threads run their function from kthread().
		frames = append(frames, "kthread", "ret_from_fork", "ret_from_fork_asm")
	default:
		frames = append(frames, "do_syscall_64", "entry_SYSCALL_64_after_hwframe")
	}
	for _, f := range frames {
		h := fnv.New32a()
		h.Write([]byte(f))
		size := 0x40 + h.Sum32()%0x400
		fmt.Fprintf(b, "[<0>] %s+0x%x/0x%x\n", f, size/3, size)
	}
	return nil
}

// taskCgroup prints the task's cgroup v2 membership.
func taskCgroup(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	cg := d.t.Process().Cgroup
	if cg == "" {
		cg = "/"
	}
	fmt.Fprintf(b, "0::%s\n", cg)
	return nil
}

// oomScore is fs/proc/base.c proc_oom_score: the OOM killer's badness
// (resident and swapped pages and page tables, shifted by oom_score_adj
// in thousandths of memory) scaled to 0..2000 and by 2/3; 0 for what the
// killer never picks (kernel threads, init, oom_score_adj -1000).
func oomScore(totalPages uint64, t *sched.Task) uint64 {
	p := t.Process()
	if t.IsKthread() || p.Tgid == 1 || p.OOMScoreAdj == sched.OOMScoreAdjMin || p.MM == nil {
		return 0
	}
	total := int64(totalPages)
	points := int64(p.MM.RSS()+p.MM.PageTableBytes()/mm.PageSize) + int64(p.OOMScoreAdj)*total/1000
	score := (1000 + points*1000/total) * 2 / 3
	return uint64(max(score, 0))
}

func taskOOMScore(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	fmt.Fprintf(b, "%d\n", oomScore(m.Mem.TotalPages(), d.t))
	return nil
}

func taskOOMScoreAdj(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	fmt.Fprintf(b, "%d\n", d.t.Process().OOMScoreAdj)
	return nil
}

// setOOMScoreAdj parses as oom_score_adj_write: an int in C notation,
// -1000..1000; lowering it below what it was needs CAP_SYS_RESOURCE.
func setOOMScoreAdj(_ *kernelsim.Machine, c *kernfs.Caller, t *sched.Task, s string) error {
	n, err := parse.Int32(strings.TrimSpace(s), 0) // kstrtoint(strstrip(buffer), 0)
	if err != nil {
		return err
	}
	return t.Process().SetOOMScoreAdj(n, c.IsRoot())
}

// Legacy oom_adj, -17..15, kept in step with oom_score_adj (fs/proc/base.c oom_adj_read/write).
const (
	oomDisable     = -17
	oomAdjustMax   = 15
	oomScoreAdjMax = 1000
)

func taskOOMAdj(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	adj := d.t.Process().OOMScoreAdj
	legacy := adj * -oomDisable / oomScoreAdjMax
	if adj == oomScoreAdjMax {
		legacy = oomAdjustMax
	}
	fmt.Fprintf(b, "%d\n", legacy)
	return nil
}

func setOOMAdj(_ *kernelsim.Machine, c *kernfs.Caller, t *sched.Task, s string) error {
	n, err := parse.Int32(strings.TrimSpace(s), 0) // kstrtoint(strstrip(buffer), 0)
	if err != nil {
		return err
	}
	if n < oomDisable || n > oomAdjustMax {
		return errno.Errorf(syscall.EINVAL, "oom_adj %d: want %d..%d", n, oomDisable, oomAdjustMax)
	}
	adj := n * oomScoreAdjMax / -oomDisable
	if n == oomAdjustMax {
		adj = oomScoreAdjMax
	}
	return t.Process().SetOOMScoreAdj(adj, c.IsRoot())
}

func taskLoginUID(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	fmt.Fprintf(b, "%d", d.t.Process().LoginUID)
	return nil
}

// setLoginUID is proc_loginuid_write: a decimal as kstrtouint reads it,
// then only root may set it (audit_set_loginuid, CAP_AUDIT_CONTROL).
func setLoginUID(_ *kernelsim.Machine, c *kernfs.Caller, t *sched.Task, s string) error {
	n, err := parse.Uint32(s, 10)
	if err != nil {
		return fmt.Errorf("loginuid: %w", err)
	}
	if !c.IsRoot() {
		return errno.Errorf(syscall.EPERM, "loginuid: only root may set it")
	}
	t.Process().LoginUID = n
	return nil
}

func taskSessionID(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller, d *taskDirNode) error {
	fmt.Fprintf(b, "%d", d.t.Process().SessionID)
	return nil
}

// taskIO prints the I/O accounting (fs/proc/base.c do_io_accounting) to
// one who may look into the task.
func taskIO(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	if !permitted(c, d.t) {
		return syscall.EACCES
	}
	io := d.t.Process().IO
	fmt.Fprintf(b, "rchar: %d\nwchar: %d\nsyscr: %d\nsyscw: %d\nread_bytes: %d\nwrite_bytes: %d\ncancelled_write_bytes: %d\n",
		io.RChar, io.WChar, io.SyscR, io.SyscW, io.ReadBytes, io.WriteBytes, io.CancelledWrite)
	return nil
}

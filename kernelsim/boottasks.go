package kernelsim

import (
	"fmt"
	"strings"

	"ksim/kernelsim/mm"
	"ksim/kernelsim/sched"
)

// Kernel thread flags as a 6.x kernel shows them in /proc/PID/stat.
const (
	kthreadFlags = sched.PFKthread | sched.PFNoFreeze | sched.PFForkNoExec
	workerFlags  = kthreadFlags | sched.PFWQWorker | sched.PFNoSetAffinity
	initFlags    = sched.PFRandomize | sched.PFSuperPriv
	userFlags    = sched.PFRandomize
)

// kthread is a kernel thread of the boot tree, in the order a 6.x kernel creates them.
type kthread struct {
	name     string // %d is the CPU, or the pool of an unbound worker
	perCPU   bool   // bound to that CPU
	flags    uint32
	nice     int
	policy   sched.Policy
	rtPrio   int
	idle     sched.State
	sharePPM uint64
	wakeups  uint64 // per second
}

// Kernel threads created before the secondary CPUs come up, then the per-CPU ones.
var earlyKthreads = []kthread{
	{name: "pool_workqueue_release", flags: kthreadFlags},
	{name: "kworker/R-rcu_gp", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-sync_wq", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-kvfree_rcu_reclaim", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-slub_flushwq", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-netns", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/%d:0-events", perCPU: true, flags: workerFlags, idle: sched.Idle, sharePPM: 300, wakeups: 20},
	{name: "kworker/%d:0H-events_highpri", perCPU: true, flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-mm_percpu_wq", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "rcu_tasks_kthread", flags: kthreadFlags, idle: sched.Idle},
	{name: "rcu_tasks_rude_kthread", flags: kthreadFlags, idle: sched.Idle},
	{name: "rcu_tasks_trace_kthread", flags: kthreadFlags, idle: sched.Idle},
	{name: "ksoftirqd/%d", perCPU: true, flags: kthreadFlags, sharePPM: 200, wakeups: 5},
	// The issue asks for rcu_sched; PREEMPT_RCU kernels call it rcu_preempt.
	{name: "rcu_sched", flags: kthreadFlags, idle: sched.Idle, sharePPM: 1500, wakeups: 60},
	{name: "rcu_exp_par_gp_kthread_worker/%d", perCPU: true, flags: kthreadFlags},
	{name: "rcu_exp_gp_kthread_worker", flags: kthreadFlags},
	{name: "migration/%d", perCPU: true, flags: kthreadFlags, policy: sched.SchedFIFO, rtPrio: 99, wakeups: 2},
	{name: "idle_inject/%d", perCPU: true, flags: kthreadFlags, policy: sched.SchedFIFO, rtPrio: 50},
	{name: "cpuhp/%d", perCPU: true, flags: kthreadFlags},
}

// Per-CPU threads of each secondary CPU, as smpboot creates them.
var secondaryCPUKthreads = []kthread{
	{name: "cpuhp/%d", perCPU: true, flags: kthreadFlags},
	{name: "idle_inject/%d", perCPU: true, flags: kthreadFlags, policy: sched.SchedFIFO, rtPrio: 50},
	{name: "migration/%d", perCPU: true, flags: kthreadFlags, policy: sched.SchedFIFO, rtPrio: 99, wakeups: 2},
	{name: "ksoftirqd/%d", perCPU: true, flags: kthreadFlags, sharePPM: 200, wakeups: 5},
	{name: "kworker/%d:0-events", perCPU: true, flags: workerFlags, idle: sched.Idle, sharePPM: 300, wakeups: 20},
	{name: "kworker/%d:0H-events_highpri", perCPU: true, flags: workerFlags, nice: -20, idle: sched.Idle},
}

// Kernel threads started by initcalls once all CPUs are up.
var lateKthreads = []kthread{
	{name: "kdevtmpfs", flags: kthreadFlags},
	{name: "kworker/R-inet_frag_wq", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kauditd", flags: kthreadFlags},
	{name: "khungtaskd", flags: kthreadFlags},
	{name: "oom_reaper", flags: kthreadFlags},
	{name: "kworker/R-writeback", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kcompactd0", flags: kthreadFlags},
	{name: "ksmd", flags: kthreadFlags, nice: 5},
	{name: "khugepaged", flags: kthreadFlags, nice: 19},
	{name: "kworker/R-kblockd", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-blkcg_punt_bio", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-edac-poller", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "watchdogd", flags: kthreadFlags, policy: sched.SchedFIFO, rtPrio: 50},
	{name: "kworker/u%d:0-events_unbound", flags: workerFlags, idle: sched.Idle, sharePPM: 200, wakeups: 10},
	{name: "kswapd0", flags: kthreadFlags},
	{name: "kworker/R-kthrotld", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-acpi_thermal_pm", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-mld", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-ipv6_addrconf", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-kstrp", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/u%d:1-flush-254:0", flags: workerFlags, idle: sched.Idle, sharePPM: 100, wakeups: 5},
	{name: "jbd2/vda1-8", flags: kthreadFlags, sharePPM: 50, wakeups: 1},
	{name: "kworker/R-ext4-rsv-conversion", flags: workerFlags, nice: -20, idle: sched.Idle},
}

// startKthreads creates pid 1 (kernel_init, later systemd) and pid 2
// (kthreadd) with parent 0, then kthreadd's children.
func (k *Kernel) startKthreads() error {
	init, err := k.spawnProcess(initProcess, 0)
	if err != nil {
		return err
	}
	if init.Pid != 1 {
		return fmt.Errorf("init got pid %d", init.Pid)
	}
	kthreadd, err := k.Sched.Spawn(sched.Spec{
		Comm: "kthreadd", PPid: 0, Flags: kthreadFlags, CPU: -1,
		IdleState: sched.Sleeping, SharePPM: 20,
	})
	if err != nil {
		return err
	}
	kthreadd.ExitSignal = 0 // started by kernel_thread without SIGCHLD (init/main.c rest_init)
	for _, kt := range earlyKthreads {
		if err := k.spawnKthread(kt, 0); err != nil {
			return err
		}
	}
	for cpu := 1; cpu < k.CPUs.Possible(); cpu++ {
		for _, kt := range secondaryCPUKthreads {
			if err := k.spawnKthread(kt, cpu); err != nil {
				return err
			}
		}
	}
	for _, kt := range lateKthreads {
		// Unbound workers are numbered per pool; their pool id is twice the CPUs.
		if err := k.spawnKthread(kt, 2*k.CPUs.Possible()); err != nil {
			return err
		}
	}
	return nil
}

func (k *Kernel) spawnKthread(kt kthread, cpu int) error {
	name, pin := kt.name, -1
	if strings.Contains(name, "%d") {
		name = fmt.Sprintf(name, cpu)
	}
	flags := kt.flags
	if kt.perCPU {
		pin = cpu
		flags |= sched.PFNoSetAffinity
	}
	idle := kt.idle
	if idle == 0 {
		idle = sched.Sleeping
	}
	_, err := k.Sched.Spawn(sched.Spec{
		Comm: name, PPid: 2, Flags: flags, Nice: kt.nice, Policy: kt.policy, RTPriority: kt.rtPrio,
		CPU: pin, IdleState: idle, SharePPM: kt.sharePPM, SystemPPM: 1_000_000, WakeupsPerSec: kt.wakeups,
	})
	if err != nil {
		return fmt.Errorf("kthread %s: %w", name, err)
	}
	return nil
}

// process is a userland program of the boot tree.
type process struct {
	comm       string
	cmdline    []string
	uid, gid   uint32
	parent     string // comm of the parent; "" for init
	newSession bool
	tty        uint32
	image      mm.Image
	sharePPM   uint64
	systemPPM  uint64
	wakeups    uint64
}

const (
	kiB = 1 << 10
	miB = 1 << 20
	// pts0 is /dev/pts/0: major 136, minor 0, as tty_nr encodes it.
	pts0 = 136 << 8
	tty1 = 4<<8 | 1
)

var initProcess = process{
	comm: "systemd", cmdline: []string{"/sbin/init"},
	image: mm.Image{Text: 56 * kiB, Data: 12 * kiB, Libs: 9 * miB, Heap: 2 * miB, Stack: 132 * kiB, OtherVM: 8 * miB,
		RSSAnon: 4 * miB, RSSFile: 8 * miB, ArgBytes: 11, EnvBytes: 120},
	sharePPM: 300, systemPPM: 600_000, wakeups: 2,
}

// bootProcesses are started by systemd, in the order units come up.
var bootProcesses = []process{
	{comm: "systemd-journald", cmdline: []string{"/lib/systemd/systemd-journald"}, parent: "systemd", newSession: true,
		image: mm.Image{Text: 96 * kiB, Data: 16 * kiB, Libs: 8 * miB, Heap: 1 * miB, Stack: 132 * kiB, OtherVM: 64 * miB,
			RSSAnon: 3 * miB, RSSFile: 6 * miB, RSSShmem: 8 * miB, ArgBytes: 30, EnvBytes: 300},
		sharePPM: 500, systemPPM: 500_000, wakeups: 5},
	{comm: "systemd-udevd", cmdline: []string{"/lib/systemd/systemd-udevd"}, parent: "systemd", newSession: true,
		image: mm.Image{Text: 200 * kiB, Data: 16 * kiB, Libs: 8 * miB, Heap: 2 * miB, Stack: 132 * kiB, OtherVM: 8 * miB,
			RSSAnon: 2 * miB, RSSFile: 5 * miB, ArgBytes: 27, EnvBytes: 300},
		sharePPM: 50, systemPPM: 500_000},
	{comm: "dbus-daemon", uid: 100, gid: 101, parent: "systemd", newSession: true,
		cmdline: []string{"/usr/bin/dbus-daemon", "--system", "--address=systemd:", "--nofork", "--nopidfile", "--systemd-activation", "--syslog-only"},
		image: mm.Image{Text: 160 * kiB, Data: 12 * kiB, Libs: 4 * miB, Heap: 1 * miB, Stack: 132 * kiB,
			RSSAnon: 1 * miB, RSSFile: 3 * miB, ArgBytes: 110, EnvBytes: 200},
		sharePPM: 100, systemPPM: 400_000, wakeups: 1},
	{comm: "systemd-logind", cmdline: []string{"/lib/systemd/systemd-logind"}, parent: "systemd", newSession: true,
		image: mm.Image{Text: 250 * kiB, Data: 16 * kiB, Libs: 8 * miB, Heap: 1 * miB, Stack: 132 * kiB,
			RSSAnon: 1 * miB, RSSFile: 5 * miB, ArgBytes: 28, EnvBytes: 300},
		sharePPM: 50, systemPPM: 500_000},
	{comm: "cron", cmdline: []string{"/usr/sbin/cron", "-f"}, parent: "systemd", newSession: true,
		image: mm.Image{Text: 40 * kiB, Data: 8 * kiB, Libs: 3 * miB, Heap: 256 * kiB, Stack: 132 * kiB,
			RSSAnon: 512 * kiB, RSSFile: 2 * miB, ArgBytes: 18, EnvBytes: 200},
		sharePPM: 10, systemPPM: 300_000},
	{comm: "agetty", cmdline: []string{"/sbin/agetty", "-o", "-p -- \\u", "--noclear", "-", "linux"}, parent: "systemd",
		newSession: true, tty: tty1,
		image: mm.Image{Text: 60 * kiB, Data: 8 * kiB, Libs: 3 * miB, Heap: 128 * kiB, Stack: 132 * kiB,
			RSSAnon: 256 * kiB, RSSFile: 2 * miB, ArgBytes: 44, EnvBytes: 150}},
	{comm: "sshd", cmdline: []string{"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"}, parent: "systemd", newSession: true,
		image: mm.Image{Text: 900 * kiB, Data: 24 * kiB, Libs: 6 * miB, Heap: 512 * kiB, Stack: 132 * kiB,
			RSSAnon: 1 * miB, RSSFile: 7 * miB, ArgBytes: 57, EnvBytes: 250}},
	{comm: "sshd", cmdline: []string{"sshd: root@pts/0"}, parent: "sshd", newSession: true,
		image: mm.Image{Text: 900 * kiB, Data: 24 * kiB, Libs: 7 * miB, Heap: 768 * kiB, Stack: 132 * kiB,
			RSSAnon: 2 * miB, RSSFile: 8 * miB, ArgBytes: 17, EnvBytes: 250},
		wakeups: 1},
	{comm: "bash", cmdline: []string{"-bash"}, parent: "sshd", newSession: true, tty: pts0,
		image: mm.Image{Text: 900 * kiB, Data: 48 * kiB, Libs: 4 * miB, Heap: 1 * miB, Stack: 132 * kiB,
			RSSAnon: 2 * miB, RSSFile: 3 * miB, ArgBytes: 6, EnvBytes: 600}},
}

// startUserland runs what systemd starts at boot. Short-lived helpers
// (generators, udev workers, ssh key checks) come and go first, so the
// daemons' pids are where a real boot leaves them.
func (k *Kernel) startUserland() error {
	if err := k.Sched.BurnPids(120 + k.rng.IntN(100)); err != nil {
		return err
	}
	for i, p := range bootProcesses {
		if i > 0 {
			if err := k.Sched.BurnPids(k.rng.IntN(12)); err != nil {
				return err
			}
		}
		parent := k.lastByComm(p.parent)
		if parent == 0 {
			return fmt.Errorf("%s: no parent %s", p.comm, p.parent)
		}
		if _, err := k.spawnProcess(p, parent); err != nil {
			return err
		}
		k.runTo(k.Clock.Now() + (20+k.rng.Uint64N(80))*ms)
	}
	return nil
}

// lastByComm finds the newest task with a name.
func (k *Kernel) lastByComm(comm string) int {
	pids := k.Sched.Pids()
	for i := len(pids) - 1; i >= 0; i-- {
		if k.Sched.Task(pids[i]).Comm == comm {
			return pids[i]
		}
	}
	return 0
}

func (k *Kernel) spawnProcess(p process, ppid int) (*sched.Task, error) {
	as, err := k.Mem.NewAddressSpace(p.image, k.rng)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.comm, err)
	}
	flags := uint32(userFlags)
	if p.uid == 0 {
		flags = initFlags
	}
	t, err := k.Sched.Spawn(sched.Spec{
		Comm: p.comm, Cmdline: p.cmdline, PPid: ppid, Creds: sched.UserCreds(p.uid, p.gid),
		Flags: flags, CPU: -1, NewSession: p.newSession || ppid == 0, TTY: p.tty, MM: as,
		IdleState: sched.Sleeping, SharePPM: p.sharePPM, SystemPPM: p.systemPPM, WakeupsPerSec: p.wakeups,
	})
	if err != nil {
		k.Mem.ReleaseAddressSpace(as)
		return nil, err
	}
	return t, nil
}

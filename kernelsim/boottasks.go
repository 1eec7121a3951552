package kernelsim

import (
	"fmt"
	"strings"

	"ksim/kernelsim/cpu"
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
	name     string // %d is the CPU, the NUMA node or the pool of an unbound worker
	perCPU   bool   // bound to that CPU
	perNode  bool   // one per NUMA node, on its CPUs
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
	{name: "kcompactd%d", perNode: true, flags: kthreadFlags},
	{name: "ksmd", flags: kthreadFlags, nice: 5},
	{name: "khugepaged", flags: kthreadFlags, nice: 19},
	{name: "kworker/R-kblockd", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-blkcg_punt_bio", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "kworker/R-edac-poller", flags: workerFlags, nice: -20, idle: sched.Idle},
	{name: "watchdogd", flags: kthreadFlags, policy: sched.SchedFIFO, rtPrio: 50},
	{name: "kworker/u%d:0-events_unbound", flags: workerFlags, idle: sched.Idle, sharePPM: 200, wakeups: 10},
	{name: "kswapd%d", perNode: true, flags: kthreadFlags},
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
func (m *Machine) startKthreads() error {
	init, err := m.spawnProcess(initProcess, 0)
	if err != nil {
		return err
	}
	if init.Pid != 1 {
		return fmt.Errorf("init got pid %d", init.Pid)
	}
	kthreadd, err := m.Sched.Spawn(sched.Spec{
		Comm: "kthreadd", PPid: 0, Flags: kthreadFlags, Wchan: "kthreadd", Cgroup: "/",
		Profile: sched.Profile{SharePPM: 20, BurstNs: 20_000, Bursty: true}, LoginUID: noLoginUID,
	})
	if err != nil {
		return err
	}
	kthreadd.ExitSignal = 0 // started by kernel_thread without SIGCHLD (init/main.c rest_init)
	for _, kt := range earlyKthreads {
		if err := m.spawnKthread(kt, 0); err != nil {
			return err
		}
	}
	for cpu := 1; cpu < m.CPUs.Possible(); cpu++ {
		for _, kt := range secondaryCPUKthreads {
			if err := m.spawnKthread(kt, cpu); err != nil {
				return err
			}
		}
	}
	for _, kt := range lateKthreads {
		if kt.perNode {
			for node := range m.CPUs.Nodes() {
				if err := m.spawnKthread(kt, node); err != nil {
					return err
				}
				if strings.HasPrefix(kt.name, "kswapd") {
					m.kswapdPids = append(m.kswapdPids, m.Sched.LastPid())
				}
			}
			continue
		}
		// Unbound workers are numbered per pool; their pool id is twice the CPUs.
		if err := m.spawnKthread(kt, 2*m.CPUs.Possible()); err != nil {
			return err
		}
	}
	return nil
}

// noLoginUID is the audit login uid of tasks no login started ((uid_t)-1).
const noLoginUID = ^uint32(0)

// burstFor turns a share and a wakeup rate into a mean burst: a task that
// uses share of a CPU in n wakeups a second runs share/n seconds each time.
func burstFor(sharePPM, wakeups uint64) uint64 {
	if wakeups == 0 {
		return 1_000_000
	}
	return sharePPM * 1000 / wakeups
}

// kthreadWchan is where a kernel thread waits, by the function it runs.
func kthreadWchan(name string) string {
	for _, w := range []struct{ prefix, wchan string }{
		{"kworker/R-", "rescuer_thread"}, {"kworker/", "worker_thread"},
		{"ksoftirqd/", "smpboot_thread_fn"}, {"migration/", "smpboot_thread_fn"},
		{"cpuhp/", "smpboot_thread_fn"}, {"idle_inject/", "smpboot_thread_fn"},
		{"rcu_tasks", "rcu_tasks_kthread"}, {"rcu_sched", "rcu_gp_kthread"},
		{"kswapd", "kswapd"}, {"kcompactd", "kcompactd"}, {"khugepaged", "khugepaged"},
		{"ksmd", "ksm_scan_thread"}, {"oom_reaper", "oom_reaper"}, {"khungtaskd", "watchdog"},
		{"kauditd", "kauditd_thread"}, {"kdevtmpfs", "devtmpfsd"}, {"jbd2/", "kjournald2"},
	} {
		if strings.HasPrefix(name, w.prefix) {
			return w.wchan
		}
	}
	return "kthread_worker_fn"
}

func (m *Machine) spawnKthread(kt kthread, n int) error {
	name := kt.name
	if strings.Contains(name, "%d") {
		name = fmt.Sprintf(name, n)
	}
	flags := kt.flags
	var allowed cpu.Mask
	switch {
	case kt.perCPU:
		allowed = cpu.MaskOf(n)
		flags |= sched.PFNoSetAffinity
	case kt.perNode:
		allowed = cpu.MaskOf(m.CPUs.NodeCPUs(n)...)
	}
	t, err := m.Sched.Spawn(sched.Spec{
		Comm: name, PPid: 2, Flags: flags, Nice: kt.nice, Policy: kt.policy, RTPriority: kt.rtPrio,
		Allowed: allowed, IdleWorker: kt.idle == sched.Idle, Wchan: kthreadWchan(name), Cgroup: "/",
		LoginUID: noLoginUID,
		Profile:  sched.Profile{SharePPM: kt.sharePPM, SystemPPM: 1_000_000, BurstNs: burstFor(kt.sharePPM, kt.wakeups), Bursty: true},
	})
	if err != nil {
		return fmt.Errorf("kthread %s: %w", name, err)
	}
	if kt.perCPU {
		if m.perCPUKthreads == nil {
			m.perCPUKthreads = make([][]int, m.CPUs.Possible())
			m.ksoftirqdPids = make([]int, m.CPUs.Possible())
		}
		m.perCPUKthreads[n] = append(m.perCPUKthreads[n], t.Pid)
		if strings.HasPrefix(name, "ksoftirqd/") {
			m.ksoftirqdPids[n] = t.Pid
			m.Sched.MarkSoftirqThread(t.Pid)
		}
	}
	return nil
}

// process is a userland program of the boot tree.
type process struct {
	comm, exe  string
	cmdline    []string
	uid, gid   uint32
	parent     string // comm of the parent; "" for init
	newSession bool
	tty        uint32
	image      mm.Image
	sharePPM   uint64
	systemPPM  uint64
	wakeups    uint64
	wchan      string
	cgroup     string
	ignore     string // signals it ignores and catches, as kill -l names them
	catch      string
	login      bool // started by a login: has a login uid
}

const (
	kiB = 1 << 10
	miB = 1 << 20
	// pts0 is /dev/pts/0: major 136, minor 0, as tty_nr encodes it.
	pts0 = 136 << 8
	tty1 = 4<<8 | 1
)

var initProcess = process{
	comm: "systemd", exe: "/usr/lib/systemd/systemd", cmdline: []string{"/sbin/init"},
	image: mm.Image{Text: 56 * kiB, Data: 12 * kiB, Libs: 9 * miB, Heap: 2 * miB, Stack: 132 * kiB, OtherVM: 8 * miB,
		RSSAnon: 4 * miB, RSSFile: 8 * miB, ArgBytes: 11, EnvBytes: 120},
	sharePPM: 300, systemPPM: 600_000, wakeups: 2, wchan: "do_epoll_wait", cgroup: "/init.scope",
	ignore: "PIPE", catch: "HUP,INT,USR1,USR2,TERM,CHLD,WINCH,PWR,RTMIN+1",
}

// daemonEnviron is what systemd gives the services it starts.
var daemonEnviron = []string{"LANG=C.UTF-8", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}

// bootProcesses are started by systemd, in the order units come up.
var bootProcesses = []process{
	{comm: "systemd-journald", exe: "/usr/lib/systemd/systemd-journald", cmdline: []string{"/lib/systemd/systemd-journald"},
		parent: "systemd", newSession: true,
		image: mm.Image{Text: 96 * kiB, Data: 16 * kiB, Libs: 8 * miB, Heap: 1 * miB, Stack: 132 * kiB, OtherVM: 64 * miB,
			RSSAnon: 3 * miB, RSSFile: 6 * miB, RSSShmem: 8 * miB, ArgBytes: 30, EnvBytes: 300},
		sharePPM: 500, systemPPM: 500_000, wakeups: 5, wchan: "do_epoll_wait", cgroup: "/system.slice/systemd-journald.service",
		ignore: "PIPE", catch: "INT,USR1,USR2,TERM,RTMIN+1"},
	{comm: "systemd-udevd", exe: "/usr/lib/systemd/systemd-udevd", cmdline: []string{"/lib/systemd/systemd-udevd"},
		parent: "systemd", newSession: true,
		image: mm.Image{Text: 200 * kiB, Data: 16 * kiB, Libs: 8 * miB, Heap: 2 * miB, Stack: 132 * kiB, OtherVM: 8 * miB,
			RSSAnon: 2 * miB, RSSFile: 5 * miB, ArgBytes: 27, EnvBytes: 300},
		sharePPM: 50, systemPPM: 500_000, wakeups: 1, wchan: "do_epoll_wait", cgroup: "/system.slice/systemd-udevd.service",
		catch: "HUP,INT,TERM,CHLD"},
	{comm: "dbus-daemon", exe: "/usr/bin/dbus-daemon", uid: 100, gid: 101, parent: "systemd", newSession: true,
		cmdline: []string{"/usr/bin/dbus-daemon", "--system", "--address=systemd:", "--nofork", "--nopidfile", "--systemd-activation", "--syslog-only"},
		image: mm.Image{Text: 160 * kiB, Data: 12 * kiB, Libs: 4 * miB, Heap: 1 * miB, Stack: 132 * kiB,
			RSSAnon: 1 * miB, RSSFile: 3 * miB, ArgBytes: 110, EnvBytes: 200},
		sharePPM: 100, systemPPM: 400_000, wakeups: 1, wchan: "do_epoll_wait", cgroup: "/system.slice/dbus.service",
		ignore: "PIPE", catch: "HUP,TERM"},
	{comm: "systemd-logind", exe: "/usr/lib/systemd/systemd-logind", cmdline: []string{"/lib/systemd/systemd-logind"},
		parent: "systemd", newSession: true,
		image: mm.Image{Text: 250 * kiB, Data: 16 * kiB, Libs: 8 * miB, Heap: 1 * miB, Stack: 132 * kiB,
			RSSAnon: 1 * miB, RSSFile: 5 * miB, ArgBytes: 28, EnvBytes: 300},
		sharePPM: 50, systemPPM: 500_000, wakeups: 1, wchan: "do_epoll_wait", cgroup: "/system.slice/systemd-logind.service",
		ignore: "PIPE", catch: "INT,USR1,USR2,TERM"},
	{comm: "cron", exe: "/usr/sbin/cron", cmdline: []string{"/usr/sbin/cron", "-f"}, parent: "systemd", newSession: true,
		image: mm.Image{Text: 40 * kiB, Data: 8 * kiB, Libs: 3 * miB, Heap: 256 * kiB, Stack: 132 * kiB,
			RSSAnon: 512 * kiB, RSSFile: 2 * miB, ArgBytes: 18, EnvBytes: 200},
		sharePPM: 10, systemPPM: 300_000, wchan: "hrtimer_nanosleep", cgroup: "/system.slice/cron.service", catch: "HUP,CHLD"},
	{comm: "agetty", exe: "/usr/sbin/agetty", cmdline: []string{"/sbin/agetty", "-o", "-p -- \\u", "--noclear", "-", "linux"},
		parent: "systemd", newSession: true, tty: tty1,
		image: mm.Image{Text: 60 * kiB, Data: 8 * kiB, Libs: 3 * miB, Heap: 128 * kiB, Stack: 132 * kiB,
			RSSAnon: 256 * kiB, RSSFile: 2 * miB, ArgBytes: 44, EnvBytes: 150},
		wchan: "wait_woken", cgroup: "/system.slice/system-getty.slice/getty@tty1.service", ignore: "HUP,INT,QUIT"},
	{comm: "sshd", exe: "/usr/sbin/sshd", cmdline: []string{"sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"},
		parent: "systemd", newSession: true,
		image: mm.Image{Text: 900 * kiB, Data: 24 * kiB, Libs: 6 * miB, Heap: 512 * kiB, Stack: 132 * kiB,
			RSSAnon: 1 * miB, RSSFile: 7 * miB, ArgBytes: 57, EnvBytes: 250},
		wchan: "do_sys_poll", cgroup: "/system.slice/ssh.service", ignore: "PIPE", catch: "HUP,INT,TERM,CHLD"},
	{comm: "sshd", exe: "/usr/sbin/sshd", cmdline: []string{"sshd: root@pts/0"}, parent: "sshd", newSession: true,
		image: mm.Image{Text: 900 * kiB, Data: 24 * kiB, Libs: 7 * miB, Heap: 768 * kiB, Stack: 132 * kiB,
			RSSAnon: 2 * miB, RSSFile: 8 * miB, ArgBytes: 17, EnvBytes: 250},
		wakeups: 1, wchan: "do_sys_poll", cgroup: "/user.slice/user-0.slice/session-1.scope", ignore: "PIPE",
		catch: "HUP,INT,TERM,CHLD", login: true},
	{comm: "bash", exe: "/usr/bin/bash", cmdline: []string{"-bash"}, parent: "sshd", newSession: true, tty: pts0,
		image: mm.Image{Text: 900 * kiB, Data: 48 * kiB, Libs: 4 * miB, Heap: 1 * miB, Stack: 132 * kiB,
			RSSAnon: 2 * miB, RSSFile: 3 * miB, ArgBytes: 6, EnvBytes: 600},
		wchan: "wait_woken", cgroup: "/user.slice/user-0.slice/session-1.scope",
		// An interactive shell ignores these and handles its own job control.
		ignore: "QUIT,TERM,TSTP,TTIN,TTOU", catch: "INT,CHLD,WINCH", login: true},
}

// startUserland runs what systemd starts at boot. Short-lived helpers
// (generators, udev workers, ssh key checks) come and go first, so the
// daemons' pids are where a real boot leaves them.
func (m *Machine) startUserland() error {
	if err := m.Sched.BurnPids(120 + m.rng.IntN(100)); err != nil {
		return err
	}
	for i, p := range bootProcesses {
		if i > 0 {
			if err := m.Sched.BurnPids(m.rng.IntN(12)); err != nil {
				return err
			}
		}
		parent := m.lastByComm(p.parent)
		if parent == 0 {
			return fmt.Errorf("%s: no parent %s", p.comm, p.parent)
		}
		if _, err := m.spawnProcess(p, parent); err != nil {
			return err
		}
		m.runTo(m.Clock.Now() + (20+m.rng.Uint64N(80))*ms)
	}
	return nil
}

// bootFds is a daemon's file table: standard streams on /dev/null (or its
// terminal), the journal's stream socket for services, and a listening
// socket or epoll instance where the daemon has one.
func (m *Machine) bootFds(p process) []sched.OpenFile {
	m.nextInode++
	std := "/dev/null"
	switch p.tty {
	case pts0:
		std = "/dev/pts/0"
	case tty1:
		std = "/dev/tty1"
	}
	const rdwr = 0o2 // O_RDWR; 0o100000 is O_LARGEFILE, 0o2000000 O_CLOEXEC
	fds := []sched.OpenFile{{Fd: 0, Path: std, Flags: 0o100000 | rdwr}, {Fd: 1, Path: std, Flags: 0o100000 | rdwr}, {Fd: 2, Path: std, Flags: 0o100000 | rdwr}}
	if p.tty == 0 && p.comm != "systemd" {
		sock := m.nextInode + 20000
		fds[1] = sched.OpenFile{Fd: 1, Path: fmt.Sprintf("socket:[%d]", sock), Flags: rdwr, Inode: sock}
		fds[2] = sched.OpenFile{Fd: 2, Path: fmt.Sprintf("socket:[%d]", sock), Flags: rdwr, Inode: sock}
	}
	if p.wchan == "do_epoll_wait" {
		fds = append(fds, sched.OpenFile{Fd: 3, Path: "anon_inode:[eventpoll]", Flags: 0o2000002})
	}
	if p.comm == "sshd" || p.comm == "dbus-daemon" {
		sock := m.nextInode + 30000
		fds = append(fds, sched.OpenFile{Fd: len(fds), Path: fmt.Sprintf("socket:[%d]", sock), Flags: 0o2000002, Inode: sock})
	}
	return fds
}

// lastByComm finds the newest process with a name.
func (m *Machine) lastByComm(comm string) int {
	pids := m.Sched.Tgids()
	for i := len(pids) - 1; i >= 0; i-- {
		if m.Sched.Task(pids[i]).Comm == comm {
			return pids[i]
		}
	}
	return 0
}

func (m *Machine) spawnProcess(p process, ppid int) (*sched.Task, error) {
	p.image.Path = p.exe
	as, err := m.Mem.NewAddressSpace(p.image, m.rng, mm.MemPolicy{}, m.homeNode(cpu.Mask{}, ppid))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.comm, err)
	}
	flags := uint32(userFlags)
	if p.uid == 0 {
		flags = initFlags
	}
	ignored, err := sched.ParseSigSet(p.ignore)
	if err != nil {
		return nil, err
	}
	caught, err := sched.ParseSigSet(p.catch)
	if err != nil {
		return nil, err
	}
	loginUID, sessionID := noLoginUID, noLoginUID
	if p.login {
		loginUID, sessionID = p.uid, 1
	}
	env := daemonEnviron
	if p.login {
		env = []string{"USER=root", "LOGNAME=root", "HOME=/root", "SHELL=/bin/bash", "TERM=xterm-256color",
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "SSH_TTY=/dev/pts/0"}
	}
	t, err := m.Sched.Spawn(sched.Spec{
		Comm: p.comm, Exe: p.exe, Cmdline: p.cmdline, Environ: env, PPid: ppid, Creds: sched.UserCreds(p.uid, p.gid),
		Flags: flags, NewSession: p.newSession || ppid == 0, TTY: p.tty, MM: as,
		Ignored: ignored, Caught: caught, Wchan: p.wchan, Cgroup: p.cgroup, LoginUID: loginUID, SessionID: sessionID,
		Fds:     m.bootFds(p),
		Profile: sched.Profile{SharePPM: p.sharePPM, SystemPPM: p.systemPPM, BurstNs: burstFor(p.sharePPM, p.wakeups), Bursty: true},
	})
	if err != nil {
		m.Mem.ReleaseAddressSpace(as)
		return nil, err
	}
	return t, nil
}

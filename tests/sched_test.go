package tests

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/sched"
)

// spawn writes a spawn line and returns the new process's pid.
func (m *mounted) spawn(t *testing.T, line string) int {
	t.Helper()
	require.NoError(t, m.write("sys/kernel/ksim/tasks/spawn", line+"\n"), line)
	pid, err := strconv.Atoi(strings.TrimSpace(m.read("sys/kernel/ksim/tasks/last_pid")))
	require.NoError(t, err)
	return pid
}

func (m *mounted) advance(t *testing.T, ms int) {
	t.Helper()
	require.NoError(t, m.write("sys/kernel/ksim/clock/advance_ms", fmt.Sprintf("%d\n", ms)))
}

// run runs a tool through ksim exec and requires it to succeed quietly.
func (m *mounted) run(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := m.exec(args...)
	require.NoError(t, err, "%v: %s", args, errOut)
	require.Empty(t, errOut, "%v", args)
	return out
}

func statField(t *testing.T, stat string, n int) uint64 {
	t.Helper()
	rest := strings.Fields(stat[strings.LastIndexByte(stat, ')')+2:])
	return atoi(t, rest[n-3])
}

func TestProcessToolsRunClean(t *testing.T) {
	m := mount(t, "--clock", "manual")
	pid := m.spawn(t, `comm=nginx threads=2 cpu=20% rss=50M cmdline="nginx -g daemon off;"`)
	m.advance(t, 3000)
	out := m.run(t, "ps", "-eo", "pid,ppid,stat,ni,pri,psr,rss,vsz,wchan:20,comm")
	require.Regexp(t, `\n +2 +0 .*kthreadd\n`, out)
	for _, name := range []string{"ksoftirqd/0", "ksoftirqd/3", "kswapd0", "migration/1", "rcu_sched", "nginx"} {
		require.Contains(t, out, " "+name+"\n")
	}
	require.Contains(t, m.run(t, "ps", "aux"), "nginx -g daemon off;")
	require.Contains(t, m.run(t, "ps", "-eLf"), "nginx -g daemon off;")
	require.Contains(t, m.run(t, "top", "-b", "-n1"), "nginx")
	tree := m.run(t, "pstree", "-p")
	require.Contains(t, tree, "systemd(1)")
	require.Contains(t, tree, fmt.Sprintf("nginx(%d)", pid))
	require.Equal(t, fmt.Sprintf("%d nginx\n", pid), m.run(t, "pgrep", "-l", "nginx"))
	require.Contains(t, m.run(t, "pidstat"), "nginx")
	require.Contains(t, m.run(t, "pidstat", "-t", "-w", "-d"), "nginx")
	pmap := m.run(t, "pmap", strconv.Itoa(pid))
	require.Contains(t, pmap, "nginx -g daemon off;")
	require.Contains(t, pmap, "[ stack ]")
	require.Regexp(t, ` total +\d+K\n$`, pmap)
}

// Seed 004's zombie, driven from the shell.
func TestZombieScenario(t *testing.T) {
	m := mount(t, "--clock", "manual")
	parent := m.spawn(t, "comm=a.out reap=0")
	child := m.spawn(t, fmt.Sprintf("comm=a.out ppid=%d lifetime=1s", parent))
	m.advance(t, 2000)
	ps := m.run(t, "ps", "-eo", "pid,ppid,stat,args")
	require.Regexp(t, fmt.Sprintf(`\n +%d +%d Z +\[a.out\] <defunct>\n`, child, parent), ps)
	require.NoError(t, m.write("sys/kernel/ksim/tasks/kill", fmt.Sprintf("%d 9\n", child)), "a zombie takes signals")
	require.Contains(t, m.run(t, "ps", "-eo", "pid,stat"), fmt.Sprintf("%d Z", child))

	require.NoError(t, m.write("sys/kernel/ksim/tasks/kill", fmt.Sprintf("%d SIGKILL\n", parent)))
	ps = m.run(t, "ps", "-eo", "pid,comm")
	require.NotContains(t, ps, "a.out", "init inherited the zombie and reaped it")
}

func TestThreadsAreLWPs(t *testing.T) {
	m := mount(t, "--clock", "manual")
	pid := m.spawn(t, "comm=worker threads=4 cpu=10%")
	m.advance(t, 500)
	tasks, err := readDirNames(m.path(fmt.Sprintf("proc/%d/task", pid)))
	require.NoError(t, err)
	require.Len(t, tasks, 4)
	require.Contains(t, m.read(fmt.Sprintf("proc/%d/status", pid)), "\nThreads:\t4\n")
	lwps := 0
	for _, line := range strings.Split(m.run(t, "ps", "-eLo", "pid,lwp,comm"), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[2] == "worker" {
			require.Equal(t, strconv.Itoa(pid), f[0], "one tgid")
			lwps++
		}
	}
	require.Equal(t, 4, lwps)
}

// The check: nice 0 and nice 5 hogs on one CPU share it 1024:335.
func TestNiceRatioAndJiffies(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "4")
	a := m.spawn(t, "comm=hog0 cpu=100% cpus=0 sys=0%")
	b := m.spawn(t, "comm=hog5 cpu=100% cpus=0 sys=0% nice=5")
	stat0, up0 := m.read("proc/stat"), m.read("proc/uptime")
	ua0 := statField(t, m.read(fmt.Sprintf("proc/%d/stat", a)), 14)
	ub0 := statField(t, m.read(fmt.Sprintf("proc/%d/stat", b)), 14)
	m.advance(t, 30000)
	ua := statField(t, m.read(fmt.Sprintf("proc/%d/stat", a)), 14) - ua0
	ub := statField(t, m.read(fmt.Sprintf("proc/%d/stat", b)), 14) - ub0
	require.InEpsilon(t, 1024.0/335, float64(ua)/float64(ub), 0.10, "utime %d vs %d", ua, ub)
	elapsed := uptimeHundredths(t, m.read("proc/uptime")) - uptimeHundredths(t, up0)
	require.Equal(t, uint64(3000), elapsed)
	require.Equal(t, elapsed*4, cpuSum(t, m.read("proc/stat"))-cpuSum(t, stat0))
}

func TestLoadAverageWithKnownRunners(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "4")
	la0 := strings.Fields(m.read("proc/loadavg"))
	require.Equal(t, "0.00", la0[0])
	m.spawn(t, "comm=a cpu=100%")
	m.spawn(t, "comm=b cpu=100%")
	m.advance(t, 60000)
	// Twelve samples in 60 s, two tasks always running.
	var load uint64
	for range 12 {
		load = uint64(calc(load, 2))
	}
	want := float64(load) / sched.Fixed1
	got, err := strconv.ParseFloat(strings.Fields(m.read("proc/loadavg"))[0], 64)
	require.NoError(t, err)
	require.InDelta(t, want, got, 0.05, "background tasks may add a little")
}

func calc(load uint64, active uint64) uint64 {
	a := active * sched.Fixed1
	n := load*sched.Exp1 + a*(sched.Fixed1-sched.Exp1)
	if a >= load {
		n += sched.Fixed1 - 1
	}
	return n / sched.Fixed1
}

func TestKillAndSpawnErrors(t *testing.T) {
	m := mount(t, "--clock", "manual")
	out, err := exec.Command("bash", "-c", "echo '99999 9' > "+m.path("sys/kernel/ksim/tasks/kill")).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "No such process")
	out, err = exec.Command("bash", "-c", "echo '1 NOSUCHSIG' > "+m.path("sys/kernel/ksim/tasks/kill")).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "Invalid argument")
	before := m.read("proc/loadavg")
	for _, bad := range []string{"comm=x color=red", "comm=x cpu=150%", "comm=x nice=40", "comm=x policy=deadline", "cmdline=\"unterminated"} {
		out, err = exec.Command("bash", "-c", "echo '"+bad+"' > "+m.path("sys/kernel/ksim/tasks/spawn")).CombinedOutput()
		require.Error(t, err, bad)
		require.Contains(t, string(out), "Invalid argument", bad)
	}
	require.Equal(t, before, m.read("proc/loadavg"), "nothing was created")
	require.Error(t, m.write("sys/kernel/ksim/tasks/spawn", "comm=x ppid=77777\n"))
}

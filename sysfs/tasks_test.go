package sysfs

import (
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
	"ksim/procfs"
)

func TestSplitFieldsKeepsQuotedValues(t *testing.T) {
	f, err := kernelsim.SplitFields(`comm=nginx  cmdline="nginx -g daemon off;" x="a\"b"` + "\n")
	require.NoError(t, err)
	require.Equal(t, []string{"comm=nginx", "cmdline=nginx -g daemon off;", `x=a"b`}, f)
	_, err = kernelsim.SplitFields(`cmdline="open`)
	require.ErrorIs(t, err, syscall.EINVAL)
}

func lastSpawned(m *kernelsim.Machine) int { return m.LastSpawned() }

func spawnLine(t *testing.T, d kernfs.Dir, line string) error {
	t.Helper()
	return kernfs.WriteFile(d, root, "kernel/ksim/tasks/spawn", []byte(line+"\n"))
}

func TestSpawnBuildsTheProcess(t *testing.T) {
	k, d := newTree(t, 4)
	require.NoError(t, spawnLine(t, d,
		`comm=nginx ppid=1 uid=33 threads=4 cpu=30% rss=200M rss_rate=1M/s nice=5 policy=rr prio=10 cpus=0-1 lifetime=2s reap=0 sigchld=ignore cmdline="nginx -g daemon off;"`))
	pid, err := strconv.Atoi(strings.TrimSpace(read(t, d, "kernel/ksim/tasks/last_pid")))
	require.NoError(t, err)
	k.Read(func(m *kernelsim.Machine) {
		task := m.Sched.Task(pid)
		require.NotNil(t, task)
		p := task.Process()
		require.Equal(t, "nginx", task.Comm)
		require.Equal(t, []string{"nginx", "-g", "daemon", "off;"}, p.Cmdline)
		require.Equal(t, uint32(33), task.Creds.Euid)
		require.Equal(t, uint32(33), task.Creds.Egid, "gid follows uid")
		require.Len(t, p.Threads(), 4)
		require.Equal(t, sched.SchedRR, task.Policy)
		require.Equal(t, 10, task.RTPriority)
		require.Equal(t, []int{0, 1}, task.Allowed.List())
		require.True(t, p.NoReap)
		require.True(t, p.Ignored.Has(sched.SIGCHLD))
		require.Equal(t, uint64(300_000), p.Profile().SharePPM)
		require.Equal(t, uint64(2e9), p.Profile().LifetimeNs)
		require.Greater(t, p.MM.RSSAnon()*4096, uint64(200<<20))
	})
	last, err := kernfs.ReadFile(procfs.New(k), root, "sys/kernel/ns_last_pid")
	require.NoError(t, err)
	require.Equal(t, strconv.Itoa(pid+3)+"\n", string(last), "ns_last_pid names the last thread, as in Linux")
}

func TestSpawnRefusesBadLines(t *testing.T) {
	k, d := newTree(t, 2)
	nrThreads := func(m *kernelsim.Machine) int { return m.Sched.NrThreads() }
	n := kernelsim.Get(k, nrThreads)
	for _, bad := range []string{
		"comm=x bogus=1", "comm=x cpu=101%", "comm=x cpu=30% io=80%", "comm=x nice=20", "comm=x policy=deadline",
		"comm=x prio=5", "comm=x policy=fifo prio=100", "comm=x cpus=7", "comm=x threads=0", "comm=x lifetime=0",
		"comm=x ignore=KILL", "comm=x ignore=TERM catch=TERM", "comm=x rss=lots", "nocomm", "cpu=5%",
	} {
		err := spawnLine(t, d, bad)
		require.ErrorIs(t, err, syscall.EINVAL, bad)
	}
	require.ErrorIs(t, spawnLine(t, d, "comm=x ppid=99999"), syscall.ESRCH)
	require.Equal(t, n, kernelsim.Get(k, nrThreads), "nothing was created")
}

func TestKillFile(t *testing.T) {
	k, d := newTree(t, 1)
	require.NoError(t, spawnLine(t, d, "comm=victim"))
	pid := kernelsim.Get(k, lastSpawned)
	kill := func(s string) error { return kernfs.WriteFile(d, root, "kernel/ksim/tasks/kill", []byte(s)) }
	require.ErrorIs(t, kill("99999 9\n"), syscall.ESRCH)
	require.ErrorIs(t, kill(strconv.Itoa(pid)+" 65\n"), syscall.EINVAL)
	require.ErrorIs(t, kill("x\n"), syscall.EINVAL)
	require.NoError(t, kill(strconv.Itoa(pid)+" SIGSTOP\n"))
	require.Equal(t, sched.Stopped, kernelsim.Get(k, func(m *kernelsim.Machine) sched.State { return m.Sched.Task(pid).State }))
	require.NoError(t, kill(strconv.Itoa(pid)+" cont\n"))
	require.NoError(t, kill(strconv.Itoa(pid)+"\n"), "SIGTERM by default")
	require.False(t, kernelsim.Get(k, func(m *kernelsim.Machine) bool { return m.Sched.Task(pid) != nil }), "SIGTERM killed it")
}

func TestExecFile(t *testing.T) {
	k, d := newTree(t, 2)
	require.NoError(t, spawnLine(t, d, "comm=sh threads=3 catch=TERM ignore=HUP"))
	pid := kernelsim.Get(k, lastSpawned)
	exec := func(s string) error { return kernfs.WriteFile(d, root, "kernel/ksim/tasks/exec", []byte(s)) }
	require.NoError(t, exec(strconv.Itoa(pid)+` /usr/sbin/nginx -g "daemon off;"`+"\n"))
	k.Read(func(m *kernelsim.Machine) {
		task := m.Sched.Task(pid)
		require.Equal(t, "nginx", task.Comm)
		require.Equal(t, []string{"/usr/sbin/nginx", "-g", "daemon off;"}, task.Process().Cmdline)
		require.Len(t, task.Process().Threads(), 1, "exec leaves one thread")
		require.Zero(t, task.Process().Caught, "handlers are reset")
		require.True(t, task.Process().Ignored.Has(sched.SIGHUP), "ignored signals stay ignored")
	})
	require.ErrorIs(t, exec("99999 /bin/true\n"), syscall.ESRCH)
	require.ErrorIs(t, exec(strconv.Itoa(pid)+"\n"), syscall.EINVAL)
}

// The daemon never panics on input: any line either spawns or fails with an errno.
func FuzzSpawnLine(f *testing.F) {
	for _, s := range []string{"comm=x", `comm=nginx threads=4 cpu=30% cmdline="a b"`, "comm=x cpus=0-1 policy=rr prio=9",
		"comm=x rss=1G rss_rate=10M/s lifetime=1s", `x="`, "comm=x threads=10000", "comm=x ppid=2"} {
		f.Add(s)
	}
	_, d := newTree(f, 2)
	f.Fuzz(func(t *testing.T, line string) {
		err := kernfs.WriteFile(d, root, "kernel/ksim/tasks/spawn", []byte(line))
		if err != nil {
			require.NotEqual(t, syscall.EIO, kernfs.Errno(err), "%q: %v", line, err)
		}
		_ = kernfs.WriteFile(d, root, "kernel/ksim/tasks/kill", []byte(line))
		_ = kernfs.WriteFile(d, root, "kernel/ksim/tasks/exec", []byte(line))
	})
}

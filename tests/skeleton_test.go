package tests

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// cpuSum adds up the fields of the aggregate cpu line of /proc/stat.
func cpuSum(t *testing.T, stat string) uint64 {
	t.Helper()
	f := field(t, stat, "cpu  ")
	var sum uint64
	for _, v := range f[1:] {
		sum += atoi(t, v)
	}
	return sum
}

func uptimeHundredths(t *testing.T, up string) uint64 {
	t.Helper()
	secs, frac, ok := strings.Cut(strings.Fields(up)[0], ".")
	require.True(t, ok, up)
	return atoi(t, secs)*100 + atoi(t, frac)
}

// The acceptance: a manual clock that moves by exactly what is written.
func TestManualClockAdvancesExactly(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "4", "--mem", "8G")

	require.Equal(t, 4, strings.Count(m.read("proc/cpuinfo"), "processor\t: "))
	memTotalKB := atoi(t, field(t, m.read("proc/meminfo"), "MemTotal:")[1])
	require.Greater(t, memTotalKB, uint64(7.5*1024*1024))
	require.LessOrEqual(t, memTotalKB, uint64(8*1024*1024))

	up0, stat0 := m.read("proc/uptime"), m.read("proc/stat")
	time.Sleep(300 * time.Millisecond)
	require.Equal(t, up0, m.read("proc/uptime"), "a manual clock must not move by itself")
	require.Equal(t, stat0, m.read("proc/stat"))

	require.NoError(t, m.write("sys/kernel/ksim/clock/advance_ms", "10000\n"))
	up1, stat1 := m.read("proc/uptime"), m.read("proc/stat")
	require.Equal(t, uint64(1000), uptimeHundredths(t, up1)-uptimeHundredths(t, up0), "uptime %q -> %q", up0, up1)
	require.Equal(t, uint64(4000), cpuSum(t, stat1)-cpuSum(t, stat0), "10 s × USER_HZ 100 × 4 CPUs")
}

func TestAdvanceRejectsBadInput(t *testing.T) {
	m := mount(t, "--clock", "manual")
	before := m.read("sys/kernel/ksim/clock/uptime_ns")
	for _, bad := range []string{"abc\n", "-5\n", "\n"} { // "echo > f" writes a lone newline
		err := m.write("sys/kernel/ksim/clock/advance_ms", bad)
		require.ErrorIs(t, err, syscall.EINVAL, "advance_ms %q", bad)
	}
	require.Equal(t, before, m.read("sys/kernel/ksim/clock/uptime_ns"))
	require.Equal(t, "manual\n", m.read("sys/kernel/ksim/clock/mode"))
}

func TestPidMaxRangeAsLinux(t *testing.T) {
	m := mount(t, "--clock", "manual")
	for _, bad := range []string{"0", "100", "abc", "4194305"} {
		require.ErrorIs(t, m.write("proc/sys/kernel/pid_max", bad+"\n"), syscall.EINVAL, "pid_max %s", bad)
	}
	require.Equal(t, "4194304\n", m.read("proc/sys/kernel/pid_max"))
	require.NoError(t, m.write("proc/sys/kernel/pid_max", "301\n"))
	require.Equal(t, "301\n", m.read("proc/sys/kernel/pid_max"))
}

func TestReadOnlyFilesRefuseWrites(t *testing.T) {
	m := mount(t, "--clock", "manual")
	// As root: the open succeeds and the write fails with EIO, as on Linux.
	require.ErrorIs(t, m.write("proc/meminfo", "1\n"), syscall.EIO)
	require.ErrorIs(t, m.write("proc/sys/kernel/osrelease", "1\n"), syscall.EACCES, "sysctl holds root to the owner bits")
	// As nobody: the kernel refuses the open from the mode bits.
	out, err := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"sh", "-c", "echo 1 > "+m.path("proc/sys/kernel/pid_max")).CombinedOutput()
	require.Error(t, err)
	require.Contains(t, string(out), "Permission denied")
	require.ErrorIs(t, os.Remove(m.path("proc/meminfo")), syscall.EPERM)
}

// Real tools run through ksim exec, with no error output.
func TestToolsRunThroughExec(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "4", "--mem", "8G")
	memTotalKB := atoi(t, field(t, m.read("proc/meminfo"), "MemTotal:")[1])

	out, errOut, err := m.exec("free", "-b")
	require.NoError(t, err, errOut)
	require.Empty(t, errOut)
	require.Equal(t, strconv.FormatUint(memTotalKB*1024, 10), field(t, out, "Mem:")[1])

	out, errOut, err = m.exec("ps", "-eo", "pid,ppid,comm")
	require.NoError(t, err, errOut)
	require.Empty(t, errOut)
	require.Equal(t, []string{"1", "0", "systemd"}, field(t, out, "      1 "))
	require.Equal(t, []string{"2", "0", "kthreadd"}, field(t, out, "      2 "))

	for _, tool := range [][]string{{"uptime"}, {"top", "-b", "-n1"}, {"vmstat"}, {"vmstat", "-s"}, {"dmesg"}} {
		out, errOut, err := m.exec(tool...)
		require.NoError(t, err, "%v: %s", tool, errOut)
		require.Empty(t, errOut, "%v", tool)
		require.NotEmpty(t, out, "%v", tool)
	}
	out, _, err = m.exec("dmesg")
	require.NoError(t, err)
	require.Contains(t, out, "Linux version ")
}

func TestKmsgWriteShowsInDmesg(t *testing.T) {
	m := mount(t, "--clock", "manual")
	require.NoError(t, m.write("dev/kmsg", "<3>hello\n"))
	out, errOut, err := m.exec("dmesg", "-r")
	require.NoError(t, err, errOut)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	require.Regexp(t, `^<\d+>\[ *\d+\.\d{6}\] hello$`, last)
	require.True(t, strings.HasPrefix(last, "<3>") || strings.HasPrefix(last, "<11>"), last)
}

func TestRemountAfterKill(t *testing.T) {
	m := mount(t, "--clock", "manual")
	require.NoError(t, syscall.Kill(m.pid, syscall.SIGKILL))
	waitGone(t, m.pid)
	_, err := os.ReadFile(m.path("proc/uptime"))
	require.True(t, errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED), "stale mount: %v", err)
	again := mountAt(t, m.dir, "--clock", "manual")
	require.NotEmpty(t, again.read("proc/uptime"))
}

func TestSameSeedSameBytes(t *testing.T) {
	files := []string{"proc/stat", "proc/meminfo", "proc/uptime", "proc/loadavg", "proc/1/stat", "proc/2/status",
		"proc/cpuinfo", "proc/300/stat", "proc/300/sched", "proc/301/status", "proc/302/task/303/stat",
		"proc/interrupts", "proc/softirqs", "proc/irq/25/effective_affinity_list"}
	var runs [2]map[string]string
	for i := range runs {
		m := mount(t, "--clock", "manual", "--seed", "7")
		require.NoError(t, m.write("proc/sys/kernel/ns_last_pid", "299"))
		require.NoError(t, m.write("sys/kernel/ksim/tasks/spawn", "comm=io cpu=20% io=30% pattern=bursty"))
		require.NoError(t, m.write("sys/kernel/ksim/tasks/spawn", "comm=grow rss=10M rss_rate=5M/s cpu=5%"))
		require.NoError(t, m.write("sys/kernel/ksim/tasks/spawn", "comm=pool threads=3 cpu=40% pattern=bursty nice=3"))
		require.NoError(t, m.write("sys/kernel/ksim/net/eth0/rx_pps", "50000"))
		require.NoError(t, m.write("proc/irq/25/smp_affinity_list", "1-2"))
		require.NoError(t, m.write("sys/devices/system/cpu/cpu3/online", "0"))
		require.NoError(t, m.write("sys/kernel/ksim/clock/advance_ms", "12345"))
		runs[i] = map[string]string{}
		for _, f := range files {
			runs[i][f] = m.read(f)
		}
		m.unmount()
	}
	require.Equal(t, runs[0], runs[1])
}

// Ctrl-C in the foreground stops the server and leaves nothing mounted.
func TestForegroundStopsOnSignal(t *testing.T) {
	canMount(t)
	dir := t.TempDir()
	cmd := exec.Command(ksimBin, "mount", "--clock", "manual", dir)
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(10 * time.Second)
	for !isMounted(dir) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	require.True(t, isMounted(dir))
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	require.NoError(t, cmd.Wait())
	require.False(t, isMounted(dir))
}

func TestSysctlListsTheTree(t *testing.T) {
	m := mount(t, "--clock", "manual")
	out, errOut, err := m.exec("sysctl", "-a")
	require.NoError(t, err, errOut)
	require.Contains(t, out, "kernel.pid_max = 4194304\n")
	require.Contains(t, out, "kernel.printk = 4\t4\t1\t7\n")
	_, errOut, err = m.exec("sysctl", "-w", "kernel.pid_max=40000")
	require.NoError(t, err, errOut)
	require.Equal(t, "40000\n", m.read("proc/sys/kernel/pid_max"))
}

// Without root, ksim exec makes a user namespace to mount in.
func TestExecAsNonRoot(t *testing.T) {
	canMount(t)
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("no setpriv")
	}
	// Directories nobody can reach: the binary and the mount point.
	top, err := os.MkdirTemp("", "ksim-nonroot")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(top) })
	require.NoError(t, os.Chmod(top, 0o755))
	bin := top + "/ksim"
	data, err := os.ReadFile(ksimBin)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	dir := top + "/mnt"
	require.NoError(t, os.Mkdir(dir, 0o755))
	m := mountAt(t, dir, "--clock", "manual")

	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		bin, "exec", m.dir, "--", "sh", "-c", `read p rest < /proc/$$/stat && test "$p" = "$$" && ps -eo pid,comm`)
	cmd.Dir = top
	out, err := cmd.CombinedOutput()
	if strings.Contains(string(out), "cannot make a user namespace") {
		t.Skip("user namespaces are off here")
	}
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "      2 kthreadd\n")
}

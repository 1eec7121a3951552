package procfs

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernelsim/irq"
	"ksim/kernfs"
)

func newTestTree(t testing.TB) (*kernelsim.Kernel, kernfs.Dir) {
	t.Helper()
	cfg := kernelsim.DefaultConfig()
	cfg.Clock = clock.Manual
	k, err := kernelsim.New(cfg)
	require.NoError(t, err)
	return k, New(k)
}

// reader is a visitor with a pid no simulated task has, as ksim exec picks.
var reader = kernfs.NewCaller(0, 0, kernfs.Identity{Pid: 4000000, Tid: 4000000, Comm: "cat", Start: 1})

var nobody = kernfs.NewCaller(65534, 65534, kernfs.Identity{Pid: 4000001, Tid: 4000001, Comm: "cat", Start: 2})

func read(t *testing.T, d kernfs.Dir, path string) string {
	t.Helper()
	b, err := kernfs.ReadFile(d, reader, path)
	require.NoError(t, err)
	return string(b)
}

func kv(t *testing.T, text, sep string) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		key, val, ok := strings.Cut(line, sep)
		require.True(t, ok, "line %q", line)
		f := strings.Fields(val)
		n, err := strconv.ParseUint(f[0], 10, 64)
		require.NoError(t, err, line)
		out[key] = n
	}
	return out
}

func TestMeminfoLayoutAndConsistency(t *testing.T) {
	_, d := newTestTree(t)
	text := read(t, d, "meminfo")
	line := regexp.MustCompile(`^(\S+:) +\d+( kB)?$`)
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		require.Regexp(t, line, l)
		if strings.HasSuffix(l, " kB") && !strings.HasPrefix(l, "HardwareCorrupted") && !strings.HasPrefix(l, "VmallocTotal") {
			require.Len(t, l, 16+8+3, "label in 16 columns, value in 8: %q", l)
		}
	}
	require.Contains(t, text, "HardwareCorrupted:     0 kB\n")
	require.NotContains(t, text, "\n\n")
	m := kv(t, text, ":")
	require.LessOrEqual(t, m["MemFree"], m["MemTotal"])
	require.GreaterOrEqual(t, m["MemAvailable"], m["MemFree"])
	require.LessOrEqual(t, m["MemAvailable"], m["MemTotal"])
	require.Equal(t, m["Active"]+m["Inactive"], m["Active(anon)"]+m["Inactive(anon)"]+m["Active(file)"]+m["Inactive(file)"])
	require.Equal(t, m["Slab"], m["SReclaimable"]+m["SUnreclaim"])
	used := m["MemFree"] + m["Buffers"] + m["Cached"] + m["AnonPages"] + m["Slab"] + m["KernelStack"] + m["PageTables"] + m["Percpu"] + m["VmallocUsed"]
	require.LessOrEqual(t, used, m["MemTotal"], "free memory and consumers fit in MemTotal")
}

func TestVmstatAgreesWithMeminfo(t *testing.T) {
	_, d := newTestTree(t)
	mem := kv(t, read(t, d, "meminfo"), ":")
	vm := kv(t, read(t, d, "vmstat"), " ")
	require.Equal(t, mem["MemFree"], vm["nr_free_pages"]*4)
	require.Equal(t, mem["AnonPages"], vm["nr_anon_pages"]*4)
	require.Equal(t, mem["Shmem"], vm["nr_shmem"]*4)
	require.Equal(t, mem["Cached"]+mem["Buffers"]+mem["SwapCached"], vm["nr_file_pages"]*4)
	require.Equal(t, mem["KernelStack"], vm["nr_kernel_stack"])
}

func TestStatLayout(t *testing.T) {
	k, d := newTestTree(t)
	text := read(t, d, "stat")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	require.True(t, strings.HasPrefix(lines[0], "cpu  "), "sysstat reads the aggregate line from byte 5")
	ncpu := kernelsim.Get(k, func(m *kernelsim.Machine) int { return m.CPUs.Possible() })
	nirq := kernelsim.Get(k, func(m *kernelsim.Machine) int { return m.IRQ.NrIRQs() })
	for i := range ncpu {
		f := strings.Fields(lines[1+i])
		require.Equal(t, "cpu"+strconv.Itoa(i), f[0])
		require.Len(t, f, 11)
	}
	var keys []string
	for _, l := range lines[1+ncpu:] {
		keys = append(keys, strings.Fields(l)[0])
	}
	require.Equal(t, []string{"intr", "ctxt", "btime", "processes", "procs_running", "procs_blocked", "softirq"}, keys)
	intr := strings.Fields(lines[1+ncpu])
	require.Len(t, intr, 2+nirq)
	softirq := strings.Fields(lines[len(lines)-1])
	require.Len(t, softirq, 2+10)
	require.Equal(t, "btime 1767225600", lines[len(lines)-5])
}

// sumLine adds the numbers of a /proc/stat line after its label.
func sumLine(t *testing.T, line string) uint64 {
	var s uint64
	for _, f := range strings.Fields(line)[1:] {
		n, err := strconv.ParseUint(f, 10, 64)
		require.NoError(t, err)
		s += n
	}
	return s
}

func TestStatAddsUp(t *testing.T) {
	k, d := newTestTree(t)
	require.NoError(t, k.Advance(context.Background(), 7777))
	lines := strings.Split(read(t, d, "stat"), "\n")
	// What the machine says, read at once: nothing runs between the reads.
	var ncpu, nirq int
	var lastTick, ticks, arch, loc uint64
	k.Read(func(m *kernelsim.Machine) {
		ncpu, nirq = m.CPUs.Possible(), m.IRQ.NrIRQs()
		lastTick, ticks = m.Clock.TickTime(m.Clock.Ticks()), m.Clock.Ticks()
		for c := range ncpu {
			for a := range irq.NrArch {
				arch += m.IRQ.ArchCount(a, c)
			}
			loc += m.IRQ.ArchCount(irq.LOC, c)
		}
	})
	total := sumLine(t, lines[0])
	var perCPU uint64
	for i := range ncpu {
		perCPU += sumLine(t, lines[1+i])
	}
	require.Equal(t, total, perCPU)
	// Every CPU has run every tick so far: elapsed USER_HZ ticks × CPUs.
	require.Equal(t, lastTick/clock.NsecPerUserTick*uint64(ncpu), total)
	// The interrupt total is the numbered IRQs plus the architectural
	// counters, among them one local timer interrupt per tick per CPU.
	intr := strings.Fields(lines[1+ncpu])
	require.Len(t, intr, 2+nirq)
	var numbered uint64
	for _, f := range intr[2:] {
		n, err := strconv.ParseUint(f, 10, 64)
		require.NoError(t, err)
		numbered += n
	}
	require.Equal(t, ticks*uint64(ncpu), loc)
	require.Greater(t, numbered, uint64(0))
	require.Equal(t, strconv.FormatUint(numbered+arch, 10), intr[1])
	softirq := strings.Fields(lines[len(lines)-2])
	var s uint64
	for _, f := range softirq[2:] {
		n, _ := strconv.ParseUint(f, 10, 64)
		s += n
	}
	require.Equal(t, softirq[1], strconv.FormatUint(s, 10))
}

func TestUptimeAndLoadavg(t *testing.T) {
	k, d := newTestTree(t)
	require.Regexp(t, `^\d+\.\d\d \d+\.\d\d\n$`, read(t, d, "uptime"))
	up := read(t, d, "uptime")
	require.NoError(t, k.Advance(context.Background(), 10000))
	up2 := read(t, d, "uptime")
	require.NotEqual(t, up, up2)
	la := read(t, d, "loadavg")
	require.Regexp(t, `^\d+\.\d\d \d+\.\d\d \d+\.\d\d \d+/\d+ \d+\n$`, la)
	f := strings.Fields(la)
	require.Equal(t, strconv.Itoa(kernelsim.Get(k, func(m *kernelsim.Machine) int { return m.Sched.NrThreads() })), strings.Split(f[3], "/")[1])
	require.Equal(t, strconv.Itoa(kernelsim.Get(k, func(m *kernelsim.Machine) int { return m.Sched.LastPid() })), f[4])
}

func TestCpuinfoBlocks(t *testing.T) {
	_, d := newTestTree(t)
	text := read(t, d, "cpuinfo")
	blocks := strings.Split(strings.TrimSuffix(text, "\n\n"), "\n\n")
	require.Len(t, blocks, 4)
	require.True(t, strings.HasSuffix(text, "power management:\n\n"), "every block ends with a blank line")
	for i, b := range blocks {
		require.True(t, strings.HasPrefix(b, "processor\t: "+strconv.Itoa(i)+"\n"))
		require.Contains(t, b, "\nflags\t\t: fpu ")
		require.Regexp(t, `\nflags\t\t: .* vmx `, b)
		require.Contains(t, b, "\nvmx flags\t: ")
		require.Contains(t, b, "\nmodel\t\t: 85\n")
	}
}

func TestTaskFiles(t *testing.T) {
	k, d := newTestTree(t)
	stat := read(t, d, "1/stat")
	f := strings.Fields(stat)
	require.Len(t, f, 52)
	require.Equal(t, []string{"1", "(systemd)", "S", "0"}, f[:4])
	status := read(t, d, "1/status")
	for _, l := range strings.Split(strings.TrimSuffix(status, "\n"), "\n") {
		require.Regexp(t, `^[A-Za-z_()0-9]+:\t`, l, "Key:<tab>value")
	}
	require.Contains(t, status, "\nPid:\t1\n")
	require.Contains(t, status, "\nPPid:\t0\n")
	require.Contains(t, status, "\nUid:\t0\t0\t0\t0\n")
	statm := strings.Fields(read(t, d, "1/statm"))
	require.Len(t, statm, 7)
	rssKB := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindStringSubmatch(status)[1]
	rssPages, _ := strconv.Atoi(statm[1])
	require.Equal(t, strconv.Itoa(rssPages*4), rssKB)
	require.Equal(t, statm[1], f[23], "stat rss agrees with statm")
	require.Equal(t, "/sbin/init\x00", read(t, d, "1/cmdline"))
	require.Equal(t, "systemd\n", read(t, d, "1/comm"))

	kthreadd := strings.Fields(read(t, d, "2/stat"))
	require.Equal(t, []string{"2", "(kthreadd)", "S", "0"}, kthreadd[:4])
	require.Empty(t, read(t, d, "2/cmdline"))
	require.Contains(t, read(t, d, "2/status"), "\nKthread:\t1\n")
	require.NotContains(t, read(t, d, "2/status"), "VmRSS")

	// Names in parentheses may hold spaces and parentheses; the name runs to the last ')'.
	for _, pid := range kernelsim.Get(k, func(m *kernelsim.Machine) []int { return m.Sched.Pids() }) {
		s := read(t, d, strconv.Itoa(pid)+"/stat")
		rest := s[strings.LastIndexByte(s, ')')+2:]
		require.Len(t, strings.Fields(rest), 50, "pid %d", pid)
	}
	names, err := kernfs.ReadDirNames(d, reader, "1/task")
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, names)
	require.Equal(t, stat, read(t, d, "1/task/1/stat"))
}

func TestPidDirectoriesAreOwnedByTheTask(t *testing.T) {
	k, d := newTestTree(t)
	type owner struct {
		pid  int
		euid uint32
		comm string
	}
	owners := kernelsim.Get(k, func(m *kernelsim.Machine) []owner {
		var out []owner
		for _, pid := range m.Sched.Pids() {
			task := m.Sched.Task(pid)
			out = append(out, owner{pid, task.Creds.Euid, task.Comm})
		}
		return out
	})
	for _, o := range owners {
		n, err := kernfs.Resolve(d, reader, strconv.Itoa(o.pid))
		require.NoError(t, err)
		require.Equal(t, o.euid, n.Attr().Uid)
		if o.comm == "dbus-daemon" {
			require.NotZero(t, n.Attr().Uid)
		}
	}
}

func TestSelfIsTheCaller(t *testing.T) {
	k, d := newTestTree(t)
	status := read(t, d, "self/status")
	require.Contains(t, status, "\nPid:\t4000000\n")
	require.Contains(t, status, "Name:\tcat\n")
	require.Contains(t, read(t, d, "thread-self/status"), "\nPid:\t4000000\n")
	// The visitor is never listed and counts nowhere.
	names, err := kernfs.ReadDirNames(d, reader, "")
	require.NoError(t, err)
	require.NotContains(t, names, "4000000")
	nrThreads := kernelsim.Get(k, func(m *kernelsim.Machine) int { return m.Sched.NrThreads() })
	require.Equal(t, strconv.Itoa(nrThreads), strings.Split(strings.Fields(read(t, d, "loadavg"))[3], "/")[1])
	// Another caller does not find it.
	_, err = kernfs.ReadFile(d, nobody, "4000000/status")
	require.ErrorIs(t, err, syscall.ENOENT)
	// A caller whose pid a simulated task has still finds itself there.
	systemdAsSeenByPid1 := kernfs.NewCaller(0, 0, kernfs.Identity{Pid: 1, Tid: 1, Comm: "sh", Start: 9})
	b, err := kernfs.ReadFile(d, systemdAsSeenByPid1, "1/comm")
	require.NoError(t, err)
	require.Equal(t, "sh\n", string(b))
	require.Equal(t, "systemd\n", read(t, d, "1/comm"))
}

func TestSysctls(t *testing.T) {
	k, d := newTestTree(t)
	require.Equal(t, "4\t4\t1\t7\n", read(t, d, "sys/kernel/printk"))
	require.NoError(t, kernfs.WriteFile(d, reader, "sys/kernel/printk", []byte("7\n")))
	require.Equal(t, "7\t4\t1\t7\n", read(t, d, "sys/kernel/printk"), "fewer values set only the first fields")
	require.NoError(t, kernfs.WriteFile(d, reader, "sys/kernel/printk", []byte("3 0x5 1 7\n")))
	require.Equal(t, "3\t5\t1\t7\n", read(t, d, "sys/kernel/printk"))
	for _, bad := range []string{"x", "", "\n", "4,4", "1x"} {
		err := kernfs.WriteFile(d, reader, "sys/kernel/printk", []byte(bad))
		require.ErrorIs(t, err, syscall.EINVAL, "%q", bad)
	}
	require.Equal(t, "3\t5\t1\t7\n", read(t, d, "sys/kernel/printk"))

	for _, bad := range []string{"0", "100", "abc", "4194305", "-1", "99999999999"} {
		require.ErrorIs(t, kernfs.WriteFile(d, reader, "sys/kernel/pid_max", []byte(bad+"\n")), syscall.EINVAL, bad)
	}
	require.NoError(t, kernfs.WriteFile(d, reader, "sys/kernel/pid_max", []byte("32768\n")))
	require.Equal(t, 32768, kernelsim.Get(k, func(m *kernelsim.Machine) int { return m.Sched.PidMax() }))

	require.NoError(t, kernfs.WriteFile(d, reader, "sys/kernel/hostname", []byte("web-01\n")))
	require.Equal(t, "web-01\n", read(t, d, "sys/kernel/hostname"))
	require.Equal(t, "Linux\n", read(t, d, "sys/kernel/ostype"))
	require.ErrorIs(t, kernfs.WriteFile(d, reader, "sys/kernel/osrelease", []byte("x\n")), syscall.EACCES,
		"sysctl holds root to the owner bits")
	require.ErrorIs(t, kernfs.WriteFile(d, nobody, "sys/kernel/osrelease", []byte("x\n")), syscall.EACCES)
	require.ErrorIs(t, kernfs.WriteFile(d, nobody, "sys/kernel/hostname", []byte("x\n")), syscall.EACCES)

	// ns_last_pid is world-writable but needs CAP_SYS_ADMIN.
	require.ErrorIs(t, kernfs.WriteFile(d, nobody, "sys/kernel/ns_last_pid", []byte("500\n")), syscall.EPERM)
	require.NoError(t, kernfs.WriteFile(d, reader, "sys/kernel/ns_last_pid", []byte("500\n")))
	require.Equal(t, "500\n", read(t, d, "sys/kernel/ns_last_pid"))
	require.ErrorIs(t, kernfs.WriteFile(d, reader, "sys/kernel/ns_last_pid", []byte("40000\n")), syscall.EINVAL)
}

func TestRereadAtOffsetZeroRendersAgain(t *testing.T) {
	k, d := newTestTree(t)
	n, err := kernfs.Resolve(d, reader, "uptime")
	require.NoError(t, err)
	h, err := n.(kernfs.File).Open(reader, syscall.O_RDONLY)
	require.NoError(t, err)
	buf := make([]byte, 100)
	n1, err := h.Read(reader, buf, 0)
	require.NoError(t, err)
	first := string(buf[:n1])
	require.NoError(t, k.Advance(context.Background(), 1000))
	n2, err := h.Read(reader, buf, 0)
	require.NoError(t, err)
	require.NotEqual(t, first, string(buf[:n2]), "a monitor's pread(0) sees fresh numbers")
	// A short buffer gets no more than it asked for, and the rest follows.
	n3, err := h.Read(reader, buf[:3], 0)
	require.NoError(t, err)
	require.Equal(t, 3, n3)
}

package tests

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// irqCounts returns an IRQ row's per-CPU counts from /proc/interrupts,
// found by the handler name at its end.
func irqCounts(t *testing.T, interrupts, name string) (irq string, counts []uint64) {
	t.Helper()
	lines := strings.Split(interrupts, "\n")
	ncpu := len(strings.Fields(lines[0]))
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) > ncpu+1 && f[len(f)-1] == name {
			for _, n := range f[1 : 1+ncpu] {
				counts = append(counts, atoi(t, n))
			}
			return strings.TrimSuffix(f[0], ":"), counts
		}
	}
	t.Fatalf("no %s in /proc/interrupts", name)
	return "", nil
}

// The seed 004 experiment: an IRQ follows smp_affinity, only the chosen
// CPU's column grows, and the list file and the mask file agree.
func TestSmpAffinityMovesCounts(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "4")
	m.advance(t, 1000)
	irq, before := irqCounts(t, m.read("proc/interrupts"), "eth0-TxRx-0")
	require.Greater(t, before[0], uint64(0), "all on CPU0 until moved")
	dir := "proc/irq/" + irq + "/"
	require.NoError(t, m.write(dir+"smp_affinity", "4\n"))
	m.advance(t, 2000)
	_, after := irqCounts(t, m.read("proc/interrupts"), "eth0-TxRx-0")
	for c := range after {
		if c == 2 {
			require.Greater(t, after[c], before[c], "CPU2 grew")
		} else {
			require.Equal(t, before[c], after[c], "CPU%d did not", c)
		}
	}
	require.Equal(t, "4\n", m.read(dir+"smp_affinity"))
	require.Equal(t, "2\n", m.read(dir+"smp_affinity_list"))
	require.NoError(t, m.write(dir+"smp_affinity_list", "0-1\n"))
	require.Equal(t, "3\n", m.read(dir+"smp_affinity"))

	for _, bad := range []struct {
		file, value string
		errno       syscall.Errno
	}{
		{"smp_affinity", "0\n", syscall.EINVAL},
		{"smp_affinity", "xyz\n", syscall.EINVAL},
		{"smp_affinity", "10\n", syscall.EOVERFLOW},
		{"smp_affinity_list", "0-4\n", syscall.ERANGE},
	} {
		require.ErrorIs(t, m.write(dir+bad.file, bad.value), bad.errno, "%s %q", bad.file, bad.value)
	}
	require.Equal(t, "3\n", m.read(dir+"smp_affinity"), "unchanged by refused writes")
}

// Offlining the only CPU of an IRQ's mask moves the IRQ; the CPU's column,
// its /proc/stat line and its softirq column go, and come back.
func TestCPUHotplug(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "4")
	irq, _ := irqCounts(t, m.read("proc/interrupts"), "eth0-TxRx-0")
	dir := "proc/irq/" + irq + "/"
	require.NoError(t, m.write(dir+"smp_affinity_list", "1\n"))
	m.advance(t, 500)
	require.NoError(t, m.write("sys/devices/system/cpu/cpu1/online", "0\n"))
	require.Equal(t, "0,2-3\n", m.read("sys/devices/system/cpu/online"))
	require.Equal(t, "1\n", m.read("sys/devices/system/cpu/offline"))
	require.Equal(t, "0\n", m.read("sys/devices/system/cpu/cpu1/online"))
	interrupts := m.read("proc/interrupts")
	require.Equal(t, []string{"CPU0", "CPU2", "CPU3"}, strings.Fields(strings.SplitN(interrupts, "\n", 2)[0]))
	_, before := irqCounts(t, interrupts, "eth0-TxRx-0")
	require.Len(t, before, 3)
	require.Equal(t, "0,2-3\n", m.read(dir+"smp_affinity_list"))
	m.advance(t, 2000)
	_, after := irqCounts(t, m.read("proc/interrupts"), "eth0-TxRx-0")
	require.Greater(t, after[0], before[0], "the IRQ counts on CPU0 now")
	stat := m.read("proc/stat")
	require.NotContains(t, stat, "\ncpu1 ")
	require.Contains(t, stat, "\ncpu2 ")
	// fs/proc/softirqs.c walks the possible CPUs: CPU1 keeps its column there.
	require.Len(t, strings.Fields(strings.SplitN(m.read("proc/softirqs"), "\n", 2)[0]), 4)
	require.Contains(t, m.run(t, "dmesg"), "smpboot: CPU 1 is now offline")
	require.ErrorIs(t, m.write("sys/devices/system/cpu/cpu1/online", "x\n"), syscall.EINVAL)

	require.NoError(t, m.write("sys/devices/system/cpu/cpu1/online", "1\n"))
	require.Equal(t, "0-3\n", m.read("sys/devices/system/cpu/online"))
	require.Contains(t, m.read("proc/stat"), "\ncpu1 ")
	require.Contains(t, m.run(t, "dmesg"), "smpboot: Booting Node 0 Processor 1 APIC 0x1")
}

// The interrupt tools read consistent numbers: the intr total is the sum
// of every row of /proc/interrupts while all CPUs are online.
func TestInterruptToolsRunClean(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "4")
	m.advance(t, 3000)
	interrupts := m.read("proc/interrupts")
	var rows uint64
	for _, l := range strings.Split(strings.TrimSpace(interrupts), "\n")[1:] {
		f := strings.Fields(l)
		for _, n := range f[1:] {
			if v, err := strconv.ParseUint(n, 10, 64); err == nil {
				rows += v
			} else {
				break
			}
		}
	}
	intr := field(t, m.read("proc/stat"), "intr")
	require.Equal(t, rows, atoi(t, intr[1]))

	out := m.run(t, "mpstat", "-P", "ALL")
	require.Regexp(t, `\n\S+ +all( +\d+\.\d\d){10}\n`, out)
	require.Regexp(t, `\n\S+ +3( +\d+\.\d\d){10}\n`, out)
	out = m.run(t, "mpstat", "-I", "ALL")
	require.Contains(t, out, "NET_RX/s")
	require.Contains(t, out, "LOC/s")
	require.Contains(t, out, "24/s")
	out = m.run(t, "vmstat", "1", "2")
	require.Len(t, strings.Split(strings.TrimSpace(out), "\n"), 4)
}

// Heavy receive traffic on one CPU: its softirq column fills and
// ksoftirqd shows the overflow as CPU time.
func TestNetworkFloodShowsInKsoftirqd(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "4")
	require.NoError(t, m.write("sys/kernel/ksim/net/eth0/rx_pps", "2000000\n"))
	require.ErrorIs(t, m.write("sys/kernel/ksim/net/eth0/rx_pps", "-1\n"), syscall.EINVAL)
	m.advance(t, 5000)
	cpu0 := field(t, m.read("proc/stat"), "cpu0")
	require.Greater(t, atoi(t, cpu0[7]), uint64(400), "softirq ticks of CPU0 over 5 s")
	ps := m.run(t, "ps", "-eo", "comm,time", "--sort=-time")
	require.True(t, strings.HasPrefix(strings.Split(ps, "\n")[1], "ksoftirqd/0"), ps)
}

// lscpu reads the machine from the tree: CPUs, sockets, cores, NUMA
// nodes and caches, and follows hotplug.
func TestLscpuSysroot(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "8", "--numa", "2")
	out, errOut, err := runHost("lscpu", "--sysroot", m.dir)
	require.NoError(t, err, errOut)
	require.Empty(t, errOut)
	for _, want := range []string{
		`CPU\(s\): +8\n`, `On-line CPU\(s\) list: +0-7\n`, `Thread\(s\) per core: +1\n`,
		`Core\(s\) per socket: +4\n`, `Socket\(s\): +2\n`, `NUMA node\(s\): +2\n`,
		`NUMA node1 CPU\(s\): +4-7\n`, `Model name: +Intel\(R\) Xeon\(R\) Gold 6230 CPU @ 2.10GHz\n`,
		`L1d cache: +256 KiB \(8 instances\)\n`, `L2 cache: +8 MiB \(8 instances\)\n`,
		`L3 cache: +55 MiB \(2 instances\)\n`, `CPU max MHz: +3900.0000\n`,
	} {
		require.Regexp(t, want, out)
	}
	require.NoError(t, m.write("sys/devices/system/cpu/cpu5/online", "0\n"))
	out, _, err = runHost("lscpu", "--sysroot", m.dir)
	require.NoError(t, err)
	require.Regexp(t, `On-line CPU\(s\) list: +0-4,6,7\n`, out)
	require.Regexp(t, `Off-line CPU\(s\) list: +5\n`, out)
}

// irqbalance, run once through ksim exec, classifies the NIC and the
// disk from /sys/bus/pci and spreads the NIC's busy queues over the
// cores; what it writes is what the IRQs then do.
func TestIrqbalanceOneshot(t *testing.T) {
	if _, err := exec.LookPath("irqbalance"); err != nil {
		t.Skip("irqbalance is not installed (scripts/deps.sh installs it as root)")
	}
	m := mount(t, "--clock", "manual", "--cpus", "4")
	require.NoError(t, m.write("sys/kernel/ksim/net/eth0/rx_pps", "400000\n"))
	m.advance(t, 2000)
	// In the foreground: a daemon child would end with the exec's pid namespace.
	out, errOut, err := m.exec("irqbalance", "--oneshot", "--foreground", "--debug", "--interval=1")
	require.NoError(t, err, errOut)
	require.Contains(t, out+errOut, "(ethernet/")
	require.Contains(t, out+errOut, "(storage/")
	cpus := map[string]bool{}
	for q := range 4 {
		irq, _ := irqCounts(t, m.read("proc/interrupts"), "eth0-TxRx-"+strconv.Itoa(q))
		cpus[strings.TrimSpace(m.read("proc/irq/"+irq+"/effective_affinity_list"))] = true
	}
	require.Greater(t, len(cpus), 1, "the queues no longer share one CPU")
	irq, before := irqCounts(t, m.read("proc/interrupts"), "eth0-TxRx-0")
	target := atoi(t, strings.TrimSpace(m.read("proc/irq/"+irq+"/effective_affinity_list")))
	m.advance(t, 1000)
	_, after := irqCounts(t, m.read("proc/interrupts"), "eth0-TxRx-0")
	for c := range after {
		require.Equal(t, uint64(c) == target, after[c] > before[c], "CPU%d", c)
	}
}

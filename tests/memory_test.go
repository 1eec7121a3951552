package tests

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func meminfoKB(t *testing.T, m *mounted, key string) uint64 {
	t.Helper()
	return atoi(t, field(t, m.read("proc/meminfo"), key+":")[1])
}

func TestMemoryToolsRunClean(t *testing.T) {
	m := mount(t, "--clock", "manual", "--swap", "1G")
	for _, tool := range [][]string{{"free"}, {"vmstat", "-s"}, {"vmstat", "-m"}, {"slabtop", "-o"}, {"vmstat", "-a"}} {
		require.NotEmpty(t, m.run(t, tool...), "%v", tool)
	}
	out, errOut, err := runHost("lsmem", "--sysroot", m.dir)
	require.NoError(t, err, errOut)
	require.Empty(t, errOut)
	require.Regexp(t, `Total online memory: +8G\n`, out, "the blocks with RAM, not the PCI hole's")
	require.Regexp(t, `\nSwap: +1073741824 +0 +1073741824\n`, m.run(t, "free", "-b"))
}

func TestTwoNodes(t *testing.T) {
	m := mount(t, "--clock", "manual", "--numa", "2", "--cpus", "4", "--mem", "8G")
	require.Equal(t, "0-1\n", m.read("sys/devices/system/node/online"))
	require.Equal(t, "2-3\n", m.read("sys/devices/system/node/node1/cpulist"))
	buddy := m.read("proc/buddyinfo")
	require.Contains(t, buddy, "Node 0, zone   Normal")
	require.Contains(t, buddy, "Node 1, zone   Normal")
	var nodeTotal, nodeFree uint64
	for n := range 2 {
		nm := m.read(fmt.Sprintf("sys/devices/system/node/node%d/meminfo", n))
		nodeTotal += atoi(t, field(t, nm, fmt.Sprintf("Node %d MemTotal:", n))[3])
		nodeFree += atoi(t, field(t, nm, fmt.Sprintf("Node %d MemFree:", n))[3])
	}
	require.Equal(t, meminfoKB(t, m, "MemTotal"), nodeTotal)
	require.Equal(t, meminfoKB(t, m, "MemFree"), nodeFree)
	require.Equal(t, meminfoKB(t, m, "MemFree"), buddyFreeKB(t, buddy))
}

// numactl and numastat read a two-node machine: a task pinned to node 1's
// CPUs takes its memory there (first touch), an interleaved one from both
// nodes alike, and the node counters say so.
func TestNumaTools(t *testing.T) {
	m := mount(t, "--clock", "manual", "--numa", "2", "--cpus", "4", "--mem", "8G")
	nodeFreeMB := func(n int) uint64 {
		return atoi(t, field(t, m.run(t, "numactl", "--hardware"), fmt.Sprintf("node %d free:", n))[3])
	}
	hw := m.run(t, "numactl", "--hardware")
	require.Contains(t, hw, "available: 2 nodes (0-1)\n")
	require.Contains(t, hw, "node 1 cpus: 2 3\n")
	free1 := nodeFreeMB(1)

	big := m.spawn(t, "comm=big rss=1G cpus=2-3")
	require.GreaterOrEqual(t, free1-nodeFreeMB(1), uint64(1024), "node 1 lost the task's gigabyte")
	per := m.run(t, "numastat", "-p", strconv.Itoa(big))
	total := field(t, per, "Total")
	require.Less(t, atof(t, total[1]), 64.0, "node 0: only the shared file pages")
	require.GreaterOrEqual(t, atof(t, total[2]), 1024.0)

	il := m.spawn(t, "comm=il rss=256M mempolicy=interleave:0-1")
	per = m.run(t, "numastat", "-p", strconv.Itoa(il))
	heap := field(t, per, "Heap")
	require.InDelta(t, atof(t, heap[1]), atof(t, heap[2]), 0.1, "interleave: half on each node\n%s", per)
	maps := m.read(fmt.Sprintf("proc/%d/numa_maps", il))
	require.Contains(t, maps, " interleave:0-1 heap anon=")
	// show_numa_map's fields, in its order (fs/proc/task_mmu.c).
	line := regexp.MustCompile(`^[0-9a-f]{8,} interleave:0-1( file=\S+| heap| stack)?` +
		`(( anon=\d+ dirty=\d+)?( mapped=\d+)?( mapmax=\d+)?( active=\d+)?( N[01]=\d+)+ kernelpagesize_kB=4)?$`)
	for _, l := range strings.Split(strings.TrimSuffix(maps, "\n"), "\n") {
		require.Regexp(t, line, l)
	}

	stat := m.run(t, "numastat")
	ilHits := field(t, stat, "interleave_hit")
	require.GreaterOrEqual(t, atoi(t, ilHits[1]), uint64(256<<20/4096/2))
	require.GreaterOrEqual(t, atoi(t, ilHits[2]), uint64(256<<20/4096/2))
	require.Equal(t, fmt.Sprintf("interleave_hit %s\n", ilHits[2]),
		regexp.MustCompile(`(?m)^interleave_hit .*\n`).FindString(m.read("sys/devices/system/node/node1/numastat")))
}

func atof(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	require.NoError(t, err)
	return f
}

// buddyFreeKB sums buddyinfo's free blocks.
func buddyFreeKB(t *testing.T, buddy string) uint64 {
	var kb uint64
	for _, line := range strings.Split(strings.TrimSpace(buddy), "\n") {
		f := strings.Fields(line)
		for o, n := range f[4:] {
			kb += atoi(t, n) << o * 4
		}
	}
	return kb
}

var wmarkLine = regexp.MustCompile(`(?m)^Node (\d+), zone +(\w+)\n(?:(?:      .*|  per-node stats)\n)*  pages free +\d+\n +boost +\d+\n +min +(\d+)\n +low +(\d+)\n +high +(\d+)\n +promo +\d+\n +spanned +\d+\n +present +\d+\n +managed +(\d+)`)

func TestMinFreeKbytesMovesWatermarks(t *testing.T) {
	m := mount(t, "--clock", "manual")
	before := m.read("proc/zoneinfo")
	require.Error(t, m.write("proc/sys/vm/min_free_kbytes", "abc\n"))
	require.Equal(t, before, m.read("proc/zoneinfo"), "a bad write changes nothing")
	require.NoError(t, m.write("proc/sys/vm/min_free_kbytes", "65536\n"))
	require.Equal(t, "65536\n", m.read("proc/sys/vm/min_free_kbytes"))
	zones := wmarkLine.FindAllStringSubmatch(m.read("proc/zoneinfo"), -1)
	require.NotEmpty(t, zones)
	var lowmem uint64
	for _, z := range zones {
		if z[2] != "Movable" {
			lowmem += atoi(t, z[6])
		}
	}
	pagesMin := uint64(65536 / 4)
	for _, z := range zones {
		managed := atoi(t, z[6])
		if managed == 0 {
			continue
		}
		// mm/page_alloc.c __setup_per_zone_wmarks, watermark_scale_factor 10.
		wantMin := pagesMin * managed / lowmem
		gap := max(wantMin/4, managed*10/10000)
		require.Equal(t, []uint64{wantMin, wantMin + gap, wantMin + 2*gap},
			[]uint64{atoi(t, z[3]), atoi(t, z[4]), atoi(t, z[5])}, "zone %s", z[2])
	}
}

func TestHugepagesComeFromFreeMemory(t *testing.T) {
	m := mount(t, "--clock", "manual")
	free0 := meminfoKB(t, m, "MemFree")
	require.NoError(t, m.write("proc/sys/vm/nr_hugepages", "64\n"))
	require.Equal(t, free0-64*2048, meminfoKB(t, m, "MemFree"))
	require.Equal(t, []string{"HugePages_Total:", "64"}, field(t, m.read("proc/meminfo"), "HugePages_Total:"))
	require.Equal(t, []string{"HugePages_Free:", "64"}, field(t, m.read("proc/meminfo"), "HugePages_Free:"))
	require.Equal(t, "64\n", m.read("sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"))
	require.Equal(t, "64\n", m.read("sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"))
	require.NoError(t, m.write("proc/sys/vm/nr_hugepages", "0\n"))
	require.Equal(t, free0, meminfoKB(t, m, "MemFree"))
}

func TestSoftOfflineFreePageTwice(t *testing.T) {
	m := mount(t, "--clock", "manual", "--mem", "8G")
	hc0 := meminfoKB(t, m, "HardwareCorrupted")
	const addr = "0x180000000\n" // 6 GiB: free memory in Normal on a fresh 8 GiB machine
	require.NoError(t, m.write("sys/devices/system/memory/soft_offline_page", addr))
	require.Equal(t, hc0+4, meminfoKB(t, m, "HardwareCorrupted"))
	require.NoError(t, m.write("sys/devices/system/memory/soft_offline_page", addr))
	require.Equal(t, hc0+4, meminfoKB(t, m, "HardwareCorrupted"), "a poisoned page is left alone")
	require.Contains(t, m.run(t, "dmesg"), "soft offline: 0x180000 page already poisoned")
	require.ErrorIs(t, m.write("sys/devices/system/memory/hard_offline_page", addr), syscall.Errno(133))
	require.ErrorIs(t, m.write("sys/devices/system/memory/soft_offline_page", "0x7fffffffffff000\n"), syscall.ENXIO)
	require.ErrorIs(t, m.write("sys/devices/system/memory/soft_offline_page", "xyz\n"), syscall.EINVAL)
}

// The scenario from the shell: a leak on a 1 GiB machine.
func TestOOMScenario(t *testing.T) {
	m := mount(t, "--clock", "manual", "--mem", "1G")
	m.spawn(t, "comm=precious oom_score_adj=-1000 rss=200M")
	leak := m.spawn(t, "comm=leaky cpu=10% rss_rate=40M/s")
	free0 := meminfoKB(t, m, "MemFree")
	for i := 0; i < 40 && !strings.Contains(m.read("proc/vmstat"), "\noom_kill 1\n"); i++ {
		m.advance(t, 1000)
	}
	vm := m.read("proc/vmstat")
	require.Contains(t, vm, "\noom_kill 1\n")
	require.NotContains(t, vm, "\npgsteal_kswapd 0\n", "kswapd reclaimed page cache first")
	dmesg := m.run(t, "dmesg")
	require.Contains(t, dmesg, fmt.Sprintf("Out of memory: Killed process %d (leaky)", leak))
	require.NotContains(t, m.run(t, "ps", "-eo", "comm"), "leaky")
	require.Contains(t, m.run(t, "ps", "-eo", "comm"), "precious")
	require.Greater(t, meminfoKB(t, m, "MemFree"), free0/2, "MemFree recovers")
	require.Equal(t, "-1000\n", m.read("proc/"+strconv.Itoa(m.pidOf(t, "precious"))+"/oom_score_adj"))
}

func (m *mounted) pidOf(t *testing.T, comm string) int {
	t.Helper()
	for _, line := range strings.Split(m.run(t, "ps", "-eo", "pid,comm"), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[1] == comm {
			n, _ := strconv.Atoi(f[0])
			return n
		}
	}
	t.Fatalf("no %s", comm)
	return 0
}

func TestDropCaches(t *testing.T) {
	m := mount(t, "--clock", "manual")
	cached := meminfoKB(t, m, "Cached")
	slab := meminfoKB(t, m, "SReclaimable")
	require.NoError(t, m.write("proc/sys/vm/drop_caches", "3\n"))
	require.Less(t, meminfoKB(t, m, "Cached"), cached/2)
	require.Less(t, meminfoKB(t, m, "SReclaimable"), slab/2)
	require.Regexp(t, `\(\d+\): drop_caches: 3`, m.run(t, "dmesg"))
	_, err := readErr(m.path("proc/sys/vm/drop_caches"))
	require.ErrorIs(t, err, syscall.EACCES, "write-only, even for root")
	require.ErrorIs(t, m.write("proc/sys/vm/drop_caches", "5\n"), syscall.EINVAL)
}

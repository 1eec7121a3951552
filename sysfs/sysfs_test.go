package sysfs

import (
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernfs"
	"ksim/procfs"
)

var root = kernfs.NewCaller(0, 0, kernfs.Identity{Pid: 4000000, Tid: 4000000})

func newTree(t testing.TB, cpus int) (*kernelsim.Kernel, kernfs.Dir) {
	t.Helper()
	cfg := kernelsim.DefaultConfig()
	cfg.Clock, cfg.CPUs = clock.Manual, cpus
	k, err := kernelsim.New(cfg)
	require.NoError(t, err)
	return k, New(k, kernfs.NewOutbox())
}

func read(t *testing.T, d kernfs.Dir, p string) string {
	t.Helper()
	b, err := kernfs.ReadFile(d, root, p)
	require.NoError(t, err)
	return string(b)
}

func TestCPUMasks(t *testing.T) {
	_, d := newTree(t, 6)
	for _, f := range []string{"possible", "present", "online"} {
		require.Equal(t, "0-5\n", read(t, d, "devices/system/cpu/"+f))
	}
	require.Equal(t, "\n", read(t, d, "devices/system/cpu/offline"))
	require.Equal(t, "8191\n", read(t, d, "devices/system/cpu/kernel_max"))
	names, err := kernfs.ReadDirNames(d, root, "devices/system/cpu/cpu0")
	require.NoError(t, err)
	require.NotContains(t, names, "online", "x86 has no online file for the boot CPU")
	require.Equal(t, "1\n", read(t, d, "devices/system/cpu/cpu5/online"))
	require.Equal(t, "3f\n", read(t, d, "devices/system/node/node0/cpumap"))
	require.Equal(t, "0-5\n", read(t, d, "devices/system/node/node0/cpulist"))
	require.ErrorIs(t, kernfs.WriteFile(d, root, "devices/system/cpu/cpu1/online", []byte("x\n")), syscall.EINVAL)
}

func TestNodeMeminfoAgreesWithMeminfo(t *testing.T) {
	k, d := newTree(t, 4)
	node := read(t, d, "devices/system/node/node0/meminfo")
	mem, err := kernfs.ReadFile(procfs.New(k), root, "meminfo")
	require.NoError(t, err)
	for _, key := range []string{"MemTotal", "MemFree", "AnonPages", "Shmem", "Slab", "KernelStack"} {
		require.Equal(t, value(t, string(mem), key+":"), value(t, node, "Node 0 "+key+":"), key)
	}
	require.Contains(t, node, "Node 0 HugePages_Total:     0\n")
	for _, l := range strings.Split(strings.TrimSuffix(node, "\n"), "\n") {
		require.True(t, strings.HasPrefix(l, "Node 0 "), l)
	}
}

func value(t *testing.T, text, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.Fields(strings.TrimPrefix(l, prefix))[0]
		}
	}
	t.Fatalf("no %q", prefix)
	return ""
}

func TestClockControls(t *testing.T) {
	k, d := newTree(t, 2)
	require.Equal(t, "manual\n", read(t, d, "kernel/ksim/clock/mode"))
	before := read(t, d, "kernel/ksim/clock/uptime_ns")
	jiffies := read(t, d, "kernel/ksim/clock/jiffies")
	require.NoError(t, kernfs.WriteFile(d, root, "kernel/ksim/clock/advance_ms", []byte("1000\n")))
	require.Equal(t, kernelsim.Get(k, func(m *kernelsim.Machine) uint64 { return m.Clock.Now() }), mustUint(t, before)+1e9)
	require.Equal(t, mustUint(t, jiffies)+250, mustUint(t, read(t, d, "kernel/ksim/clock/jiffies")))
	for _, bad := range []string{"abc", "-5", "\n", "1.5", "99999999999999999999"} {
		err := kernfs.WriteFile(d, root, "kernel/ksim/clock/advance_ms", []byte(bad))
		require.Error(t, err, bad)
		require.Contains(t, []syscall.Errno{syscall.EINVAL, syscall.ERANGE}, kernfs.Errno(err), bad)
	}
	_, err := kernfs.ReadFile(d, root, "kernel/ksim/clock/advance_ms")
	require.ErrorIs(t, err, syscall.EACCES, "sysfs refuses to open a store-only attribute for reading, even for root")
	require.ErrorIs(t, kernfs.WriteFile(d, root, "kernel/ksim/clock/jiffies", []byte("1\n")), syscall.EACCES)
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	var n uint64
	for _, c := range strings.TrimSpace(s) {
		require.True(t, c >= '0' && c <= '9', s)
		n = n*10 + uint64(c-'0')
	}
	return n
}

func TestClockModeAndSpeed(t *testing.T) {
	_, d := newTree(t, 1)
	require.ErrorIs(t, kernfs.WriteFile(d, root, "kernel/ksim/clock/mode", []byte("fast\n")), syscall.EINVAL)
	require.ErrorIs(t, kernfs.WriteFile(d, root, "kernel/ksim/clock/speed", []byte("0\n")), syscall.EINVAL)
	require.ErrorIs(t, kernfs.WriteFile(d, root, "kernel/ksim/clock/speed", []byte("x\n")), syscall.EINVAL)
	require.NoError(t, kernfs.WriteFile(d, root, "kernel/ksim/clock/speed", []byte("2.5\n")))
	require.Equal(t, "2.5\n", read(t, d, "kernel/ksim/clock/speed"))
}

func TestCPUTopologyCachesAndFreq(t *testing.T) {
	k, err := kernelsim.New(kernelsim.Config{CPUs: 8, NUMANodes: 2, MemBytes: 4 << 30, HZ: 250, Seed: 1, Clock: clock.Manual, Speed: 1})
	require.NoError(t, err)
	d := New(k, kernfs.NewOutbox())
	cpu := "devices/system/cpu/cpu5/"
	require.Equal(t, "1\n", read(t, d, cpu+"topology/physical_package_id"))
	require.Equal(t, "1\n", read(t, d, cpu+"topology/core_id"))
	require.Equal(t, "f0\n", read(t, d, cpu+"topology/core_siblings"))
	require.Equal(t, "4-7\n", read(t, d, cpu+"topology/package_cpus_list"))
	require.Equal(t, "5\n", read(t, d, cpu+"topology/thread_siblings_list"))
	require.Equal(t, "32K\n", read(t, d, cpu+"cache/index0/size"))
	require.Equal(t, "Data\n", read(t, d, cpu+"cache/index0/type"))
	require.Equal(t, "64\n", read(t, d, cpu+"cache/index0/number_of_sets"))
	require.Equal(t, "28160K\n", read(t, d, cpu+"cache/index3/size"))
	require.Equal(t, "f0\n", read(t, d, cpu+"cache/index3/shared_cpu_map"))
	require.Equal(t, "40960\n", read(t, d, cpu+"cache/index3/number_of_sets"))
	require.Equal(t, "3900000\n", read(t, d, cpu+"cpufreq/cpuinfo_max_freq"))
	link, err := kernfs.Resolve(d, root, cpu+"node1")
	require.NoError(t, err)
	require.NotNil(t, link)

	pol := "devices/system/cpu/cpufreq/policy5/"
	require.Equal(t, "powersave\n", read(t, d, pol+"scaling_governor"))
	require.ErrorIs(t, kernfs.WriteFile(d, root, pol+"scaling_governor", []byte("ondemand\n")), syscall.EINVAL)
	require.NoError(t, kernfs.WriteFile(d, root, pol+"scaling_max_freq", []byte("1500000\n")))
	require.NoError(t, kernfs.WriteFile(d, root, pol+"scaling_min_freq", []byte("2000000\n")))
	require.Equal(t, "1500000\n", read(t, d, pol+"scaling_min_freq"), "min never exceeds max")
	require.Equal(t, "1500000\n", read(t, d, pol+"scaling_cur_freq"))
	require.NoError(t, kernfs.WriteFile(d, root, pol+"scaling_governor", []byte("performance\n")))
	require.ErrorIs(t, kernfs.WriteFile(d, root, pol+"energy_performance_preference", []byte("power\n")), syscall.EBUSY)
	require.Equal(t, "performance\n", read(t, d, pol+"energy_performance_preference"))
}

func TestOfflineCPULosesTopologyAndCache(t *testing.T) {
	k, d := newTree(t, 4)
	require.NoError(t, kernfs.WriteFile(d, root, "devices/system/cpu/cpu2/online", []byte("0\n")))
	names, err := kernfs.ReadDirNames(d, root, "devices/system/cpu/cpu2")
	require.NoError(t, err)
	require.NotContains(t, names, "topology")
	require.NotContains(t, names, "cache")
	_, err = kernfs.ReadFile(d, root, "devices/system/cpu/cpu2/topology/core_id")
	require.ErrorIs(t, err, kernfs.ErrNotExist)
	require.Equal(t, "0-1,3\n", read(t, d, "devices/system/cpu/cpu1/topology/core_siblings_list"))
	require.Equal(t, "b\n", read(t, d, "devices/system/cpu/cpu3/cache/index3/shared_cpu_map"))
	require.Equal(t, "0-1,3\n", read(t, d, "devices/system/node/node0/cpulist"))
	require.Equal(t, "b\n", read(t, d, "bus/pci/devices/0000:00:03.0/local_cpus"))
	require.ErrorIs(t, kernfs.WriteFile(d, root, "devices/system/cpu/cpu1/online", []byte("0\n")), nil)
	require.ErrorIs(t, kernfs.WriteFile(d, root, "devices/system/cpu/cpu3/online", []byte("0\n")), nil)
	require.Equal(t, []int{0}, kernelsim.Get(k, func(m *kernelsim.Machine) []int { return m.CPUs.OnlineList() }))
	require.NoError(t, kernfs.WriteFile(d, root, "devices/system/cpu/cpu2/online", []byte("1\n")))
	require.Equal(t, "2\n", read(t, d, "devices/system/cpu/cpu2/topology/core_id"))
}

// nodeN links its CPUs and memory blocks (drivers/base/node.c); a CPU's
// link goes while the CPU is offline.
func TestNodeLinksItsCPUsAndMemory(t *testing.T) {
	_, d := newTree(t, 4)
	names, err := kernfs.ReadDirNames(d, root, "devices/system/node/node0")
	require.NoError(t, err)
	for _, want := range []string{"cpu0", "cpu3", "memory0", "memory63", "cpulist", "meminfo", "numastat"} {
		require.Contains(t, names, want)
	}
	n, err := kernfs.Resolve(d, root, "devices/system/node/node0")
	require.NoError(t, err)
	cpu2, err := n.(kernfs.Dir).Lookup(root, "cpu2")
	require.NoError(t, err)
	target, err := cpu2.(kernfs.Symlink).Readlink(root)
	require.NoError(t, err)
	require.Equal(t, "../../cpu/cpu2", target)
	require.Equal(t, "1\n", read(t, d, "devices/system/node/node0/memory0/online"), "the link leads to the block")

	require.NoError(t, kernfs.WriteFile(d, root, "devices/system/cpu/cpu2/online", []byte("0")))
	names, err = kernfs.ReadDirNames(d, root, "devices/system/node/node0")
	require.NoError(t, err)
	require.NotContains(t, names, "cpu2")
	require.Contains(t, names, "cpu3")
	_, err = n.(kernfs.Dir).Lookup(root, "cpu2")
	require.ErrorIs(t, err, kernfs.ErrNotExist)
}

// transparent_hugepage has the files and values a Debian 6.18 boots with
// (measured on this project's machine), and its stores' rules.
func TestTransparentHugepageFiles(t *testing.T) {
	_, d := newTree(t, 2)
	const thp = "kernel/mm/transparent_hugepage/"
	for file, want := range map[string]string{
		"enabled": "always [madvise] never", "defrag": "always defer defer+madvise [madvise] never",
		"shmem_enabled": "always within_size advise [never] deny force", "hpage_pmd_size": "2097152",
		"use_zero_page": "1", "shrink_underused": "1",
		"khugepaged/alloc_sleep_millisecs": "60000", "khugepaged/defrag": "1", "khugepaged/full_scans": "0",
		"khugepaged/max_ptes_none": "511", "khugepaged/max_ptes_shared": "256", "khugepaged/max_ptes_swap": "64",
		"khugepaged/pages_collapsed": "0", "khugepaged/pages_to_scan": "4096", "khugepaged/scan_sleep_millisecs": "10000",
		"hugepages-2048kB/enabled": "always [inherit] madvise never", "hugepages-16kB/enabled": "always inherit madvise [never]",
		"hugepages-2048kB/shmem_enabled": "always [inherit] within_size advise never",
		"hugepages-8kB/shmem_enabled":    "always inherit within_size advise [never]", "hugepages-64kB/stats/nr_anon": "0",
	} {
		require.Equal(t, want+"\n", read(t, d, thp+file), file)
	}
	_, err := kernfs.Resolve(d, root, thp+"hugepages-8kB/enabled")
	require.ErrorIs(t, err, kernfs.ErrNotExist, "order 1 has no anonymous control")
	stats, err := kernfs.ReadDirNames(d, root, thp+"hugepages-2048kB/stats")
	require.NoError(t, err)
	require.Len(t, stats, 18)

	for file, in := range map[string]string{"use_zero_page": "2", "khugepaged/max_ptes_none": "512",
		"khugepaged/pages_to_scan": "0", "khugepaged/defrag": "x", "shmem_enabled": "sometimes", "hugepages-16kB/enabled": "inherit!"} {
		require.ErrorIs(t, kernfs.WriteFile(d, root, thp+file, []byte(in+"\n")), syscall.EINVAL, file)
	}
	require.NoError(t, kernfs.WriteFile(d, root, thp+"hugepages-16kB/enabled", []byte("always\n")))
	require.Equal(t, "[always] inherit madvise never\n", read(t, d, thp+"hugepages-16kB/enabled"))
	require.NoError(t, kernfs.WriteFile(d, root, thp+"khugepaged/max_ptes_none", []byte("0")))
	require.Equal(t, "0\n", read(t, d, thp+"khugepaged/max_ptes_none"))
}

// A gigantic page demotes to 512 pages of 2 MiB (demote_store).
func TestDemoteGiganticPages(t *testing.T) {
	_, d := newTree(t, 2)
	const g, h = "kernel/mm/hugepages/hugepages-1048576kB/", "kernel/mm/hugepages/hugepages-2048kB/"
	require.Equal(t, "2048kB\n", read(t, d, g+"demote_size"))
	require.NoError(t, kernfs.WriteFile(d, root, g+"demote_size", []byte("2048kB\n")))
	require.ErrorIs(t, kernfs.WriteFile(d, root, g+"demote_size", []byte("4M\n")), syscall.EINVAL)
	require.NoError(t, kernfs.WriteFile(d, root, g+"nr_hugepages", []byte("2\n")))
	require.Equal(t, "2\n", read(t, d, g+"nr_hugepages"))
	require.NoError(t, kernfs.WriteFile(d, root, g+"demote", []byte("1\n")))
	require.Equal(t, "1\n", read(t, d, g+"nr_hugepages"))
	require.Equal(t, "512\n", read(t, d, h+"nr_hugepages"))
	require.Equal(t, "512\n", read(t, d, h+"free_hugepages"))
	require.NoError(t, kernfs.WriteFile(d, root, g+"demote", []byte("5\n")), "fewer than asked is not an error")
	require.Equal(t, "0\n", read(t, d, g+"nr_hugepages"))
	require.Equal(t, "1024\n", read(t, d, h+"nr_hugepages"))
	_, err := kernfs.Resolve(d, root, h+"demote")
	require.ErrorIs(t, err, kernfs.ErrNotExist, "2 MiB has nothing below it")
}

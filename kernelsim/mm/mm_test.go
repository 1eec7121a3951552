package mm

import (
	"math/rand/v2"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/sysctl"
)

func TestVMAsAddUpToTotalVM(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, err := New(Config{MemBytes: 1 << 30, Nodes: 1}, rng)
	require.NoError(t, err)
	as, err := m.NewAddressSpace(Image{Text: 900 << 10, Data: 48 << 10, Libs: 4 << 20, Heap: 1 << 20, Stack: 132 << 10,
		OtherVM: 8 << 20, RSSAnon: 2 << 20, RSSFile: 3 << 20, Path: "/usr/bin/bash"}, rng, MemPolicy{}, 0)
	require.NoError(t, err)
	check := func() {
		var pages uint64
		vmas := as.VMAs()
		for i, v := range vmas {
			require.Less(t, v.Start, v.End)
			require.Zero(t, v.Start%PageSize)
			if i > 0 {
				require.LessOrEqual(t, vmas[i-1].End, v.Start, "in order, not overlapping")
			}
			pages += (v.End - v.Start) / PageSize
		}
		require.Equal(t, as.TotalVM(), pages)
	}
	check()
	free := m.FreePages()
	require.NoError(t, m.GrowAnon(as, 256))
	require.Equal(t, free-256, m.FreePages())
	check()
	m.ReleaseAddressSpace(as)
}

func TestMeminfoFitsInTotal(t *testing.T) {
	m, err := New(Config{MemBytes: 8 << 30, Nodes: 1}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	in := m.Info()
	require.Greater(t, in.Total, uint64(7_500_000_000/PageSize))
	require.LessOrEqual(t, in.Free, in.Total)
	require.GreaterOrEqual(t, in.Available, in.Free)
	require.LessOrEqual(t, in.Available, in.Total)
}

func newMem(t testing.TB, bytes uint64, nodes int) *Memory {
	t.Helper()
	m, err := New(Config{MemBytes: bytes, Nodes: nodes, SwapBytes: 256 << 20}, rand.New(rand.NewPCG(5, 6)))
	require.NoError(t, err)
	return m
}

func freeBlocksAtLeast(m *Memory, order int) uint64 {
	var n uint64
	for _, z := range m.Zones() {
		for o := order; o <= MaxOrder; o++ {
			for _, c := range z.FreeBlocks()[o] {
				n += c << (o - order)
			}
		}
	}
	return n
}

// fragment leaves every other page of most free memory taken, so no
// order-9 block survives: a fragmented machine.
func fragment(t *testing.T, m *Memory) {
	t.Helper()
	for _, z := range m.Zones() {
		if !z.Populated() {
			continue
		}
		var runs []extent
		z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
			if o.Kind == Free {
				runs = append(runs, extent{z, s, e})
			}
			return true
		})
		for _, r := range runs {
			for p := r.start; p < r.end; p += 2 {
				z.frames.assign(p, p+1, Owner{Kind: FileCache, ID: cacheFiles, MT: Movable})
				m.cache.inactive++
			}
		}
	}
}

func TestHugePagesFailUnderFragmentationThenCompactionHelps(t *testing.T) {
	m := newMem(t, 1<<30, 1)
	fragment(t, m)
	require.Zero(t, freeBlocksAtLeast(m, 9), "no order-9 block left")
	// Without compaction there would be none; the pool compacts once and gets some.
	got := m.SetNrHugepages(Huge2M, 1000)
	require.Positive(t, got, "compaction made room for some")
	require.Less(t, got, uint64(1000), "but not all: partial success, as Linux")
	require.Positive(t, m.Events.CompactSuccess)
	require.Positive(t, m.Events.HtlbBuddyAllocFail)
	free := m.FreePages()
	m.SetNrHugepages(Huge2M, 0)
	require.Equal(t, free+got*512, m.FreePages())
}

func TestCompactionGathersFreeMemory(t *testing.T) {
	m := newMem(t, 1<<30, 1)
	fragment(t, m)
	before := freeBlocksAtLeast(m, MaxOrder)
	freeBefore := m.FreePages()
	cached := m.count(FileCache)
	m.Compact()
	require.Greater(t, freeBlocksAtLeast(m, MaxOrder), before+50)
	require.Equal(t, freeBefore, m.FreePages(), "compaction moves pages, it frees none")
	require.Equal(t, cached, m.count(FileCache))
}

func TestGigantinPagesNeedAlignedGigabytes(t *testing.T) {
	m := newMem(t, 8<<30, 1)
	require.Equal(t, uint64(2), m.SetNrHugepages(Huge1G, 2))
	require.Equal(t, uint64(2<<18), m.count(Hugetlb))
}

func TestWatermarksFollowTheKernelFormula(t *testing.T) {
	m := newMem(t, 8<<30, 1)
	require.Equal(t, isqrt(m.lowmemPages()*4*16), m.Tunables.MinFreeKB, "calculate_min_free_kbytes")
	vm, err := sysctl.NewTable(m.Sysctls()...)
	require.NoError(t, err)
	require.NoError(t, vm.Write("vm.min_free_kbytes", sysctl.Op{}, "65536\n"))
	require.True(t, m.Tunables.UserMinFreeKB)
	pagesMin := uint64(65536 / 4)
	lowmem := m.lowmemPages()
	for _, z := range m.Zones() {
		if !z.Populated() {
			continue
		}
		wantMin := pagesMin * z.Managed / lowmem
		gap := max(wantMin/4, z.Managed*10/10000)
		require.Equal(t, [3]uint64{wantMin, wantMin + gap, wantMin + 2*gap}, [3]uint64{z.WatermarkMin, z.WatermarkLow, z.WatermarkHigh})
	}
	require.ErrorIs(t, vm.Write("vm.watermark_scale_factor", sysctl.Op{}, "0"), syscall.EINVAL)
	require.ErrorIs(t, vm.Write("vm.watermark_scale_factor", sysctl.Op{}, "3001"), syscall.EINVAL)
	low := m.Zones()[len(m.Zones())-2].WatermarkLow
	require.NoError(t, vm.Write("vm.watermark_scale_factor", sysctl.Op{}, "1000"))
	require.Greater(t, m.Zones()[len(m.Zones())-2].WatermarkLow, low, "a larger gap")
}

func TestMemoryFailureByOwner(t *testing.T) {
	m := newMem(t, 1<<30, 1)
	as, err := m.NewAddressSpace(Image{Text: 64 << 10, Data: 8 << 10, Libs: 1 << 20, Heap: 1 << 20, Stack: 128 << 10,
		RSSAnon: 4 << 20, RSSFile: 1 << 20, Path: "/bin/x"}, m.rng, MemPolicy{}, 0)
	require.NoError(t, err)
	var anonPFN uint64
	for _, z := range m.Zones() {
		z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
			if o.Kind == Anon && o.ID == as.ID() {
				anonPFN = s
				return false
			}
			return true
		})
	}
	require.NotZero(t, anonPFN)
	// Soft offline migrates: the process keeps its pages.
	rss := as.RSSAnon()
	r, err := m.SoftOffline(anonPFN)
	require.NoError(t, err)
	require.Zero(t, r.SigbusAS)
	require.Equal(t, rss, as.RSSAnon())
	require.Equal(t, uint64(rss), m.countZones(m.Zones()).anonOf(m, as.ID()))
	require.Equal(t, uint64(1), m.HardwareCorrupted())
	// Hard offline of another of its pages: SIGBUS for it.
	var next uint64
	for _, z := range m.Zones() {
		z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
			if o.Kind == Anon && o.ID == as.ID() {
				next = s
				return false
			}
			return true
		})
	}
	r, err = m.HardOffline(next)
	require.NoError(t, err)
	require.Equal(t, as.ID(), r.SigbusAS)
	require.Equal(t, uint64(2), m.HardwareCorrupted())
	_, err = m.HardOffline(next)
	require.ErrorIs(t, err, ErrPoisoned)
	// A slab page cannot be moved: EBUSY, but it is marked bad.
	var slabPFN uint64
	for _, z := range m.Zones() {
		z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
			if o.Kind == Slab {
				slabPFN = s
				return false
			}
			return true
		})
	}
	_, err = m.SoftOffline(slabPFN)
	require.ErrorIs(t, err, ErrPageBusy)
	_, err = m.HardOffline(slabPFN)
	require.ErrorIs(t, err, ErrPageBusy)
	require.Equal(t, uint64(3), m.HardwareCorrupted())
	_, err = m.SoftOffline(m.MaxPFN() + 10)
	require.ErrorIs(t, err, ErrNoPage)
}

func TestSwapTakesAnonymousMemoryUnderPressure(t *testing.T) {
	m := newMem(t, 512<<20, 1)
	m.DropCaches(3)
	as, err := m.NewAddressSpace(Image{Text: 64 << 10, Libs: 1 << 20, Heap: 1 << 20, Stack: 128 << 10, RSSAnon: 64 << 20, Path: "/bin/x"}, m.rng, MemPolicy{}, 0)
	require.NoError(t, err)
	require.NoError(t, m.GrowAnon(as, m.FreePages()-m.nodes[0].Zones[ZoneDMA32].WatermarkMin))
	require.Positive(t, m.Events.PswpOut, "reclaim swapped anonymous pages out")
	total, used := m.SwapPages()
	require.Positive(t, used)
	require.LessOrEqual(t, used, total)
	require.Equal(t, used, as.SwapPages())
	m.ReleaseAddressSpace(as)
	_, used = m.SwapPages()
	require.Zero(t, used)
}

// anonOf counts an address space's anonymous frames.
func (c counts) anonOf(m *Memory, id uint64) uint64 {
	var n uint64
	for _, z := range m.Zones() {
		if z.frames != nil {
			n += z.frames.count(is(Anon, id))
		}
	}
	return n
}

func TestOvercommitNeverRefusesBeyondCommitLimit(t *testing.T) {
	m := newMem(t, 1<<30, 1)
	img := Image{Text: 64 << 10, Libs: 1 << 20, Heap: 600 << 20, Stack: 128 << 10, RSSAnon: 1 << 20, Path: "/bin/x"}
	m.Tunables.OvercommitMemory = 2 // CommitLimit: half of RAM plus 256 MiB swap, about 750 MiB
	as, err := m.NewAddressSpace(img, m.rng, MemPolicy{}, 0)
	require.NoError(t, err, "600 MiB fits")
	_, err = m.NewAddressSpace(img, m.rng, MemPolicy{}, 0)
	require.ErrorIs(t, err, ErrCommit, "another 600 MiB does not")
	require.ErrorIs(t, m.GrowAnon(as, 200<<20/PageSize), ErrCommit)
	m.Tunables.OvercommitMemory = 1
	_, err = m.NewAddressSpace(img, m.rng, MemPolicy{}, 0)
	require.NoError(t, err)
}

package mm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The direct map of this project's Linux 6.18 machine, from its own
// numbers: dmesg's BIOS-e820 map, and /proc/meminfo's DirectMap4k 30720 kB
// and DirectMap2M 25135104 kB (its CPU has no pdpe1gb, so no 1 GiB pages).
func TestDirectMapOfTheMeasuredMachine(t *testing.T) {
	host := []Region{
		{0, 0x9fbff, "usable"},
		{0x9fc00, 0xfffff, "reserved"},
		{0x100000, 0xbfffffff, "usable"},
		{0xeec00000, 0xfebfffff, "reserved"},
		{0x100000000, 0x63fffffff, "usable"},
	}
	k4, m2, g1 := directMap(host, false).KB()
	require.Equal(t, [3]uint64{30720, 25135104, 0}, [3]uint64{k4, m2, g1})
}

// With 1 GiB pages, split_mem_range puts them wherever a whole aligned
// gigabyte of one RAM range lies; 2 MiB pages fill up to it; 4 KiB pages
// only the ISA range, the ragged ends and what boot splits. The sizes add
// up to the first MiB and the RAM above it.
func TestDirectMapSplitsRAMIntoTheLargestPages(t *testing.T) {
	for _, c := range []struct {
		mem        uint64
		k4, m2, g1 uint64 // pages
	}{
		// RAM [1M, 3G-128K) and [4G, 9G): 1 GiB pages at 1G and 4G..8G; 2 MiB in
		// [2M, 1G) and [2G, 3G-2M); 4 KiB for [0, 2M) and [3G-2M, 3G-128K).
		{8 << 30, 512 + 480 + directMapSplits*512, 511 + 511 - directMapSplits, 6},
		// RAM [1M, 1G-128K): no whole gigabyte.
		{1 << 30, 512 + 480 + directMapSplits*512, 510 - directMapSplits, 0},
	} {
		m := newMem(t, c.mem, 1)
		d := directMap(m.E820(), true)
		require.Equal(t, DirectMap{c.k4, c.m2, c.g1}, d, "%d bytes", c.mem)
		var ram uint64
		for _, r := range ramExtents(m.E820()) {
			if s := max(r.start, isaEnd/PageSize); s < r.end {
				ram += r.end - s
			}
		}
		require.Equal(t, isaEnd/PageSize+ram, d.Pages4K+d.Pages2M*512+d.Pages1G<<18)
	}
}

// setup_per_zone_lowmem_reserve with this machine's managed pages
// (zoneinfo: DMA 3840, DMA32 772808, Normal 327680, Movable and Device
// empty) gives its protection rows.
func TestLowmemReserveAsMeasured(t *testing.T) {
	n := &Node{}
	for i, managed := range []uint64{3840, 772808, 327680, 0} {
		n.Zones[i] = &Zone{Type: ZoneType(i), Managed: managed}
	}
	n.setLowmemReserve()
	want := [][MaxNrZones]uint64{{0, 3018, 4298, 4298, 4298}, {0, 0, 1280, 1280, 1280}, {}, {}}
	for i, z := range n.Zones {
		require.Equal(t, want[i], z.LowmemReserve, ZoneNames[i])
	}
}

// Zones span the node clamped to the zone's limits (holes included) and
// start at pfn 1; on two nodes the second starts at its first RAM frame.
func TestZoneSpans(t *testing.T) {
	m := newMem(t, 8<<30, 2)
	type span struct{ start, spanned, present uint64 }
	got := map[[2]int]span{}
	for _, z := range m.Zones() {
		got[[2]int{z.Node, int(z.Type)}] = span{z.Start, z.Spanned(), z.Present}
	}
	n1 := m.Nodes()[1].Start
	require.Zero(t, n1%(blockBytes(8<<30)/PageSize))
	require.Equal(t, map[[2]int]span{
		{0, 0}: {1, 4095, 3998},
		{0, 1}: {4096, 1<<20 - 4096, 786400 - 4096},
		{0, 2}: {1 << 20, n1 - 1<<20, n1 - 1<<20},
		{0, 3}: {},
		{1, 0}: {}, {1, 1}: {},
		{1, 2}: {n1, 9<<18 - n1, 9<<18 - n1},
		{1, 3}: {},
	}, got)
	// A zone's RAM, not its span, makes a memory block present.
	dma32 := m.Nodes()[0].Zones[ZoneDMA32]
	require.Zero(t, dma32.PresentIn(3<<18, 4<<18), "the PCI hole")
	require.Equal(t, uint64(1<<15-32), dma32.PresentIn(3<<18-1<<15, 3<<18), "the block below it, less the ACPI tables")
}

// The zones' LRU parts add up to the machine's counters exactly, node by
// node too, whatever the rounding.
func TestZoneLRUsAddUp(t *testing.T) {
	m := newMem(t, 4<<30, 2)
	as, err := m.NewAddressSpace(Image{Text: 64 << 10, Libs: 1 << 20, Heap: 8 << 20, Stack: 128 << 10,
		RSSAnon: 7777 << 10, RSSFile: 333 << 10, Path: "/bin/x"}, m.rng, MemPolicy{}, 0)
	require.NoError(t, err)
	defer m.ReleaseAddressSpace(as)
	in := m.Info()
	var sum Info
	for _, n := range m.Nodes() {
		ni := m.NodeInfo(n.ID)
		sum.ActiveAnon += ni.ActiveAnon
		sum.InactiveAnon += ni.InactiveAnon
		sum.ActiveFile += ni.ActiveFile
		sum.InactiveFile += ni.InactiveFile
		sum.Mapped += ni.Mapped
	}
	require.Equal(t, [5]uint64{in.ActiveAnon, in.InactiveAnon, in.ActiveFile, in.InactiveFile, in.Mapped},
		[5]uint64{sum.ActiveAnon, sum.InactiveAnon, sum.ActiveFile, sum.InactiveFile, sum.Mapped})
	require.Equal(t, (in.AnonPages+in.Shmem)*7/10, in.ActiveAnon)

	require.Equal(t, []uint64{0, 0}, apportion(5, []uint64{0, 0}))
	parts := apportion(10, []uint64{1, 0, 1, 1})
	require.Equal(t, []uint64{4, 0, 3, 3}, parts, "leftovers to the first on a tie, none to a zero weight")
	parts = apportion(1<<40, []uint64{1 << 40, 3 << 40})
	require.Equal(t, []uint64{1 << 38, 3 << 38}, parts, "no overflow")
}

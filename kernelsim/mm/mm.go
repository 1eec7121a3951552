// Package mm is the simulated kernel's memory: the physical memory map,
// NUMA nodes and zones with buddy allocators and watermarks, and the
// consumers of memory: task address spaces, the page cache, slab caches,
// kernel stacks and page tables, huge pages; and what keeps it going:
// reclaim by kswapd and direct reclaim, swap, compaction and memory
// failure handling. The OOM killer lives in the kernel, which knows the
// tasks; mm calls it through a hook.
//
// Every page frame has an owner, kept as intervals (see ranges.go), so a
// machine of any size costs memory in proportion to its fragmentation.
// Every count any file shows is derived from those owners, so the files
// agree by construction.
package mm

import (
	"fmt"
	"math/rand/v2"
	"syscall"

	"ksim/kernelsim/errno"
)

const (
	PageSize  = 4096
	PageShift = 12
	// structPageSize is sizeof(struct page) on x86_64: the memmap costs 64
	// bytes per 4 KiB page, reserved at boot (mm/mm_init.c alloc_node_mem_map).
	structPageSize = 64
	// ThreadSize is the kernel stack per task on x86_64 (THREAD_SIZE, 16 KiB).
	ThreadSize  = 16 << 10
	threadPages = ThreadSize / PageSize
)

// ErrNoMemory is an allocation that reclaim and the OOM killer could not satisfy.
var ErrNoMemory = errno.New(syscall.ENOMEM, "out of memory")

// Config describes the machine's memory.
type Config struct {
	MemBytes  uint64
	Nodes     int    // NUMA nodes, at least 1
	SwapBytes uint64 // a swap partition of this size, 0 for none
}

// Region is one entry of the firmware (e820) memory map.
type Region struct {
	Start, End uint64 // [Start, End] inclusive, as the kernel prints them
	Type       string // "usable", "reserved", ...
}

// KernelImage is the size of the kernel's own sections, as the boot
// "Memory:" line reports them, in bytes.
type KernelImage struct {
	Code, RWData, ROData, Init, BSS uint64
}

// kernelLoadAddr is where the kernel image sits: 16 MiB (CONFIG_PHYSICAL_START).
const kernelLoadAddr = 16 << 20

// extent is a run of frames in one zone: [start, end).
type extent struct {
	z          *Zone
	start, end uint64
}

func (e extent) pages() uint64 { return e.end - e.start }

// Memory is the machine's physical memory and everything that uses it.
type Memory struct {
	cfg    Config
	rng    *rand.Rand
	e820   []Region
	image  KernelImage
	nodes  []*Node
	zones  []*Zone // node by node, DMA to Movable
	maxPFN uint64

	stacks    uint64 // kernel stacks
	cache     pageCache
	slabs     []*SlabCache
	huge      [NrHugeSizes]*HugePool
	swap      swapSpace
	spaces    []*AddressSpace // accounted address spaces, oldest first
	nextASID  uint64
	committed uint64 // private writable virtual memory of all processes (vm_committed_as)
	// poisonedInUse are bad frames still held by the kernel, which cannot give them up.
	poisonedInUse map[uint64]bool

	Tunables Tunables
	THP      THP
	Events   Events
	// compactMemory is what was last written to vm.compact_memory.
	compactMemory int

	// OOM is the kernel's OOM killer: called when reclaim cannot satisfy
	// an allocation; it reports whether it freed memory, so the
	// allocation should be tried again.
	OOM func(order int) bool
	// WakeKswapd is told when a node's kswapd should run.
	WakeKswapd func(node int)
	// LocalNode is the node of the CPU the allocating task runs on, where
	// its memory comes from first (node 0 if nil).
	LocalNode func() int
}

// Tunables are the vm sysctls memory obeys.
type Tunables struct {
	MinFreeKB            uint64 // vm.min_free_kbytes
	UserMinFreeKB        bool   // set by the user: boot's calculation no longer applies
	WatermarkScaleFactor uint64 // vm.watermark_scale_factor, 1/10000ths
	Swappiness           int    // vm.swappiness, 0..200
	VFSCachePressure     int    // vm.vfs_cache_pressure
	OvercommitMemory     int    // vm.overcommit_memory: 0 heuristic, 1 always, 2 never
	OvercommitRatio      uint64 // vm.overcommit_ratio, percent
	OvercommitKbytes     uint64 // vm.overcommit_kbytes
	DirtyRatio           int    // vm.dirty_ratio
	DirtyBackgroundRatio int    // vm.dirty_background_ratio
	DirtyBytes           uint64 // vm.dirty_bytes
	DirtyBackgroundBytes uint64 // vm.dirty_background_bytes
	DirtyExpireCentisecs int    // vm.dirty_expire_centisecs
	DirtyWritebackCentis int    // vm.dirty_writeback_centisecs
}

// New lays out the machine's memory as PC firmware would, splits it into
// NUMA nodes and zones, reserves what the kernel takes at boot and hands
// the rest to the buddy allocators. rng gives the machine its own small
// variations, deterministic per seed.
func New(cfg Config, rng *rand.Rand) (*Memory, error) {
	if cfg.MemBytes < MinMemBytes || cfg.MemBytes > MaxMemBytes {
		return nil, fmt.Errorf("memory size %d bytes: want 256M..64T", cfg.MemBytes)
	}
	if cfg.Nodes < 1 || cfg.Nodes > MaxNodesFor(cfg.MemBytes) {
		return nil, fmt.Errorf("numa nodes %d: want 1..%d for %d bytes (two memory blocks each)",
			cfg.Nodes, MaxNodesFor(cfg.MemBytes), cfg.MemBytes)
	}
	m := &Memory{cfg: cfg, rng: rng, e820: e820Map(cfg.MemBytes), poisonedInUse: map[uint64]bool{}}
	m.image = KernelImage{Code: 16 << 20, RWData: 4 << 20, ROData: 12 << 20, Init: 4 << 20, BSS: 6 << 20}
	m.Tunables = Tunables{
		WatermarkScaleFactor: 10, Swappiness: 60, VFSCachePressure: 100, OvercommitRatio: 50,
		DirtyRatio: 20, DirtyBackgroundRatio: 10, DirtyExpireCentisecs: 3000, DirtyWritebackCentis: 500,
	}
	m.THP = defaultTHP()
	m.layout()
	m.reserveBoot()
	m.setMinFreeKB(m.defaultMinFreeKB())
	m.swap.total = cfg.SwapBytes / PageSize
	m.initSlabs()
	m.initHugePools()
	if err := m.bootConsumers(); err != nil {
		return nil, err
	}
	return m, nil
}

// e820Map returns the map QEMU's PC firmware gives a machine of this size:
// low memory, the legacy hole, and above 3 GiB a PCI hole with the rest of
// RAM moved above 4 GiB.
func e820Map(memBytes uint64) []Region {
	const (
		lowTop   = 0x9fc00
		highBase = 0x100000
		below4G  = 0xc0000000 // RAM below the PCI hole
		hole4G   = 0x100000000
		acpiSize = 0x20000 // ACPI tables at the top of low RAM
	)
	regions := []Region{
		{0, lowTop - 1, "usable"},
		{lowTop, 0x9ffff, "reserved"},
		{0xf0000, 0xfffff, "reserved"},
	}
	lowRAM := min(memBytes, below4G)
	regions = append(regions,
		Region{highBase, lowRAM - acpiSize - 1, "usable"},
		Region{lowRAM - acpiSize, lowRAM - 1, "reserved"},
		Region{0xfeffc000, 0xfeffffff, "reserved"},
		Region{0xfffc0000, 0xffffffff, "reserved"},
	)
	if memBytes > below4G {
		regions = append(regions, Region{hole4G, hole4G + memBytes - below4G - 1, "usable"})
	}
	return regions
}

// The machines the model lays out: from 256 MiB, below which the boot
// reservations leave too little, to 64 TiB, the physical address space of
// 4-level paging (MAX_PHYSMEM_BITS 46); and up to 64 nodes.
const (
	MinMemBytes = 256 << 20
	MaxMemBytes = 64 << 40
	MaxNodes    = 64
)

// MaxNodesFor is how many NUMA nodes memBytes can be split into: each
// node gets at least two memory blocks.
func MaxNodesFor(memBytes uint64) int {
	return int(min(uint64(MaxNodes), memBytes/(2*blockBytes(memBytes))))
}

// blockBytes is the memory block size x86 uses (arch/x86/mm/init_64.c
// probe_memory_block_size): 128 MiB, or 2 GiB on machines of 64 GiB and up.
func blockBytes(memBytes uint64) uint64 {
	if memBytes >= 64<<30 {
		return 2 << 30
	}
	return 128 << 20
}

// ramExtents are the frames of the RAM the kernel uses: the e820 map's
// usable ranges, whole pages only (PFN_UP of the start, PFN_DOWN of the
// end, as memblock hands them out), less the first page, which
// trim_bios_range (arch/x86/kernel/setup.c) turns reserved: "e820: update
// [mem 0x00000000-0x00000fff] usable ==> reserved".
func ramExtents(e820 []Region) []extent {
	var out []extent
	for _, r := range e820 {
		if r.Type != "usable" {
			continue
		}
		s, e := max((r.Start+PageSize-1)/PageSize, 1), (r.End+1)/PageSize
		if s < e {
			out = append(out, extent{start: s, end: e})
		}
	}
	return out
}

// layout splits usable RAM into nodes of equal size, in address order and
// on memory-block boundaries, and each node into zones.
func (m *Memory) layout() {
	usable := ramExtents(m.e820) // as raw pfn ranges; z unset
	m.maxPFN = usable[len(usable)-1].end
	var total uint64
	for _, u := range usable {
		total += u.pages()
	}
	blockPages := blockBytes(m.cfg.MemBytes) / PageSize
	perNode := total / uint64(m.cfg.Nodes)
	// Node boundaries: where each node's share of usable pages ends, rounded to a block.
	bounds := []uint64{0}
	var seen uint64
	next := perNode
	for _, u := range usable {
		for len(bounds) < m.cfg.Nodes && seen+u.pages() > next {
			pfn := u.start + (next - seen)
			pfn = (pfn + blockPages/2) / blockPages * blockPages
			bounds = append(bounds, pfn)
			next += perNode
		}
		seen += u.pages()
	}
	bounds = append(bounds, m.maxPFN)

	zoneLimits := [NrZones][2]uint64{
		{0, dma32StartPFN}, {dma32StartPFN, normalStartPFN}, {normalStartPFN, m.maxPFN}, {m.maxPFN, m.maxPFN},
	}
	for id := range m.cfg.Nodes {
		// get_pfn_range_for_nid: a node runs from its first RAM frame to its last.
		n := &Node{ID: id, Start: bounds[id+1], End: bounds[id]}
		for _, u := range usable {
			if a, b := max(u.start, bounds[id]), min(u.end, bounds[id+1]); a < b {
				n.Start, n.End = min(n.Start, a), max(n.End, b)
			}
		}
		for t := ZoneDMA; t < NrZones; t++ {
			// zone_spanned_pages_in_node (mm/mm_init.c): the node's span
			// clamped to the zone's limits, holes included; present
			// counts the RAM in it.
			s := max(n.Start, zoneLimits[t][0])
			e := min(n.End, zoneLimits[t][1])
			z := &Zone{Node: id, Type: t}
			if s < e {
				z.Start, z.End = s, e
				frames := newRangeMap(s, e)
				for _, u := range usable {
					if a, b := max(u.start, s), min(u.end, e); a < b {
						frames.assign(a, b, Owner{Kind: Free, MT: Movable})
						z.Present += b - a
					}
				}
				if z.Present > 0 {
					z.frames = frames
					z.initPageblocks()
				}
			}
			n.Zones[t] = z
			m.zones = append(m.zones, z)
		}
		m.nodes = append(m.nodes, n)
	}
}

// reserveBoot takes what memblock hands to no allocator: the first
// megabyte (real-mode trampoline and BIOS areas), the kernel image, each
// node's memmap, and the early allocations that stay (direct-map page
// tables, firmware tables), then counts the managed pages.
func (m *Memory) reserveBoot() {
	reserve := func(z *Zone, s, e uint64) {
		z.frames.each(s, e, func(a, b uint64, o Owner) bool {
			if o.Kind == Free {
				z.frames.assign(a, b, Owner{Kind: Reserved, MT: Unmovable})
			}
			return true
		})
	}
	dma := m.nodes[0].Zones[ZoneDMA]
	reserve(dma, 0, 256)
	img := m.image
	imgPages := (img.Code + img.RWData + img.ROData + img.BSS) / PageSize
	k := uint64(kernelLoadAddr / PageSize)
	reserve(m.zoneOf(k), k, k+imgPages)
	for _, n := range m.nodes {
		memmap := n.Present() * structPageSize / PageSize
		early := n.Present()/512 + 2048
		// memblock allocates top-down: the memmap and early tables sit at the node's end.
		need := memmap + early
		for t := NrZones - 1; t >= 0 && need > 0; t-- {
			z := n.Zones[t]
			if z.frames == nil {
				continue
			}
			for pfn := z.End; pfn > z.Start && need > 0; {
				i := z.frames.find(pfn - 1)
				s, o := z.frames.runs[i].start, z.frames.runs[i].owner
				if o.Kind == Free {
					take := min(need, pfn-s)
					z.frames.assign(pfn-take, pfn, Owner{Kind: Reserved, MT: Unmovable})
					need -= take
				}
				pfn = s
			}
		}
	}
	for _, z := range m.zones {
		z.Managed = z.FreePages()
	}
	for _, n := range m.nodes {
		n.setLowmemReserve()
	}
}

// zoneOf returns the zone holding pfn.
func (m *Memory) zoneOf(pfn uint64) *Zone {
	for _, z := range m.zones {
		if z.frames != nil && pfn >= z.Start && pfn < z.End {
			return z
		}
	}
	return nil
}

// Nodes returns the NUMA nodes.
func (m *Memory) Nodes() []*Node { return m.nodes }

// Zones returns every zone, node by node.
func (m *Memory) Zones() []*Zone { return m.zones }

// E820 is the firmware memory map.
func (m *Memory) E820() []Region { return append([]Region(nil), m.e820...) }

// Image is the kernel image layout.
func (m *Memory) Image() KernelImage { return m.image }

// MaxPFN is one past the highest RAM frame.
func (m *Memory) MaxPFN() uint64 { return m.maxPFN }

// BlockBytes is the memory block size sysfs shows.
func (m *Memory) BlockBytes() uint64 { return blockBytes(m.cfg.MemBytes) }

// PresentPages is the usable RAM the firmware reported.
func (m *Memory) PresentPages() uint64 {
	var p uint64
	for _, z := range m.zones {
		p += z.Present
	}
	return p
}

// TotalPages is MemTotal in pages: what the buddy allocators manage.
func (m *Memory) TotalPages() uint64 {
	var p uint64
	for _, z := range m.zones {
		p += z.Managed
	}
	return p
}

// FreePages is NR_FREE_PAGES: every zone's free lists.
func (m *Memory) FreePages() uint64 {
	var p uint64
	for _, z := range m.zones {
		p += z.FreePages()
	}
	return p
}

// count sums the frames held by one kind of owner over all zones.
func (m *Memory) count(kind OwnerKind) uint64 {
	var p uint64
	for _, z := range m.zones {
		p += z.Count(kind)
	}
	return p
}

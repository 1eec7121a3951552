package mm

// ZoneType is a memory zone (include/linux/mmzone.h enum zone_type).
type ZoneType int

const (
	ZoneDMA ZoneType = iota
	ZoneDMA32
	ZoneNormal
	ZoneMovable
	NrZones
)

// MaxNrZones is MAX_NR_ZONES: the zone types above and ZONE_DEVICE
// (CONFIG_ZONE_DEVICE, on in Debian's config), which never has memory
// here but has its column in every zone's protection.
const MaxNrZones = NrZones + 1

// ZoneNames are the zones' names as /proc prints them.
var ZoneNames = [NrZones]string{"DMA", "DMA32", "Normal", "Movable"}

// Zone boundaries on x86_64 (arch/x86/mm/init.c zone_sizes_init): DMA
// below 16 MiB, DMA32 below 4 GiB, Normal above.
const (
	dma32StartPFN  = (16 << 20) / PageSize
	normalStartPFN = (4 << 30) / PageSize
)

// Zone is a node's range of page frames of one type, with its own buddy
// allocator and watermarks.
type Zone struct {
	Node    int
	Type    ZoneType
	Start   uint64 // first pfn of the span (zone_start_pfn)
	End     uint64 // one past the last
	Present uint64 // RAM frames in the span
	Managed uint64 // present and handed to the buddy allocator
	frames  *rangeMap

	// Watermarks in pages (WMARK_MIN, WMARK_LOW, WMARK_HIGH) and how much
	// each higher zone's allocations must leave here (lowmem_reserve).
	WatermarkMin, WatermarkLow, WatermarkHigh uint64
	WatermarkPromo                            uint64 // WMARK_PROMO, for memory tiering
	LowmemReserve                             [MaxNrZones]uint64

	// Events, as the per-zone vmstat counters.
	PgAlloc uint64
	Numa    NumaEvents
}

// Spanned is spanned_pages: the frames from the first to the last, holes included.
func (z *Zone) Spanned() uint64 { return z.End - z.Start }

// Populated says whether the zone has memory.
func (z *Zone) Populated() bool { return z.Present > 0 }

// FreePages is NR_FREE_PAGES of the zone: frames on its free lists.
func (z *Zone) FreePages() uint64 {
	if z.frames == nil {
		return 0
	}
	return z.frames.freePages
}

// FreeBlocks is the zone's free-list counts: [order][migrate type].
func (z *Zone) FreeBlocks() [NrOrders][NrMigrateTypes]uint64 {
	if z.frames == nil {
		return [NrOrders][NrMigrateTypes]uint64{}
	}
	return z.frames.freeCount
}

// Count sums the zone's frames held by one kind of owner.
func (z *Zone) Count(kind OwnerKind) uint64 {
	if z.frames == nil {
		return 0
	}
	return z.frames.count(func(o Owner) bool { return o.Kind == kind })
}

// PresentIn counts the zone's RAM frames in [start, end): what makes a
// memory block or a section present, which the span alone does not say.
func (z *Zone) PresentIn(start, end uint64) uint64 {
	if z.frames == nil {
		return 0
	}
	return z.frames.countIn(start, end, func(o Owner) bool { return o.Kind != Hole })
}

// pageblockPages is pageblock_nr_pages: 2^pageblock_order (9 on x86_64).
// It is also PAGES_PER_SUBSECTION, the granularity at which sparsemem
// knows which frames have a memmap (pfn_section_valid).
const pageblockPages = 1 << 9

// initPageblocks gives the zone's free frames the migrate type of their
// pageblock at boot. memmap_init_range (mm/mm_init.c) marks a block
// MIGRATE_MOVABLE when it initializes the block's first frame; a block
// whose first frame is not RAM (block 0, whose pfn 0 trim_bios_range
// took) keeps type 0, MIGRATE_UNMOVABLE, and memblock_free_all puts its
// free frames on that list (free_one_page takes the block's type).
// Measured: DMA's order-8 block of pfns 256-511 is on the Unmovable list.
func (z *Zone) initPageblocks() {
	r := z.frames
	var headless []extent // RAM frames of blocks whose first frame is not RAM
	if head := r.base &^ (pageblockPages - 1); head < r.base {
		headless = append(headless, extent{z, r.base, min(head+pageblockPages, r.end)})
	}
	r.each(r.base, r.end, func(s, e uint64, o Owner) bool {
		if o.Kind == Hole && e < r.end {
			if head := (e - 1) &^ (pageblockPages - 1); head >= s && head+pageblockPages > e {
				headless = append(headless, extent{z, e, min(head+pageblockPages, r.end)})
			}
		}
		return true
	})
	for _, h := range headless {
		var free []extent
		r.each(h.start, h.end, func(s, e uint64, o Owner) bool {
			if o.Kind == Free {
				free = append(free, extent{z, s, e})
			}
			return true
		})
		for _, f := range free {
			r.assign(f.start, f.end, Owner{Kind: Free, MT: Unmovable})
		}
	}
}

// PageblockTypes counts the zone's pageblocks by migrate type as
// pagetypeinfo_showblockcount_print (mm/vmstat.c) does: from
// zone_start_pfn in steps of pageblock_nr_pages, one block a step,
// skipping steps whose frame is not online (pfn_to_online_page: no RAM in
// its subsection). A block's type is the one most of its allocated or
// free frames have, as allocations that take a block make it theirs
// (steal_suitable_fallback); a block of only memblock reservations keeps
// its boot type, Movable, or Unmovable when its first frame is not RAM
// (see initPageblocks).
func (z *Zone) PageblockTypes() [NrMigrateTypes]uint64 {
	var out [NrMigrateTypes]uint64
	if z.frames == nil {
		return out
	}
	const pb = pageblockPages
	first := z.Start / pb
	steps := (z.End - z.Start + pb - 1) / pb
	r := z.frames
	const none = ^uint64(0)
	blk := none
	var tally [NrMigrateTypes]uint64
	var ram bool
	flush := func() {
		if blk != none && ram {
			out[z.blockType(blk, tally)]++
		}
		blk, tally, ram = none, [NrMigrateTypes]uint64{}, false
	}
	r.each(max(first*pb, r.base), min((first+steps)*pb, r.end), func(s, e uint64, o Owner) bool {
		for s < e {
			b := s / pb
			if b != blk {
				flush()
				blk = b
			}
			if s == b*pb && e-s >= pb { // whole blocks of one owner, counted at once
				k := (e - s) / pb
				if o.Kind != Hole {
					mt := o.MT
					if o.Kind == Reserved {
						mt = Movable
					}
					out[mt] += k
				}
				s += k * pb
				blk = none
				continue
			}
			end := min(e, (b+1)*pb)
			if o.Kind != Hole {
				ram = true
				if o.Kind != Reserved {
					tally[o.MT] += end - s
				}
			}
			s = end
		}
		return true
	})
	flush()
	return out
}

// blockType is the migrate type of pageblock b given its frames' types
// (reservations left out): the most common, the first on a tie; with
// none, its boot type.
func (z *Zone) blockType(b uint64, tally [NrMigrateTypes]uint64) MigrateType {
	best := MigrateType(-1)
	for mt, n := range tally {
		if n > 0 && (best < 0 || n > tally[best]) {
			best = MigrateType(mt)
		}
	}
	if best >= 0 {
		return best
	}
	head := b * pageblockPages
	if head < z.frames.base || z.frames.Owner(head).Kind == Hole {
		return Unmovable
	}
	return Movable
}

// Node is a NUMA node (pg_data_t): its zones and the CPUs near it.
type Node struct {
	ID    int
	Zones [NrZones]*Zone
	Start uint64 // node_start_pfn
	End   uint64
	// KswapdActive says kswapd is reclaiming for this node.
	KswapdActive bool
}

// Present sums the node's present pages.
func (n *Node) Present() uint64 {
	var p uint64
	for _, z := range n.Zones {
		p += z.Present
	}
	return p
}

// Managed sums the node's managed pages (its MemTotal).
func (n *Node) Managed() uint64 {
	var p uint64
	for _, z := range n.Zones {
		p += z.Managed
	}
	return p
}

// FreePages sums the node's free pages.
func (n *Node) FreePages() uint64 {
	var p uint64
	for _, z := range n.Zones {
		p += z.FreePages()
	}
	return p
}

// Count sums the node's frames held by one kind of owner.
func (n *Node) Count(kind OwnerKind) uint64 {
	var p uint64
	for _, z := range n.Zones {
		p += z.Count(kind)
	}
	return p
}

// lowmemReserveRatio is sysctl_lowmem_reserve_ratio (mm/page_alloc.c):
// DMA and DMA32 keep 1/256 of the higher zones' memory, Normal 1/32;
// Movable and Device keep none.
var lowmemReserveRatio = [MaxNrZones]uint64{256, 256, 32, 0, 0}

// setLowmemReserve is setup_per_zone_lowmem_reserve (mm/page_alloc.c,
// 6.18): zone i keeps back from allocations that could have used zone j
// the managed pages of zones i+1..j over its ratio. The running total
// carries on through empty higher zones (their columns repeat it); only
// an empty zone i or a zero ratio clears the row.
func (n *Node) setLowmemReserve() {
	managed := func(j ZoneType) uint64 {
		if j < NrZones {
			return n.Zones[j].Managed
		}
		return 0 // ZONE_DEVICE
	}
	for i := range MaxNrZones - 1 {
		z := n.Zones[i]
		ratio := lowmemReserveRatio[i]
		clear := ratio == 0 || z.Managed == 0
		var upper uint64
		for j := i + 1; j < MaxNrZones; j++ {
			upper += managed(j)
			z.LowmemReserve[j] = 0
			if !clear {
				z.LowmemReserve[j] = upper / ratio
			}
		}
	}
}

// maxReserve is the most any higher zone's allocations leave in z.
func (z *Zone) maxReserve() uint64 {
	var m uint64
	for _, r := range z.LowmemReserve {
		m = max(m, r)
	}
	return m
}

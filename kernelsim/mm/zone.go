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
	LowmemReserve                             [NrZones]uint64

	// Events, as the per-zone vmstat counters.
	PgAlloc uint64
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

// PageblockTypes counts the zone's pageblocks (2 MiB) by migrate type:
// a pageblock has the type most of its frames have.
func (z *Zone) PageblockTypes() [NrMigrateTypes]uint64 {
	var out [NrMigrateTypes]uint64
	if z.frames == nil {
		return out
	}
	var byType [NrMigrateTypes]uint64
	z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
		if o.Kind != Hole {
			byType[o.MT] += e - s
		}
		return true
	})
	for mt, n := range byType {
		out[mt] = (n + pageblockPages - 1) / pageblockPages
	}
	return out
}

// pageblockPages is pageblock_nr_pages: 2^pageblock_order (9 on x86_64).
const pageblockPages = 1 << 9

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
// DMA and DMA32 keep 1/256 of the higher zones' memory, Normal 1/32.
var lowmemReserveRatio = [NrZones]uint64{256, 256, 32, 0}

// setLowmemReserve is setup_per_zone_lowmem_reserve: each zone keeps back,
// from allocations that could have used a higher zone, a share of those
// higher zones' managed pages.
func (n *Node) setLowmemReserve() {
	for i := ZoneDMA; i < NrZones; i++ {
		z := n.Zones[i]
		ratio := lowmemReserveRatio[i]
		var higher uint64
		for j := i + 1; j < NrZones; j++ {
			higher += n.Zones[j].Managed
			z.LowmemReserve[j] = 0
			if ratio > 0 && z.Managed > 0 && n.Zones[j].Managed > 0 {
				z.LowmemReserve[j] = higher / ratio
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

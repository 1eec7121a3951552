package mm

// HugeSize is a huge page size the machine supports.
type HugeSize int

const (
	Huge2M HugeSize = iota
	Huge1G
	NrHugeSizes
)

// HugePool is a hugetlb pool of one size (struct hstate): pages taken
// whole from the buddy allocator and kept for hugetlbfs mappings.
type HugePool struct {
	Order    int
	free     []extent // each one huge page
	inUse    uint64
	Resv     uint64 // reserved for mappings not yet faulted in
	Surplus  uint64
	MaxExtra uint64 // nr_overcommit_hugepages
}

// KB is the page size in kB.
func (p *HugePool) KB() uint64 { return (PageSize << p.Order) >> 10 }

// Total is nr_hugepages.
func (p *HugePool) Total() uint64 { return uint64(len(p.free)) + p.inUse }

// Free is free_hugepages.
func (p *HugePool) Free() uint64 { return uint64(len(p.free)) }

func (m *Memory) initHugePools() {
	m.huge[Huge2M] = &HugePool{Order: 9}
	m.huge[Huge1G] = &HugePool{Order: 18}
}

// HugePool returns the pool of a size.
func (m *Memory) HugePool(s HugeSize) *HugePool { return m.huge[s] }

// HugetlbPages is the memory all pools hold, in pages.
func (m *Memory) HugetlbPages() uint64 {
	var n uint64
	for _, p := range m.huge {
		n += p.Total() << p.Order
	}
	return n
}

// SetNrHugepages resizes a pool as a write to nr_hugepages does
// (set_max_huge_pages): growing takes whole aligned blocks from the buddy
// allocators, nodes in turn, compacting once when none is left, and stops
// where none can be had, so the pool may end smaller than asked;
// shrinking frees unused huge pages. It returns the new size. As in
// Linux, any count is taken: a huge one makes the pool as big as memory
// allows (__nr_hugepages_store_common has no upper bound).
func (m *Memory) SetNrHugepages(s HugeSize, n uint64) uint64 {
	p := m.huge[s]
	for p.Total() > n && len(p.free) > 0 {
		last := p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		m.free([]extent{last})
	}
	compacted := false
	for p.Total() < n {
		if m.allocHugePage(p, s) {
			continue
		}
		if !compacted && s == Huge2M {
			compacted = true
			m.Compact()
			continue
		}
		if s == Huge2M {
			m.Events.HtlbBuddyAllocFail++
		}
		break
	}
	return p.Total()
}

// allocHugePage takes one huge page from the node after the one the last
// came from (interleaving, as hstate next_nid_to_alloc does).
func (m *Memory) allocHugePage(p *HugePool, s HugeSize) bool {
	size := uint64(1) << p.Order
	start := int(p.Total()) % len(m.nodes)
	for i := range m.nodes {
		n := m.nodes[(start+i)%len(m.nodes)]
		for t := ZoneNormal; t >= ZoneDMA32; t-- {
			z := n.Zones[t]
			if !z.Populated() || z.room(wmarkLow, ZoneNormal) < size {
				continue
			}
			if e, ok := z.takeAligned(p.Order, Owner{Kind: Hugetlb, ID: uint64(s), MT: Movable}); ok {
				p.free = append(p.free, e)
				// alloc_pool_huge_folio asks this node for it; zone_statistics
				// counts one allocation, whatever its order.
				countNuma(z, z, m.localNode(), 1)
				if s == Huge2M {
					m.Events.HtlbBuddyAllocSuccess++
				}
				return true
			}
		}
	}
	return false
}

// dissolve breaks up the free huge page holding pfn (dissolve_free_hugetlb_folio):
// its frames go back to the buddy allocator. It reports whether one did.
func (m *Memory) dissolve(pfn uint64) bool {
	for _, p := range m.huge {
		for i, e := range p.free {
			if pfn >= e.start && pfn < e.end {
				p.free = append(p.free[:i], p.free[i+1:]...)
				m.free([]extent{e})
				return true
			}
		}
	}
	return false
}

// NodeTotal is the pool's pages on a node (all are free: nothing maps them yet).
func (p *HugePool) NodeTotal(node int) uint64 { return p.NodeFree(node) }

// NodeFree is the pool's free pages on a node.
func (p *HugePool) NodeFree(node int) uint64 {
	var n uint64
	for _, e := range p.free {
		if e.z.Node == node {
			n++
		}
	}
	return n
}

// Demote breaks up to n free pages of pool s into pages of the next size
// down, as demote_store does (mm/hugetlb.c demote_pool_huge_page): a 1 GiB
// page becomes 512 free 2 MiB ones. Pages reserved for mappings stay. It
// returns how many it broke; a size with nothing below it breaks none.
func (m *Memory) Demote(s HugeSize, n uint64) uint64 {
	if s == Huge2M {
		return 0
	}
	from, to := m.huge[s], m.huge[s-1]
	var done uint64
	for done < n && uint64(len(from.free)) > from.Resv {
		e := from.free[len(from.free)-1]
		from.free = from.free[:len(from.free)-1]
		size := uint64(1) << to.Order
		for start := e.start; start < e.end; start += size {
			e.z.frames.assign(start, start+size, Owner{Kind: Hugetlb, ID: uint64(s - 1), MT: Movable})
			to.free = append(to.free, extent{e.z, start, start + size})
		}
		done++
	}
	return done
}

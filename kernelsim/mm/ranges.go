package mm

import (
	"math/bits"
	"sort"
)

// MaxOrder is MAX_PAGE_ORDER: the buddy allocator's largest block is
// 2^10 pages, 4 MiB.
const MaxOrder = 10

// NrOrders is the number of free-list orders (0..MaxOrder).
const NrOrders = MaxOrder + 1

// MigrateType is a free page's migrate type (include/linux/mmzone.h), in
// /proc/pagetypeinfo's order.
type MigrateType int

const (
	Unmovable MigrateType = iota
	Movable
	Reclaimable
	HighAtomic
	Isolate
	NrMigrateTypes
)

// MigrateTypeNames are the names pagetypeinfo prints (CMA is not configured).
var MigrateTypeNames = [NrMigrateTypes]string{"Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"}

// OwnerKind says what a run of page frames is used for.
type OwnerKind uint8

const (
	Hole       OwnerKind = iota // not RAM: firmware, PCI hole, beyond the end
	Free                        // in the buddy allocator
	Reserved                    // memblock: kernel image, memmap, firmware tables
	KernelMisc                  // pages drivers took with alloc_pages
	Slab
	PageTable
	KernelStack
	Percpu
	Vmalloc
	Anon
	FileCache
	Shmem
	Hugetlb
	Poisoned
)

// Owner is who holds a run of page frames: a kind and, for anonymous
// memory, the process; for slab, the cache; for hugetlb, the page size.
type Owner struct {
	Kind OwnerKind
	ID   uint64
	// MT is the migrate type the frames' pageblocks have (for free runs,
	// the free list they are on).
	MT MigrateType
}

// run is a maximal interval of page frames with one owner: [start, next run's start).
type run struct {
	start uint64
	owner Owner
}

// rangeMap assigns an owner to every page frame in [base, end), as
// intervals, so that a machine of any size costs memory by how
// fragmented it is, not by its number of pages. It keeps the buddy
// allocator's free-list counts: a free interval is exactly the set of
// maximal aligned blocks a buddy allocator holds for those frames.
type rangeMap struct {
	base, end uint64
	runs      []run // sorted by start; runs[0].start == base
	freeCount [NrOrders][NrMigrateTypes]uint64
	freePages uint64
}

func newRangeMap(base, end uint64) *rangeMap {
	return &rangeMap{base: base, end: end, runs: []run{{base, Owner{Kind: Hole}}}}
}

// runEnd is where run i ends.
func (m *rangeMap) runEnd(i int) uint64 {
	if i+1 < len(m.runs) {
		return m.runs[i+1].start
	}
	return m.end
}

// find returns the index of the run holding pfn.
func (m *rangeMap) find(pfn uint64) int {
	return sort.Search(len(m.runs), func(i int) bool { return m.runs[i].start > pfn }) - 1
}

// Owner returns who holds pfn.
func (m *rangeMap) Owner(pfn uint64) Owner { return m.runs[m.find(pfn)].owner }

// assign gives [start, end) to owner, merging with equal neighbors and
// keeping the free-list counts.
func (m *rangeMap) assign(start, end uint64, owner Owner) {
	if start >= end {
		return
	}
	// The runs that change are those holding start-1 through end: the
	// neighbors may merge. They cover the same frames before and after.
	touched := func() (int, int) {
		return m.find(max(start, m.base+1) - 1), m.find(min(end, m.end-1))
	}
	lo, hi := touched()
	m.account(lo, hi, -1)
	// Cut the runs at start and end, then replace what lies between.
	endOwner := m.runs[m.find(end-1)].owner
	i := m.find(start)
	var repl []run
	if m.runs[i].start < start {
		repl = append(repl, m.runs[i])
	}
	repl = append(repl, run{start, owner})
	if end < m.end && m.runEnd(m.find(end-1)) > end {
		repl = append(repl, run{end, endOwner})
	}
	j := m.find(end - 1)
	m.runs = append(m.runs[:i], append(repl, m.runs[j+1:]...)...)
	// Merge equal neighbors around the change.
	from := max(i-1, 0)
	to := min(i+len(repl)+1, len(m.runs))
	for k := to - 1; k > from; k-- {
		if m.runs[k].owner == m.runs[k-1].owner {
			m.runs = append(m.runs[:k], m.runs[k+1:]...)
		}
	}
	lo, hi = touched()
	m.account(lo, hi, +1)
}

// account adds (sign +1) or removes (-1) the free blocks of runs lo..hi.
func (m *rangeMap) account(lo, hi int, sign int) {
	for i := lo; i <= hi; i++ {
		o := m.runs[i].owner
		if o.Kind != Free {
			continue
		}
		s, e := m.runs[i].start, m.runEnd(i)
		forEachBlock(s, e, func(order int, n uint64) {
			if sign > 0 {
				m.freeCount[order][o.MT] += n
			} else {
				m.freeCount[order][o.MT] -= n
			}
		})
		if sign > 0 {
			m.freePages += e - s
		} else {
			m.freePages -= e - s
		}
	}
}

// forEachBlock decomposes [s, e) into maximal aligned blocks of at most
// MaxOrder, as the buddy allocator would hold them, and reports how many
// blocks of each order there are.
func forEachBlock(s, e uint64, f func(order int, n uint64)) {
	const top = 1 << MaxOrder
	// Up to the first top-aligned frame: ascending blocks.
	for s < e && s%top != 0 {
		o := min(bits.TrailingZeros64(s), bits.Len64(e-s)-1)
		f(o, 1)
		s += 1 << o
	}
	if n := (e - s) / top; n > 0 {
		f(MaxOrder, n)
		s += n * top
	}
	// The tail: descending blocks.
	for s < e {
		o := bits.Len64(e-s) - 1
		f(o, 1)
		s += 1 << o
	}
}

// each calls f for every run in [start, end), clipped to it.
func (m *rangeMap) each(start, end uint64, f func(s, e uint64, o Owner) bool) {
	if start >= end {
		return
	}
	for i := m.find(max(start, m.base)); i < len(m.runs) && m.runs[i].start < end; i++ {
		s, e := max(m.runs[i].start, start), min(m.runEnd(i), end)
		if !f(s, e, m.runs[i].owner) {
			return
		}
	}
}

// count sums the frames held by owners that match.
func (m *rangeMap) count(match func(Owner) bool) uint64 {
	var n uint64
	for i := range m.runs {
		if match(m.runs[i].owner) {
			n += m.runEnd(i) - m.runs[i].start
		}
	}
	return n
}

// countIn sums the frames of [start, end) held by owners that match.
func (m *rangeMap) countIn(start, end uint64, match func(Owner) bool) uint64 {
	var n uint64
	m.each(max(start, m.base), min(end, m.end), func(s, e uint64, o Owner) bool {
		if match(o) {
			n += e - s
		}
		return true
	})
	return n
}

// runOp gives [start, end) to owner.
type runOp struct {
	start, end uint64
	owner      Owner
}

// assignMany applies many assignments at once, in one pass over the runs,
// for bulk changes such as compaction. ops must not overlap.
func (m *rangeMap) assignMany(ops []runOp) {
	if len(ops) == 0 {
		return
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].start < ops[j].start })
	var out []run
	emit := func(s uint64, o Owner) {
		if n := len(out); n > 0 && out[n-1].owner == o {
			return
		}
		if n := len(out); n > 0 && out[n-1].start == s {
			out[n-1].owner = o
			if n > 1 && out[n-2].owner == o {
				out = out[:n-1]
			}
			return
		}
		out = append(out, run{s, o})
	}
	k := 0
	for i := range m.runs {
		s, e, o := m.runs[i].start, m.runEnd(i), m.runs[i].owner
		for s < e {
			for k < len(ops) && ops[k].end <= s {
				k++
			}
			if k < len(ops) && ops[k].start <= s {
				end := min(ops[k].end, e)
				emit(s, ops[k].owner)
				s = end
				continue
			}
			next := e
			if k < len(ops) {
				next = min(next, ops[k].start)
			}
			emit(s, o)
			s = next
		}
	}
	m.runs = out
	m.freeCount = [NrOrders][NrMigrateTypes]uint64{}
	m.freePages = 0
	m.account(0, len(m.runs)-1, +1)
}

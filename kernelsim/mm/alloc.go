package mm

import (
	"fmt"
	"slices"
)

// allocRequest is what an allocation asks for (the gfp flags that matter here).
type allocRequest struct {
	owner   Owner
	highest ZoneType // the highest zone it may use (gfp_zone)
	node    int      // the preferred node, +1: 0 means the policy's, or the local one (NUMA_NO_NODE)
	local   int      // the allocating CPU's node, +1: 0 means LocalNode's
	policy  MemPolicy
	il      *int // where an interleave policy goes on: the task's il_prev
	reclaim bool // may reclaim directly (__GFP_DIRECT_RECLAIM)
	oom     bool // may invoke the OOM killer
}

// Watermark levels an allocation must leave free above.
const (
	wmarkMin = iota
	wmarkLow
	wmarkHigh
)

func (z *Zone) watermark(level int) uint64 {
	switch level {
	case wmarkMin:
		return z.WatermarkMin
	case wmarkLow:
		return z.WatermarkLow
	}
	return z.WatermarkHigh
}

// room is how many pages an allocation allowed up to zone highest may
// take from z and still leave the watermark plus the lowmem reserve
// (zone_watermark_ok).
func (z *Zone) room(level int, highest ZoneType) uint64 {
	keep := z.watermark(level) + z.LowmemReserve[highest]
	if free := z.FreePages(); free > keep {
		return free - keep
	}
	return 0
}

// zonelist is the fallback order for an allocation: the preferred node's
// zones from the highest allowed down, then the other nodes' (node_zonelists).
func (m *Memory) zonelist(node int, highest ZoneType) []*Zone {
	var out []*Zone
	for i := range m.nodes {
		n := m.nodes[(node+i)%len(m.nodes)]
		for t := highest; t >= ZoneDMA; t-- {
			if z := n.Zones[t]; z.Populated() {
				out = append(out, z)
			}
		}
	}
	return out
}

// alloc takes n order-0 pages for an owner, as __alloc_pages does page by
// page, from the zonelist its memory policy gives (alloc_pages_mpol): the
// local node's first for the default policy, the preferred node's, only
// the bound nodes', or each node of an interleave set in turn. From the
// first zone above the low watermark; else, with kswapd woken, above the
// min watermark; else after direct reclaim; else after the OOM killer. It
// fails with ErrNoMemory and nothing taken. The frames it took carry the
// owner; the caller counts them.
func (m *Memory) alloc(n uint64, req allocRequest) ([]extent, error) {
	if n == 0 {
		return nil, nil
	}
	local := req.local - 1
	if req.local == 0 {
		local = m.localNode()
	}
	pol := req.policy
	if req.node == 0 && pol.Mode == PolicyInterleave && len(pol.NodeList()) > 0 {
		next := 0
		if req.il == nil {
			req.il = &next
		}
		var got []extent
		for _, c := range interleave(n, pol, req.il) {
			e, err := m.allocFrom(c.n, req, c.node, 0, local)
			if err != nil {
				m.free(got)
				return nil, err
			}
			for _, x := range e {
				if x.z.Node == c.node {
					x.z.Numa.Interleave += x.end - x.start
				}
			}
			got = append(got, e...)
		}
		return got, nil
	}
	preferred, only := local, uint64(0)
	switch {
	case req.node > 0:
		preferred = req.node - 1
	case pol.Mode == PolicyPreferred:
		preferred = pol.NodeList()[0]
	case pol.Mode == PolicyBind:
		if only = pol.Nodes; !pol.has(local) {
			preferred = pol.NodeList()[0]
		}
	}
	return m.allocFrom(n, req, preferred, only, local)
}

// allocFrom takes n pages from the zonelist of the preferred node, only
// from the nodes of the mask only if it is not zero, and counts where they
// came from against where they were wanted (zone_statistics).
func (m *Memory) allocFrom(n uint64, req allocRequest, preferred int, only uint64, local int) ([]extent, error) {
	zones := m.zonelist(preferred, req.highest)
	if only != 0 {
		zones = slices.DeleteFunc(zones, func(z *Zone) bool { return only&(1<<z.Node) == 0 })
	}
	if len(zones) == 0 {
		return nil, fmt.Errorf("%d pages for %v: no zone on the allowed nodes: %w", n, req.owner.Kind, ErrNoMemory)
	}
	first := zones[0]
	var got []extent
	need := n
	take := func(level int) {
		for _, z := range zones {
			if need == 0 {
				return
			}
			k := min(need, z.room(level, req.highest))
			if k == 0 {
				continue
			}
			got = append(got, z.take(k, req.owner)...)
			z.PgAlloc += k
			countNuma(z, first, local, k)
			need -= k
		}
	}
	take(wmarkLow)
	if need > 0 {
		m.wakeKswapd(zones)
		take(wmarkMin)
	}
	for attempt := 0; need > 0 && attempt < 16; attempt++ {
		if req.reclaim {
			m.Events.AllocStall[req.highest]++
			m.reclaim(zones, need+32, false)
			take(wmarkMin)
			if need == 0 {
				break
			}
		}
		if !req.oom || m.OOM == nil || !m.OOM(0) {
			break
		}
		take(wmarkMin)
	}
	if need > 0 {
		m.free(got)
		return nil, fmt.Errorf("%d pages for %v: %w", n, req.owner.Kind, ErrNoMemory)
	}
	m.checkPressure(zones)
	return got, nil
}

// LocalNodeOr0 is the node of the CPU that allocates now.
func (m *Memory) LocalNodeOr0() int { return m.localNode() }

// localNode is the node of the CPU that allocates now.
func (m *Memory) localNode() int {
	if m.LocalNode != nil {
		return m.LocalNode()
	}
	return 0
}

// wakeKswapd wakes the kswapd of every node an allocation fell below the low watermark on.
func (m *Memory) wakeKswapd(zones []*Zone) {
	for _, z := range zones {
		n := m.nodes[z.Node]
		if !n.KswapdActive {
			n.KswapdActive = true
			if m.WakeKswapd != nil {
				m.WakeKswapd(n.ID)
			}
		}
	}
}

// checkPressure wakes kswapd for nodes whose zones an allocation left
// below the low watermark.
func (m *Memory) checkPressure(zones []*Zone) {
	for _, z := range zones {
		if z.FreePages() < z.WatermarkLow {
			m.wakeKswapd([]*Zone{z})
		}
	}
}

// take gives k free frames of z to owner: the smallest free runs first,
// so small holes fill before large blocks split, as the buddy allocator
// takes from the lowest order that fits; runs of the owner's migrate type
// before others (fallback steals). The caller checked there are k.
func (z *Zone) take(k uint64, owner Owner) []extent {
	type freeRun struct {
		s, e uint64
		mt   MigrateType
	}
	var runs []freeRun
	z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
		if o.Kind == Free {
			runs = append(runs, freeRun{s, e, o.MT})
		}
		return true
	})
	slices.SortStableFunc(runs, func(a, b freeRun) int {
		if (a.mt == owner.MT) != (b.mt == owner.MT) {
			if a.mt == owner.MT {
				return -1
			}
			return 1
		}
		return int(int64(a.e-a.s) - int64(b.e-b.s))
	})
	var out []extent
	for _, r := range runs {
		if k == 0 {
			break
		}
		n := min(k, r.e-r.s)
		z.frames.assign(r.s, r.s+n, owner)
		out = append(out, extent{z, r.s, r.s + n})
		k -= n
	}
	return out
}

// takeAligned gives owner one free, 2^order-aligned block of z, from the
// smallest free run that holds one, or reports there is none.
func (z *Zone) takeAligned(order int, owner Owner) (extent, bool) {
	size := uint64(1) << order
	best, bestLen := uint64(0), uint64(0)
	z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
		if o.Kind != Free {
			return true
		}
		a := (s + size - 1) / size * size
		if a+size <= e && (bestLen == 0 || e-s < bestLen) {
			best, bestLen = a, e-s
		}
		return true
	})
	if bestLen == 0 {
		return extent{}, false
	}
	z.frames.assign(best, best+size, owner)
	z.PgAlloc += size
	return extent{z, best, best + size}, true
}

// free returns extents to their zones' free lists, with the migrate type
// their pageblocks had.
func (m *Memory) free(exts []extent) {
	for _, e := range exts {
		mt := e.z.frames.Owner(e.start).MT
		e.z.frames.assign(e.start, e.end, Owner{Kind: Free, MT: mt})
		m.Events.PgFree += e.pages()
	}
}

// freeOwned returns up to n frames whose owner matches to the free
// lists, scanning the zones from the highest frames down (the newest
// allocations sit low in the smallest holes, so this frees the bulk
// first). It returns how many it freed.
func (m *Memory) freeOwned(match func(Owner) bool, n uint64) uint64 {
	var freed uint64
	for i := len(m.zones) - 1; i >= 0 && freed < n; i-- {
		z := m.zones[i]
		if z.frames == nil {
			continue
		}
		var runs []extent
		z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
			if match(o) {
				runs = append(runs, extent{z, s, e})
			}
			return true
		})
		for j := len(runs) - 1; j >= 0 && freed < n; j-- {
			r := runs[j]
			k := min(n-freed, r.pages())
			m.free([]extent{{z, r.end - k, r.end}})
			freed += k
		}
	}
	return freed
}

// is matches one owner exactly, migrate type aside.
func is(kind OwnerKind, id uint64) func(Owner) bool {
	return func(o Owner) bool { return o.Kind == kind && o.ID == id }
}

// ofKind matches every owner of a kind.
func ofKind(kind OwnerKind) func(Owner) bool {
	return func(o Owner) bool { return o.Kind == kind }
}

// allocKernel takes n pages for a kernel consumer that cannot move
// (GFP_KERNEL: may reclaim and call the OOM killer).
func (m *Memory) allocKernel(n uint64, kind OwnerKind, id uint64, mt MigrateType) ([]extent, error) {
	return m.alloc(n, allocRequest{owner: Owner{Kind: kind, ID: id, MT: mt}, highest: ZoneNormal, reclaim: true, oom: true})
}

// AddKernelStack allocates one task's kernel stack (vmalloc'd THREAD_SIZE).
func (m *Memory) AddKernelStack() error {
	if _, err := m.allocKernel(threadPages, KernelStack, 0, Unmovable); err != nil {
		return err
	}
	m.stacks++
	return nil
}

// FreeKernelStack frees one task's kernel stack.
func (m *Memory) FreeKernelStack() {
	m.freeOwned(ofKind(KernelStack), threadPages)
	m.stacks--
}

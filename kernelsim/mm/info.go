package mm

import (
	"math/bits"
	"sort"
)

// Info is what /proc/meminfo reports for the machine or, with NodeInfo,
// for one node, in pages unless the name says otherwise. Every number is
// counted from the owners of page frames or from the counters that go
// with them, in one place, so meminfo, the node meminfo, zoneinfo and
// vmstat cannot disagree.
type Info struct {
	Total, Free, Available                 uint64
	Buffers, Cached, SwapCached            uint64
	ActiveAnon, InactiveAnon               uint64
	ActiveFile, InactiveFile               uint64
	Unevictable, Mlocked                   uint64
	SwapTotal, SwapFree                    uint64
	Dirty, Writeback                       uint64
	AnonPages, Mapped, Shmem               uint64
	KReclaimable, SReclaimable, SUnreclaim uint64
	KernelStackKB                          uint64
	PageTables                             uint64
	CommitLimit, CommittedAS               uint64
	VmallocUsed, Percpu                    uint64
	HardwareCorrupted                      uint64
	HugetlbPages                           uint64
	DirectMap4k, DirectMap2M, DirectMap1G  uint64 // kB, machine-wide only
	FilePages                              uint64 // Cached + Buffers + SwapCached, as the node file shows
}

// counts sums owners over some zones.
type counts [Poisoned + 1]uint64

func (m *Memory) countZones(zones []*Zone) (c counts) {
	for _, z := range zones {
		if z.frames == nil {
			continue
		}
		z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
			c[o.Kind] += e - s
			return true
		})
	}
	return c
}

// Info computes the machine's meminfo.
func (m *Memory) Info() Info {
	in := m.info(m.zones)
	in.DirectMap4k, in.DirectMap2M, in.DirectMap1G = directMap(m.e820, directGBPages).KB()
	return in
}

// NodeInfo computes one node's meminfo.
func (m *Memory) NodeInfo(node int) Info { return m.info(m.nodes[node].Zones[:]) }

// zoneLRU is a zone's part of the LRU lists and of the page cache's
// mapped, dirty and writeback pages: Linux counts them per zone
// (NR_ZONE_*) or per node, and sums the zones into the nodes and the
// nodes into the machine (mm/vmstat.c), so every file's numbers are sums
// of these.
type zoneLRU struct {
	inactiveAnon, activeAnon, inactiveFile, activeFile uint64
	mapped, dirty, writeback                           uint64
}

// zoneLRUs gives every zone (as m.zones) its part. The anon LRU of a
// zone is its anonymous and shared memory, the file LRU its page cache;
// the split into active and inactive, and the mapped, dirty and writeback
// pages, are counted machine-wide and shared out by each zone's part of
// the LRU, so that the zones add up to the machine exactly.
func (m *Memory) zoneLRUs() []zoneLRU {
	anon := make([]uint64, len(m.zones))
	file := make([]uint64, len(m.zones))
	var anonTotal, fileTotal uint64
	for i, z := range m.zones {
		c := m.countZones([]*Zone{z})
		anon[i], file[i] = c[Anon]+c[Shmem], c[FileCache]
		anonTotal += anon[i]
		fileTotal += file[i]
	}
	// Most anonymous memory is active.
	activeAnon := apportion(anonTotal*7/10, anon)
	activeFile := apportion(min(m.cache.active, fileTotal), file)
	mapped := apportion(m.cache.mapped, file)
	dirty := apportion(m.cache.dirty, file)
	writeback := apportion(m.cache.writeback, file)
	out := make([]zoneLRU, len(m.zones))
	for i := range m.zones {
		out[i] = zoneLRU{
			activeAnon: activeAnon[i], inactiveAnon: anon[i] - activeAnon[i],
			activeFile: activeFile[i], inactiveFile: file[i] - activeFile[i],
			mapped: mapped[i], dirty: dirty[i], writeback: writeback[i],
		}
	}
	return out
}

// zoneIndex is z's place in m.zones: node by node, every zone type.
func zoneIndex(z *Zone) int { return z.Node*int(NrZones) + int(z.Type) }

// apportion splits total over weights in proportion: each part rounded
// down, the pages left over one each to the largest remainders (the
// first on a tie), so the parts add up to total exactly and a zero
// weight gets nothing. All zero weights share out nothing.
func apportion(total uint64, weights []uint64) []uint64 {
	out := make([]uint64, len(weights))
	var sum uint64
	for _, w := range weights {
		sum += w
	}
	if sum == 0 {
		return out
	}
	rem := make([]uint64, len(weights))
	left := total
	for i, w := range weights {
		hi, lo := bits.Mul64(total, w)
		out[i], rem[i] = bits.Div64(hi, lo, sum) // a part is at most total: no overflow
		left -= out[i]
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return rem[order[a]] > rem[order[b]] })
	for _, i := range order[:left] {
		out[i]++
	}
	return out
}

func (m *Memory) info(zones []*Zone) Info {
	c := m.countZones(zones)
	var lru zoneLRU
	all := m.zoneLRUs()
	for _, z := range zones {
		l := all[zoneIndex(z)]
		lru.activeAnon += l.activeAnon
		lru.inactiveAnon += l.inactiveAnon
		lru.activeFile += l.activeFile
		lru.inactiveFile += l.inactiveFile
		lru.mapped += l.mapped
		lru.dirty += l.dirty
		lru.writeback += l.writeback
	}
	var managed, free uint64
	for _, z := range zones {
		managed += z.Managed
		free += z.FreePages()
	}
	buffers := m.countBuffers(zones)
	in := Info{
		Total:             managed,
		Free:              free,
		Buffers:           buffers,
		Cached:            c[FileCache] - buffers + c[Shmem],
		AnonPages:         c[Anon],
		Shmem:             c[Shmem],
		Mapped:            lru.mapped,
		PageTables:        c[PageTable],
		VmallocUsed:       c[Vmalloc] + c[KernelStack],
		Percpu:            c[Percpu],
		HardwareCorrupted: c[Poisoned],
		HugetlbPages:      c[Hugetlb],
		KernelStackKB:     c[KernelStack] * (PageSize >> 10),
		Dirty:             lru.dirty,
		Writeback:         lru.writeback,
		ActiveAnon:        lru.activeAnon,
		InactiveAnon:      lru.inactiveAnon,
		ActiveFile:        lru.activeFile,
		InactiveFile:      lru.inactiveFile,
	}
	for _, z := range zones {
		if z.frames == nil {
			continue
		}
		z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
			if o.Kind == Slab {
				if o.MT == Reclaimable {
					in.SReclaimable += e - s
				} else {
					in.SUnreclaim += e - s
				}
			}
			return true
		})
	}
	in.KReclaimable = in.SReclaimable
	in.FilePages = in.Cached + in.Buffers + in.SwapCached
	in.SwapTotal = m.swap.total
	in.SwapFree = m.swap.total - m.swap.used
	in.Available = m.available(in, zones)
	in.CommitLimit = m.commitLimit()
	in.CommittedAS = m.committed + c[Shmem]
	return in
}

// countBuffers counts the block device's page cache.
func (m *Memory) countBuffers(zones []*Zone) uint64 {
	var n uint64
	for _, z := range zones {
		if z.frames != nil {
			n += z.frames.count(is(FileCache, cacheBuffers))
		}
	}
	return n
}

// available follows si_mem_available (mm/show_mem.c): free memory above
// the reserves, plus the page cache and reclaimable slab that could be
// freed without swapping, keeping half of each or the low watermark.
func (m *Memory) available(in Info, zones []*Zone) uint64 {
	var low uint64
	for _, z := range zones {
		low += z.WatermarkLow
	}
	reserve := m.TotalReserve()
	if len(zones) != len(m.zones) {
		reserve = 0
		for _, z := range zones {
			reserve += min(z.maxReserve()+z.WatermarkHigh, z.Managed)
		}
	}
	avail := int64(in.Free) - int64(reserve)
	pagecache := in.ActiveFile + in.InactiveFile
	pagecache -= min(pagecache/2, low)
	avail += int64(pagecache)
	reclaimable := in.SReclaimable
	avail += int64(reclaimable - min(reclaimable/2, low))
	if avail < 0 {
		return 0
	}
	return min(uint64(avail), in.Total)
}

// commitLimit is vm_commit_limit: overcommit_kbytes if set, else
// overcommit_ratio percent of memory outside the huge page pools, plus swap.
func (m *Memory) commitLimit() uint64 {
	t := m.Tunables
	limit := (m.TotalPages() - m.HugetlbPages()) * t.OvercommitRatio / 100
	if t.OvercommitKbytes > 0 {
		limit = t.OvercommitKbytes / (PageSize >> 10)
	}
	return limit + m.swap.total
}

// Committed is vm_committed_as: the private writable memory promised.
func (m *Memory) Committed() uint64 { return m.committed + m.count(Shmem) }

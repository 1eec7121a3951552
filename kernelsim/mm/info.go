package mm

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
	DirectMap4k, DirectMap2M, DirectMap1G  uint64 // kB
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
func (m *Memory) Info() Info { return m.info(m.zones, 1, 1) }

// NodeInfo computes one node's meminfo. The LRU and cache counters, kept
// machine-wide, are shared out by the node's part of the cache.
func (m *Memory) NodeInfo(node int) Info {
	n := m.nodes[node]
	zones := n.Zones[:]
	all := m.countZones(m.zones)
	mine := m.countZones(zones)
	return m.info(zones, mine[FileCache], max(all[FileCache], 1))
}

func (m *Memory) info(zones []*Zone, shareNum, shareDen uint64) Info {
	c := m.countZones(zones)
	share := func(v uint64) uint64 { return v * shareNum / shareDen }
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
		Mapped:            share(m.cache.mapped),
		PageTables:        c[PageTable],
		VmallocUsed:       c[Vmalloc] + c[KernelStack],
		Percpu:            c[Percpu],
		HardwareCorrupted: c[Poisoned],
		HugetlbPages:      c[Hugetlb],
		KernelStackKB:     c[KernelStack] * (PageSize >> 10),
		Dirty:             share(m.cache.dirty),
		Writeback:         share(m.cache.writeback),
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
	// Anonymous and shared memory live on the anon LRU; most of it is active.
	anonLRU := in.AnonPages + in.Shmem
	in.ActiveAnon = anonLRU * 7 / 10
	in.InactiveAnon = anonLRU - in.ActiveAnon
	fileLRU := c[FileCache]
	in.ActiveFile = min(share(m.cache.active), fileLRU)
	in.InactiveFile = fileLRU - in.ActiveFile
	in.FilePages = in.Cached + in.Buffers + in.SwapCached
	in.SwapTotal = m.swap.total
	in.SwapFree = m.swap.total - m.swap.used
	in.Available = m.available(in, zones)
	in.CommitLimit = m.commitLimit()
	in.CommittedAS = m.committed + c[Shmem]

	// The direct map covers present RAM with the largest pages that fit.
	var present uint64
	for _, z := range zones {
		present += z.Present
	}
	directKB := present * PageSize >> 10
	in.DirectMap4k = min(16<<10, directKB)
	if directKB > 3<<20 {
		in.DirectMap1G = (directKB - (2 << 20)) >> 20 << 20
	}
	in.DirectMap2M = directKB - in.DirectMap4k - in.DirectMap1G
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

package mm

// Info is what /proc/meminfo reports, in pages unless the name says
// otherwise. It is computed in one place so that meminfo, the node meminfo
// and vmstat cannot disagree.
type Info struct {
	Total, Free, Available                    uint64
	Buffers, Cached, SwapCached               uint64
	ActiveAnon, InactiveAnon                  uint64
	ActiveFile, InactiveFile                  uint64
	Unevictable, Mlocked                      uint64
	SwapTotal, SwapFree                       uint64
	Dirty, Writeback                          uint64
	AnonPages, Mapped, Shmem                  uint64
	KReclaimable, SReclaimable, SUnreclaim    uint64
	KernelStackKB                             uint64
	PageTables                                uint64
	CommitLimit, CommittedAS                  uint64
	VmallocUsed, Percpu                       uint64
	DirectMap4k, DirectMap2M, DirectMap1G     uint64 // kB
	FilePages                                 uint64 // Cached + Buffers + SwapCached, as the node file shows
	WatermarkMin, WatermarkLow, WatermarkHigh uint64
}

// overcommitRatio is vm.overcommit_ratio's default (mm/util.c).
const overcommitRatio = 50

// Info computes the meminfo picture.
func (m *Memory) Info() Info {
	in := Info{
		Total:        m.totalPages,
		Free:         m.FreePages(),
		Buffers:      m.buffers,
		Cached:       m.fileCache + m.shmem,
		AnonPages:    m.anon,
		Mapped:       m.mapped,
		Shmem:        m.shmem,
		SReclaimable: m.slabReclaimable,
		SUnreclaim:   m.slabUnreclaimable,
		PageTables:   m.pageTables,
		VmallocUsed:  m.vmallocUsed,
		Percpu:       m.percpu,
		Dirty:        m.dirty,
	}
	in.KReclaimable = in.SReclaimable
	in.KernelStackKB = m.kernelStackBytes >> 10
	// Shmem lives on the anon LRU lists; the page cache proper on the file lists.
	anonLRU := m.anon + m.shmem
	in.ActiveAnon = anonLRU * m.activeAnonPermille / 1000
	in.InactiveAnon = anonLRU - in.ActiveAnon
	fileLRU := m.fileCache + m.buffers
	in.ActiveFile = fileLRU * m.activeFilePermille / 1000
	in.InactiveFile = fileLRU - in.ActiveFile
	in.FilePages = in.Cached + in.Buffers + in.SwapCached

	in.WatermarkMin, in.WatermarkLow, in.WatermarkHigh = m.watermarks()
	in.Available = m.available(in)
	in.CommitLimit = m.totalPages*overcommitRatio/100 + in.SwapTotal
	in.CommittedAS = m.committed + m.shmem

	// The direct map covers present RAM with the largest pages that fit.
	directKB := m.presentPages * PageSize >> 10
	in.DirectMap4k = 16 << 10
	if directKB > 3<<20 {
		in.DirectMap1G = (directKB - (2 << 20)) >> 20 << 20
	}
	in.DirectMap2M = directKB - in.DirectMap4k - in.DirectMap1G
	return in
}

// watermarks approximates the zone watermarks summed over zones, from
// min_free_kbytes's default (mm/page_alloc.c init_per_zone_wmark_min:
// sqrt(lowmem_kbytes * 16), clamped to 128..262144) and
// __setup_per_zone_wmarks with watermark_scale_factor 10. The memory
// issue computes these per zone.
func (m *Memory) watermarks() (minPages, lowPages, highPages uint64) {
	minKB := isqrt(m.totalPages * PageSize >> 10 * 16)
	minKB = max(128, min(minKB, 262144))
	minPages = minKB * 1024 / PageSize
	tmp := max(minPages/4, m.totalPages*10/10000)
	return minPages, minPages + tmp, minPages + 2*tmp
}

// available follows si_mem_available (mm/show_mem.c): free memory above
// the reserves, plus the page cache and reclaimable slab that could be
// freed without swapping, keeping half of each or the low watermark.
func (m *Memory) available(in Info) uint64 {
	reserve := in.WatermarkHigh
	avail := int64(in.Free) - int64(reserve)
	pagecache := in.ActiveFile + in.InactiveFile
	pagecache -= min(pagecache/2, in.WatermarkLow)
	avail += int64(pagecache)
	reclaimable := in.SReclaimable
	avail += int64(reclaimable - min(reclaimable/2, in.WatermarkLow))
	if avail < 0 {
		return 0
	}
	return uint64(avail)
}

func isqrt(n uint64) uint64 {
	if n < 2 {
		return n
	}
	x := n
	y := (x + 1) / 2
	for y < x {
		x = y
		y = (x + n/x) / 2
	}
	return x
}

package mm

// Reclaim (mm/vmscan.c), reduced to its order of preference: unmapped
// page cache first (it is clean here: nothing writes files yet), then
// reclaimable slab through the shrinkers, then anonymous memory to swap
// when there is swap and swappiness allows. kswapd reclaims in the
// background until every zone of its node is above the high watermark;
// an allocation that finds no zone above the min watermark reclaims
// directly.

// reclaim frees about n pages for an allocation that would use zones,
// and counts the scanning as kswapd's or the allocating task's. It
// returns the pages freed.
func (m *Memory) reclaim(zones []*Zone, n uint64, kswapd bool) uint64 {
	ev := &m.Events
	freed := m.shrinkCache(n)
	ev.PgScanFile += freed + freed/8
	ev.PgStealFile += freed
	if freed < n {
		// Shrinkers give back a share of the dentry and inode caches.
		freed += m.shrinkSlab(0.25)
	}
	if freed < n && m.swap.total > m.swap.used && m.Tunables.Swappiness > 0 {
		got := m.reclaimAnon(n - freed)
		ev.PgScanAnon += got + got/8
		ev.PgStealAnon += got
		freed += got
	}
	scanned := freed + freed/8
	if kswapd {
		ev.PgScanKswapd += scanned
		ev.PgStealKswapd += freed
	} else {
		ev.PgScanDirect += scanned
		ev.PgStealDirect += freed
	}
	return freed
}

// reclaimAnon swaps out anonymous pages, from the largest processes first.
func (m *Memory) reclaimAnon(n uint64) uint64 {
	var got uint64
	for got < n && m.swap.used < m.swap.total {
		var biggest *AddressSpace
		for _, as := range m.spaces {
			if as.rssAnon > 0 && (biggest == nil || as.rssAnon > biggest.rssAnon) {
				biggest = as
			}
		}
		if biggest == nil {
			break
		}
		moved := m.swapOut(biggest, min(n-got, max(biggest.rssAnon/2, 32)))
		if moved == 0 {
			break
		}
		got += moved
	}
	return got
}

// nodeDeficit is how far below its high watermarks a node's zones are.
func (n *Node) deficit() uint64 {
	var d uint64
	for _, z := range n.Zones {
		if z.Populated() && z.FreePages() < z.WatermarkHigh {
			d += z.WatermarkHigh - z.FreePages()
		}
	}
	return d
}

// KswapdTick lets each awake kswapd reclaim up to batch pages for its
// node (balance_pgdat) and go back to sleep once its zones are above
// high, or when nothing more can be reclaimed. It returns the pages freed
// per node, so the kernel can charge the work to the kswapd threads.
func (m *Memory) KswapdTick(batch uint64) []uint64 {
	out := make([]uint64, len(m.nodes))
	for _, n := range m.nodes {
		if !n.KswapdActive {
			continue
		}
		d := n.deficit()
		if d == 0 {
			n.KswapdActive = false
			m.Events.KswapdHighWmarkHitQuickly++
			continue
		}
		m.Events.PageOutRun++
		freed := m.reclaim(n.Zones[:], min(d, batch), true)
		out[n.ID] = freed
		if freed == 0 {
			n.KswapdActive = false // nothing left to reclaim: it sleeps until woken again
		}
	}
	return out
}

// DropCaches is a write to vm.drop_caches: 1 drops the page cache, 2 the
// reclaimable slab, 3 both (fs/drop_caches.c); 4 only silences the log.
// It returns the pages freed.
func (m *Memory) DropCaches(mode int) uint64 {
	var freed uint64
	if mode&1 != 0 {
		freed += m.DropPageCache()
	}
	if mode&2 != 0 {
		freed += m.DropSlab()
	}
	return freed
}

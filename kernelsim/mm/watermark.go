package mm

// lowmemPages are the managed pages of the zones below Movable
// (no highmem on x86_64): what min_free_kbytes is shared out over.
func (m *Memory) lowmemPages() uint64 {
	var n uint64
	for _, z := range m.zones {
		if z.Type != ZoneMovable {
			n += z.Managed
		}
	}
	return n
}

// defaultMinFreeKB is calculate_min_free_kbytes: sqrt(lowmem in kB × 16),
// clamped to 128..262144 (mm/page_alloc.c).
func (m *Memory) defaultMinFreeKB() uint64 {
	kb := isqrt(m.lowmemPages() * (PageSize >> 10) * 16)
	return max(128, min(kb, 262144))
}

// setMinFreeKB sets vm.min_free_kbytes and recomputes every zone's
// watermarks (__setup_per_zone_wmarks). Linux takes any value that fits
// an int; 0 leaves the zones no reserve.
func (m *Memory) setMinFreeKB(kb uint64) {
	m.Tunables.MinFreeKB = kb
	m.setupWatermarks()
}

// setupWatermarks is __setup_per_zone_wmarks: min_free_kbytes is shared
// out over the lowmem zones by managed pages (Movable gets a token
// minimum); the gap to low and from low to high is the larger of a
// quarter of min and watermark_scale_factor ten-thousandths of the zone.
//
// Seed 001 says low = 1.25 × min and high = 1.5 × low; that was Linux
// before 4.6. Linux's formula since, here, wins.
func (m *Memory) setupWatermarks() {
	pagesMin := m.Tunables.MinFreeKB / (PageSize >> 10)
	lowmem := m.lowmemPages()
	for _, z := range m.zones {
		managed := z.Managed
		var tmp uint64
		if lowmem > 0 {
			tmp = pagesMin * managed / lowmem
		}
		if z.Type == ZoneMovable {
			z.WatermarkMin = min(max(managed/1024, 32), 128) // SWAP_CLUSTER_MAX..128
		} else {
			z.WatermarkMin = tmp
		}
		gap := max(tmp/4, managed*m.Tunables.WatermarkScaleFactor/10000)
		z.WatermarkLow = z.WatermarkMin + gap
		z.WatermarkHigh = z.WatermarkLow + gap
		z.WatermarkPromo = z.WatermarkHigh + gap
	}
}

// TotalReserve is totalreserve_pages: for each zone the high watermark
// and its largest lowmem reserve, at most its managed pages
// (calculate_totalreserve_pages).
func (m *Memory) TotalReserve() uint64 {
	var total uint64
	for _, z := range m.zones {
		total += min(z.maxReserve()+z.WatermarkHigh, z.Managed)
	}
	return total
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

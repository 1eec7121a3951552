package mm

// The kernel's direct map of physical memory and the page sizes it is
// made of, as meminfo's DirectMap4k, DirectMap2M and DirectMap1G count
// them (arch/x86/mm/pat/set_memory.c direct_pages_count).

const (
	isaEnd  = 1 << 20 // ISA_END_ADDRESS
	pmdSize = 2 << 20 // PMD_SIZE: a 2 MiB page
	pudSize = 1 << 30 // PUD_SIZE: a 1 GiB page
)

// directGBPages says whether the direct map uses 1 GiB pages: the
// simulated CPU has pdpe1gb, and Debian's kernel
// (CONFIG_X86_DIRECT_GBPAGES) uses it; meminfo then shows DirectMap1G.
const directGBPages = true

// directMapSplits are the 2 MiB pages of the direct map that boot itself
// splits into 4 KiB ones (split_large_page, under the set_memory_* calls
// on the kernel image's alias and the pages it frees). Measured on this
// project's Linux 6.18 machine, whose e820 map alone gives 2048 kB of
// 4 KiB pages: DirectMap4k 30720 kB, 14 pages of 2 MiB more.
const directMapSplits = 14

// DirectMap is the direct map's size in pages of 4 KiB, 2 MiB and 1 GiB.
type DirectMap struct {
	Pages4K, Pages2M, Pages1G uint64
}

// KB is the three counts in kB, as meminfo prints them.
func (d DirectMap) KB() (k4, m2, g1 uint64) {
	return d.Pages4K * 4, d.Pages2M * (pmdSize >> 10), d.Pages1G * (pudSize >> 10)
}

// directMap is init_mem_mapping (arch/x86/mm/init.c): the ISA range
// [0, 1 MiB) in 4 KiB pages whatever its holes, then every RAM range of
// memblock above it, each cut by split_mem_range into the largest pages
// that fit it: 4 KiB up to a 2 MiB boundary, 2 MiB up to a 1 GiB boundary,
// 1 GiB pages when the CPU has them (gbpages, X86_FEATURE_GBPAGES), then
// 2 MiB and 4 KiB again. The top-down order in which
// memory_map_top_down maps the ranges leaves the same pages. Then boot
// splits directMapSplits of the 2 MiB pages; a split keeps the sum.
//
// Linux's phys_pud_init counts a 1 GiB page again each time a later
// top-down step reaches it (if (!after_bootmem) pages++), so a gbpages
// machine may show more DirectMap1G than it maps; this counts each page
// once, so the three add up to what is mapped.
func directMap(e820 []Region, gbpages bool) DirectMap {
	d := DirectMap{Pages4K: isaEnd / PageSize}
	for _, r := range ramExtents(e820) {
		s, e := max(r.start*PageSize, isaEnd), r.end*PageSize
		if s >= e {
			continue
		}
		var big uint64 // bytes in 2 MiB and 1 GiB pages
		if a, b := roundUp(s, pmdSize), e/pmdSize*pmdSize; a < b {
			big = b - a
			g0, g1 := roundUp(a, pudSize), b/pudSize*pudSize
			if gbpages && g0 < g1 {
				d.Pages1G += (g1 - g0) / pudSize
				d.Pages2M += (big - (g1 - g0)) / pmdSize
			} else {
				d.Pages2M += big / pmdSize
			}
		}
		d.Pages4K += (e - s - big) / PageSize
	}
	splits := min(directMapSplits, d.Pages2M)
	d.Pages2M -= splits
	d.Pages4K += splits * (pmdSize / PageSize)
	return d
}

func roundUp(x, to uint64) uint64 { return (x + to - 1) / to * to }

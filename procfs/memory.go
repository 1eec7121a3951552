package procfs

import (
	"bytes"
	"fmt"
	"strings"

	"ksim/kernelsim"
	"ksim/kernelsim/mm"
	"ksim/kernfs"
)

// buddyinfo prints each populated zone's free blocks per order
// (mm/vmstat.c frag_show_print).
func (v *view) buddyinfo(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	for _, z := range m.Mem.Zones() {
		if !z.Populated() {
			continue
		}
		fmt.Fprintf(b, "Node %d, zone %8s ", z.Node, mm.ZoneNames[z.Type])
		blocks := z.FreeBlocks()
		for o := range mm.NrOrders {
			var n uint64
			for _, c := range blocks[o] {
				n += c
			}
			fmt.Fprintf(b, "%6d ", n)
		}
		b.WriteByte('\n')
	}
}

// pagetypeinfo prints, per node, free blocks per order and migrate type,
// then pageblocks per migrate type (mm/vmstat.c pagetypeinfo_show).
func (v *view) pagetypeinfo(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	for _, n := range m.Mem.Nodes() {
		b.WriteString("Page block order: 9\nPages per block:  512\n\n")
		fmt.Fprintf(b, "%-43s ", "Free pages count per migrate type at order")
		for o := range mm.NrOrders {
			fmt.Fprintf(b, "%6d ", o)
		}
		b.WriteByte('\n')
		for _, z := range n.Zones {
			if !z.Populated() {
				continue
			}
			blocks := z.FreeBlocks()
			for mt := range mm.NrMigrateTypes {
				fmt.Fprintf(b, "Node %4d, zone %8s, type %12s ", z.Node, mm.ZoneNames[z.Type], mm.MigrateTypeNames[mt])
				for o := range mm.NrOrders {
					fmt.Fprintf(b, "%6d ", blocks[o][mt])
				}
				b.WriteByte('\n')
			}
		}
		fmt.Fprintf(b, "\n%-23s", "Number of blocks type ")
		for mt := range mm.NrMigrateTypes {
			fmt.Fprintf(b, "%12s ", mm.MigrateTypeNames[mt])
		}
		b.WriteByte('\n')
		for _, z := range n.Zones {
			if !z.Populated() {
				continue
			}
			fmt.Fprintf(b, "Node %d, zone %8s ", z.Node, mm.ZoneNames[z.Type])
			for _, c := range z.PageblockTypes() {
				fmt.Fprintf(b, "%12d ", c)
			}
			b.WriteByte('\n')
		}
	}
}

// zoneNamesWithDevice are the zones zoneinfo lists: the kernel has
// ZONE_DEVICE too (for persistent memory), always empty here.
var zoneNamesWithDevice = append(mm.ZoneNames[:], "Device")

// zoneinfo prints every zone of every node as mm/vmstat.c zoneinfo_show
// does: the node's stats under its first populated zone, then the zone's
// free pages, watermarks, sizes, protection, counters and pagesets.
func (v *view) zoneinfo(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	mem := m.Mem
	ncpu := m.CPUs.Possible()
	stat := func(s mm.Stat) { fmt.Fprintf(b, "\n      %-12s %d", s.Name, s.Value) }
	for _, n := range mem.Nodes() {
		first := true
		for t, name := range zoneNamesWithDevice {
			var z *mm.Zone
			if t < len(n.Zones) {
				z = n.Zones[t]
			}
			fmt.Fprintf(b, "Node %d, zone %8s", n.ID, name)
			if z != nil && z.Populated() && first {
				first = false
				b.WriteString("\n  per-node stats")
				for _, s := range mem.NodeStats(n.ID) {
					stat(s)
				}
			}
			var free, wmin, wlow, whigh, wpromo, spanned, present, managed uint64
			var reserve [mm.MaxNrZones]uint64
			if z != nil {
				free, wmin, wlow, whigh, wpromo = z.FreePages(), z.WatermarkMin, z.WatermarkLow, z.WatermarkHigh, z.WatermarkPromo
				spanned, present, managed, reserve = z.Spanned(), z.Present, z.Managed, z.LowmemReserve
			}
			fmt.Fprintf(b, "\n  pages free     %d\n        boost    0\n        min      %d\n        low      %d\n        high     %d\n        promo    %d\n        spanned  %d\n        present  %d\n        managed  %d\n        cma      0",
				free, wmin, wlow, whigh, wpromo, spanned, present, managed)
			b.WriteString("\n        protection: (")
			for i, r := range reserve { // lowmem_reserve, one column per zone type, Device's too
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(b, "%d", r)
			}
			b.WriteByte(')')
			if z == nil || !z.Populated() {
				b.WriteByte('\n')
				continue
			}
			for _, s := range mem.ZoneStats(z) {
				stat(s)
			}
			batch, threshold := pcpBatch(managed), statThreshold(managed, ncpu)
			b.WriteString("\n  pagesets")
			for c := range ncpu {
				fmt.Fprintf(b, "\n    cpu: %d\n              count:    0\n              high:     %d\n              batch:    %d\n              high_min: %d\n              high_max: %d\n  vm stats threshold: %d",
					c, managed/108, batch, managed/108, managed/16, threshold)
			}
			fmt.Fprintf(b, "\n  node_unreclaimable:  0\n  start_pfn:           %d\n", z.Start)
		}
	}
}

// pcpBatch is zone_batchsize: a quarter of the zone's managed pages per
// MiB, at most 256, rounded down to one less than a power of two.
func pcpBatch(managed uint64) uint64 {
	batch := min(managed>>10, 256) / 4
	batch = max(batch, 1)
	p := uint64(1)
	for p*2 <= batch+batch/2 {
		p *= 2
	}
	return max(p-1, 1)
}

// statThreshold is calculate_normal_threshold: the per-CPU counter drift
// allowed, 2 × fls(CPUs) × (1 + fls(memory in 128 MiB units)), at most 125.
func statThreshold(managed uint64, ncpu int) uint64 {
	fls := func(x uint64) uint64 {
		n := uint64(0)
		for ; x > 0; x >>= 1 {
			n++
		}
		return n
	}
	return min(2*fls(uint64(ncpu))*(1+fls(managed>>(27-mm.PageShift))), 125)
}

// slabinfo prints the slab caches in slabinfo version 2.1's layout
// (mm/slab_common.c cache_show); only root may read it.
func (v *view) slabinfo(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	b.WriteString("slabinfo - version: 2.1\n")
	b.WriteString("# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n")
	for _, c := range m.Mem.Slabs() {
		fmt.Fprintf(b, "%-17s %6d %6d %6d %4d %4d : tunables %4d %4d %4d : slabdata %6d %6d %6d\n",
			c.Name, c.Active, c.Objects(), c.ObjSize, c.ObjPerSlab, c.PagesPerSlab, 0, 0, 0, c.Slabs(), c.Slabs(), 0)
	}
}

// iomemEntry is one line of /proc/iomem.
type iomemEntry struct {
	depth      int
	start, end uint64
	name       string
}

// iomem prints the physical address map (kernel/resource.c r_show): RAM
// as the firmware reported it with the kernel's sections inside, the
// reserved ranges, the PCI hole and the interrupt controllers. Only root
// sees addresses; others see zeros.
func (v *view) iomem(b *bytes.Buffer, m *kernelsim.Machine, c *kernfs.Caller) {
	img := m.Mem.Image()
	const kernelStart = 16 << 20
	var ents []iomemEntry
	add := func(depth int, s, e uint64, name string) { ents = append(ents, iomemEntry{depth, s, e, name}) }
	for _, r := range m.Mem.E820() {
		start := r.Start
		if start == 0 && r.Type == "usable" {
			add(0, 0, 0xfff, "Reserved") // e820: update [mem 0x00000000-0x00000fff] usable ==> reserved
			start = 0x1000
		}
		switch {
		case r.Type == "usable":
			add(0, start, r.End, "System RAM")
			if start <= kernelStart && kernelStart < r.End {
				code := kernelStart + img.Code
				rodata := code + 0x200000
				data := rodata + img.ROData
				bss := data + img.RWData
				add(1, kernelStart, code-1, "Kernel code")
				add(1, rodata, data-1, "Kernel rodata")
				add(1, data, bss-1, "Kernel data")
				add(1, bss, bss+img.BSS-1, "Kernel bss")
			}
		case r.Start == 0xf0000:
			add(0, r.Start, r.End, "Reserved")
			add(1, r.Start, r.End, "System ROM")
		default:
			add(0, r.Start, r.End, "Reserved")
		}
	}
	// The PCI hole and devices, placed in address order.
	ents = append(ents,
		iomemEntry{0, 0xc0000000, 0xfebfffff, "PCI Bus 0000:00"},
		iomemEntry{0, 0xfec00000, 0xfec003ff, "IOAPIC 0"},
		iomemEntry{0, 0xfed00000, 0xfed003ff, "HPET 0"},
		iomemEntry{0, 0xfee00000, 0xfee00fff, "Local APIC"},
	)
	sortIOMem(ents)
	for _, e := range ents {
		s, en := e.start, e.end
		if !c.IsRoot() {
			s, en = 0, 0
		}
		fmt.Fprintf(b, "%s%08x-%08x : %s\n", strings.Repeat("  ", e.depth), s, en, e.name)
	}
}

// sortIOMem orders top-level entries by address, keeping children after their parents.
func sortIOMem(ents []iomemEntry) {
	type group struct {
		top  iomemEntry
		kids []iomemEntry
	}
	var groups []group
	for _, e := range ents {
		if e.depth == 0 || len(groups) == 0 {
			groups = append(groups, group{top: e})
		} else {
			g := &groups[len(groups)-1]
			g.kids = append(g.kids, e)
		}
	}
	for i := 1; i < len(groups); i++ {
		for j := i; j > 0 && groups[j].top.start < groups[j-1].top.start; j-- {
			groups[j], groups[j-1] = groups[j-1], groups[j]
		}
	}
	ents = ents[:0]
	for _, g := range groups {
		ents = append(ents, g.top)
		ents = append(ents, g.kids...)
	}
}

// swaps prints the swap areas (mm/swapfile.c swap_show).
func (v *view) swaps(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	b.WriteString("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n")
	total, used := m.Mem.SwapPages()
	if total == 0 {
		return
	}
	size, inuse := total*4, used*4
	pad := func(n uint64) string {
		if n < 10000000 {
			return "\t"
		}
		return ""
	}
	fmt.Fprintf(b, "%s%*s%s\t%d\t%s%d\t%s%d\n", mm.SwapDevice, 40-len(mm.SwapDevice), " ", "partition",
		size, pad(size), inuse, pad(inuse), -2)
}

package sysfs

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/parse"
	"ksim/kernfs"
)

// nodeDir is /sys/devices/system/node (drivers/base/node.c): the node
// masks and a directory per node with its CPUs, memory and statistics.
func (v *view) nodeDir() kernfs.Dir {
	// The nodes are fixed at boot, and all of them have CPUs and memory.
	nodes := kernelsim.Get(v.k, func(m *kernelsim.Machine) int { return m.CPUs.Nodes() })
	all := cpu.FormatList(seq(nodes))
	entries := []kernfs.Entry{
		entry("has_cpu", v.value(all)),
		entry("has_memory", v.value(all)),
		entry("has_normal_memory", v.value(all)),
	}
	for n := range nodes {
		entries = append(entries, entry(fmt.Sprintf("node%d", n), v.oneNodeDir(n, nodes)))
	}
	entries = append(entries,
		entry("online", v.value(all)),
		entry("possible", v.value(all)),
	)
	return dir(entries...)
}

// oneNodeDir is nodeN: its CPUs and memory blocks (links to their
// devices, register_cpu_under_node and register_memory_block_under_node),
// masks, distances, huge pages and counters. A CPU's link goes while it is
// offline (unregister_cpu_under_node), as its own nodeN link does.
func (v *view) oneNodeDir(n, nodes int) kernfs.Dir {
	// x86 takes an offline CPU out of its node's mask (numa_remove_cpu).
	nodeCPUs := func(cpus *cpu.Set) []int { return onlineOf(cpus, cpus.NodeCPUs(n)) }
	type layout struct {
		cpus   []int
		blocks []uint64
	}
	l := kernelsim.Get(v.k, func(m *kernelsim.Machine) layout {
		return layout{slices.Clone(m.CPUs.NodeCPUs(n)), nodeBlocks(m.Mem, n)}
	})
	link := func(target string) *kernfs.LinkFunc {
		return kernfs.NewLinkAttr(0o777, 0, 0, func(*kernfs.Caller) (string, error) { return target, nil })
	}
	var entries []kernfs.Entry
	cpuOf := map[string]int{}
	for _, c := range l.cpus {
		name := fmt.Sprintf("cpu%d", c)
		cpuOf[name] = c
		entries = append(entries, entry(name, link(fmt.Sprintf("../../cpu/cpu%d", c))))
	}
	entries = append(entries,
		entry("cpulist", v.attr(0o444, func(m *kernelsim.Machine) string { return cpu.FormatList(nodeCPUs(m.CPUs)) }, nil)),
		entry("cpumap", v.attr(0o444, func(m *kernelsim.Machine) string {
			return cpu.FormatMask(nodeCPUs(m.CPUs), m.CPUs.Possible())
		}, nil)),
		entry("distance", v.value(nodeDistances(n, nodes))),
		entry("hugepages", dir(
			entry("hugepages-1048576kB", v.nodeHugeDir(n, mm.Huge1G)),
			entry("hugepages-2048kB", v.nodeHugeDir(n, mm.Huge2M)),
		)),
		entry("meminfo", v.raw(0o444, func(m *kernelsim.Machine, b *bytes.Buffer) { nodeMeminfo(b, m.Mem, n) })),
	)
	for _, b := range l.blocks {
		entries = append(entries, entry(fmt.Sprintf("memory%d", b), link(fmt.Sprintf("../../memory/memory%d", b))))
	}
	entries = append(entries,
		entry("numastat", v.raw(0o444, func(m *kernelsim.Machine, b *bytes.Buffer) { numastat(b, m.Mem, n) })),
		entry("vmstat", v.raw(0o444, func(m *kernelsim.Machine, b *bytes.Buffer) { nodeVmstat(b, m.Mem, n) })),
	)
	d := kernfs.NewFilteredDir(dir(entries...), func(name string) bool {
		c, isCPU := cpuOf[name]
		return !isCPU || kernelsim.Get(v.k, func(m *kernelsim.Machine) bool { return m.CPUs.Online(c) })
	}).Notified()
	v.k.Observe(func(ch kernelsim.Change) {
		if ch.Kind == kernelsim.CPUOnline && slices.Contains(l.cpus, ch.CPU) {
			v.outbox.EntryChanged(d, fmt.Sprintf("cpu%d", ch.CPU))
		}
	})
	return d
}

// nodeBlocks are the memory blocks with RAM of node n.
func nodeBlocks(mem *mm.Memory, n int) []uint64 {
	perBlock := mem.BlockBytes() / mm.PageSize
	var out []uint64
	for _, mb := range memoryBlockList(mem) {
		s, e := mb.b*perBlock, (mb.b+1)*perBlock
		for _, z := range mem.Zones() {
			if z.Node == n && z.PresentIn(s, e) > 0 {
				out = append(out, mb.b)
				break
			}
		}
	}
	return out
}

// nodeDistances is a row of the SLIT as QEMU builds it: 10 to itself, 20 to others.
func nodeDistances(n, nodes int) string {
	d := make([]string, nodes)
	for i := range d {
		d[i] = "20"
		if i == n {
			d[i] = "10"
		}
	}
	return strings.Join(d, " ")
}

// nodeMeminfo prints nodeN/meminfo as drivers/base/node.c node_read_meminfo
// does: "Node N " before each meminfo-style line.
func nodeMeminfo(b *bytes.Buffer, mem *mm.Memory, n int) {
	in := mem.NodeInfo(n)
	kb := func(label string, kb uint64) {
		label += ":"
		fmt.Fprintf(b, "Node %d %-16s%8d kB\n", n, label, kb)
	}
	pg := func(label string, pages uint64) { kb(label, pages*mm.PageSize>>10) }
	pg("MemTotal", in.Total)
	pg("MemFree", in.Free)
	pg("MemUsed", in.Total-in.Free)
	pg("SwapCached", in.SwapCached)
	pg("Active", in.ActiveAnon+in.ActiveFile)
	pg("Inactive", in.InactiveAnon+in.InactiveFile)
	pg("Active(anon)", in.ActiveAnon)
	pg("Inactive(anon)", in.InactiveAnon)
	pg("Active(file)", in.ActiveFile)
	pg("Inactive(file)", in.InactiveFile)
	pg("Unevictable", in.Unevictable)
	pg("Mlocked", in.Mlocked)
	pg("Dirty", in.Dirty)
	pg("Writeback", in.Writeback)
	pg("FilePages", in.FilePages)
	pg("Mapped", in.Mapped)
	pg("AnonPages", in.AnonPages)
	pg("Shmem", in.Shmem)
	kb("KernelStack", in.KernelStackKB)
	pg("PageTables", in.PageTables)
	pg("SecPageTables", 0)
	pg("NFS_Unstable", 0)
	pg("Bounce", 0)
	pg("WritebackTmp", 0)
	pg("KReclaimable", in.KReclaimable)
	pg("Slab", in.SReclaimable+in.SUnreclaim)
	pg("SReclaimable", in.SReclaimable)
	pg("SUnreclaim", in.SUnreclaim)
	for _, l := range []string{"AnonHugePages", "ShmemHugePages", "ShmemPmdMapped", "FileHugePages", "FilePmdMapped"} {
		pg(l, 0)
	}
	total, free := nodeHugePages(mem, n, mm.Huge2M)
	fmt.Fprintf(b, "Node %d HugePages_Total: %5d\nNode %d HugePages_Free:  %5d\nNode %d HugePages_Surp:  %5d\n",
		n, total, n, free, n, 0)
}

// nodeHugePages counts a node's huge pages of one size: total and free.
func nodeHugePages(mem *mm.Memory, n int, size mm.HugeSize) (total, free uint64) {
	p := mem.HugePool(size)
	return p.NodeTotal(n), p.NodeFree(n)
}

// numastat prints the node's allocation counters (drivers/base/node.c node_read_numastat).
func numastat(b *bytes.Buffer, mem *mm.Memory, n int) {
	e := mem.NodeNuma(n)
	fmt.Fprintf(b, "numa_hit %d\nnuma_miss %d\nnuma_foreign %d\ninterleave_hit %d\nlocal_node %d\nother_node %d\n",
		e.Hit, e.Miss, e.Foreign, e.Interleave, e.Local, e.Other)
}

// nodeVmstat prints the node's counters: the zone counters summed, then
// the node counters (drivers/base/node.c node_read_vmstat).
func nodeVmstat(b *bytes.Buffer, mem *mm.Memory, n int) {
	var sums []mm.Stat
	for _, z := range mem.Nodes()[n].Zones {
		if !z.Populated() {
			continue
		}
		for i, s := range mem.ZoneStats(z) {
			if i >= len(sums) {
				sums = append(sums, mm.Stat{Name: s.Name})
			}
			sums[i].Value += s.Value
		}
	}
	for _, s := range append(sums, mem.NodeStats(n)...) {
		fmt.Fprintf(b, "%s %d\n", s.Name, s.Value)
	}
}

// nodeHugeDir is nodeN/hugepages/hugepages-SIZE: the node's part of a pool.
func (v *view) nodeHugeDir(n int, size mm.HugeSize) kernfs.Dir {
	total := func(m *kernelsim.Machine) string {
		t, _ := nodeHugePages(m.Mem, n, size)
		return strconv.FormatUint(t, 10)
	}
	free := func(m *kernelsim.Machine) string {
		_, f := nodeHugePages(m.Mem, n, size)
		return strconv.FormatUint(f, 10)
	}
	return dir(
		entry("free_hugepages", v.attr(0o444, free, nil)),
		entry("nr_hugepages", v.attr(0o444, total, nil)),
		entry("surplus_hugepages", v.value("0")),
	)
}

// kernelMMDir is /sys/kernel/mm: huge page pools and transparent huge pages.
func (v *view) kernelMMDir() kernfs.Dir {
	return dir(
		entry("hugepages", dir(
			entry("hugepages-1048576kB", v.hugePoolDir(mm.Huge1G)),
			entry("hugepages-2048kB", v.hugePoolDir(mm.Huge2M)),
		)),
		entry("transparent_hugepage", v.thpDir()),
	)
}

// thpDir is /sys/kernel/mm/transparent_hugepage (mm/huge_memory.c,
// mm/khugepaged.c): the modes, the collapse daemon's knobs and a
// directory per multi-size THP size.
func (v *view) thpDir() kernfs.Dir {
	thp := func(m *kernelsim.Machine) *mm.THP { return &m.Mem.THP }
	kd := func(m *kernelsim.Machine) *mm.Khugepaged { return &m.Mem.THP.Khugepaged }
	sizes := kernelsim.Get(v.k, func(m *kernelsim.Machine) []mm.MTHP { return slices.Clone(m.Mem.THP.Sizes) })
	entries := []kernfs.Entry{
		entry("defrag", v.choice(func(m *kernelsim.Machine) *string { return &thp(m).Defrag },
			[]string{"always", "defer", "defer+madvise", "madvise", "never"})),
		entry("enabled", v.choice(func(m *kernelsim.Machine) *string { return &thp(m).Enabled },
			[]string{"always", "madvise", "never"})),
		entry("hpage_pmd_size", v.value(strconv.Itoa(mm.PageSize<<9))),
	}
	for i, size := range sizes {
		sz := func(m *kernelsim.Machine) *mm.MTHP { return &m.Mem.THP.Sizes[i] }
		var files []kernfs.Entry
		if size.Anon != "" {
			files = append(files, entry("enabled", v.choice(func(m *kernelsim.Machine) *string { return &sz(m).Anon },
				[]string{"always", "inherit", "madvise", "never"})))
		}
		files = append(files,
			entry("shmem_enabled", v.choice(func(m *kernelsim.Machine) *string { return &sz(m).Shmem },
				[]string{"always", "inherit", "within_size", "advise", "never"})),
			entry("stats", v.mthpStatsDir()))
		entries = append(entries, entry(fmt.Sprintf("hugepages-%dkB", size.KB), dir(files...)))
	}
	return dir(append(entries,
		entry("khugepaged", dir(
			entry("alloc_sleep_millisecs", v.uintKnob(func(m *kernelsim.Machine) *uint64 { return &kd(m).AllocSleepMs }, 0, math.MaxUint32)),
			entry("defrag", v.flagKnob(func(m *kernelsim.Machine) *bool { return &kd(m).Defrag })),
			entry("full_scans", v.attr(0o444, func(m *kernelsim.Machine) string { return strconv.FormatUint(kd(m).FullScans, 10) }, nil)),
			entry("max_ptes_none", v.uintKnob(func(m *kernelsim.Machine) *uint64 { return &kd(m).MaxPtesNone }, 0, mm.MaxPtes)),
			entry("max_ptes_shared", v.uintKnob(func(m *kernelsim.Machine) *uint64 { return &kd(m).MaxPtesShared }, 0, mm.MaxPtes)),
			entry("max_ptes_swap", v.uintKnob(func(m *kernelsim.Machine) *uint64 { return &kd(m).MaxPtesSwap }, 0, mm.MaxPtes)),
			entry("pages_collapsed", v.attr(0o444, func(m *kernelsim.Machine) string { return strconv.FormatUint(kd(m).PagesCollapsed, 10) }, nil)),
			entry("pages_to_scan", v.uintKnob(func(m *kernelsim.Machine) *uint64 { return &kd(m).PagesToScan }, 1, math.MaxUint32)),
			entry("scan_sleep_millisecs", v.uintKnob(func(m *kernelsim.Machine) *uint64 { return &kd(m).ScanSleepMs }, 0, math.MaxUint32)),
		)),
		entry("shmem_enabled", v.choice(func(m *kernelsim.Machine) *string { return &thp(m).ShmemEnabled },
			[]string{"always", "within_size", "advise", "never", "deny", "force"})),
		entry("shrink_underused", v.flagKnob(func(m *kernelsim.Machine) *bool { return &thp(m).ShrinkUnderused })),
		entry("use_zero_page", v.flagKnob(func(m *kernelsim.Machine) *bool { return &thp(m).UseZeroPage })),
	)...)
}

// mthpStats are the counters of hugepages-<size>/stats (mm/huge_memory.c
// stats_attrs); ksim maps no mTHPs, so they stay 0.
var mthpStats = []string{"anon_fault_alloc", "anon_fault_declined", "anon_fault_fallback", "anon_fault_fallback_charge",
	"nr_anon", "nr_anon_partially_mapped", "shmem_alloc", "shmem_fallback", "shmem_fallback_charge", "split",
	"split_deferred", "split_failed", "swpin", "swpin_fallback", "swpin_fallback_charge", "swpout", "swpout_fallback", "zswpout"}

func (v *view) mthpStatsDir() kernfs.Dir {
	var entries []kernfs.Entry
	for _, name := range mthpStats {
		entries = append(entries, entry(name, v.value("0")))
	}
	return dir(entries...)
}

// flagKnob is a 0 or 1 a write sets as single_hugepage_flag_store does:
// kstrtoul, and EINVAL above 1.
func (v *view) flagKnob(flag func(m *kernelsim.Machine) *bool) *kernfs.GenFile {
	return v.attr(0o644, func(m *kernelsim.Machine) string { return boolDigit(*flag(m)) }, func(m *kernelsim.Machine, s string) error {
		n, err := parse.Uint(s, 10)
		if err != nil {
			return err
		}
		if n > 1 {
			return errno.Errorf(syscall.EINVAL, "%d: want 0 or 1", n)
		}
		*flag(m) = n == 1
		return nil
	})
}

// uintKnob is a decimal a write sets as khugepaged's stores do: kstrtouint
// or kstrtoul, and any failure or a value out of lo..hi is EINVAL.
func (v *view) uintKnob(knob func(m *kernelsim.Machine) *uint64, lo, hi uint64) *kernfs.GenFile {
	return v.attr(0o644, func(m *kernelsim.Machine) string { return strconv.FormatUint(*knob(m), 10) }, func(m *kernelsim.Machine, s string) error {
		n, err := parse.Uint(s, 10)
		if err != nil || n < lo || n > hi {
			return errno.Errorf(syscall.EINVAL, "%q: want %d..%d", s, lo, hi)
		}
		*knob(m) = n
		return nil
	})
}

// hugePoolDir is hugepages-SIZE: the pool's counters; nr_hugepages resizes it.
func (v *view) hugePoolDir(size mm.HugeSize) kernfs.Dir {
	// The pool is looked up in each show and store, under the lock.
	num := func(f func(*mm.HugePool) uint64) func(*kernelsim.Machine) string {
		return func(m *kernelsim.Machine) string { return strconv.FormatUint(f(m.Mem.HugePool(size)), 10) }
	}
	// nr_hugepages_store_common: kstrtoul(buf, 10), then any count.
	setNr := func(m *kernelsim.Machine, s string) error {
		n, err := parse.Uint(s, 10)
		if err != nil {
			return err
		}
		m.SetNrHugepages(size, n)
		return nil
	}
	var demote []kernfs.Entry
	if size == mm.Huge1G {
		// A gigantic page can be broken into 2 MiB ones (hstate_demote_attrs).
		demote = []kernfs.Entry{
			entry("demote", v.attr(0o200, nil, func(m *kernelsim.Machine, s string) error {
				n, err := parse.Uint(s, 10)
				if err != nil {
					return err
				}
				m.Mem.Demote(size, n)
				return nil
			})),
			entry("demote_size", v.fixed(0o644, "2048kB", func(s string) error {
				// demote_size_store: memparse, and only a smaller size than the pool's.
				if parse.Memparse(s) != mm.PageSize<<9 {
					return errno.Errorf(syscall.EINVAL, "demote_size %q: only 2048kB is below 1048576kB", s)
				}
				return nil
			})),
		}
	}
	return dir(append(demote,
		entry("free_hugepages", v.attr(0o444, num((*mm.HugePool).Free), nil)),
		entry("nr_hugepages", v.attr(0o644, num((*mm.HugePool).Total), setNr)),
		entry("nr_hugepages_mempolicy", v.attr(0o644, num((*mm.HugePool).Total), setNr)),
		entry("nr_overcommit_hugepages", v.attr(0o644, num(func(p *mm.HugePool) uint64 { return p.MaxExtra }),
			func(m *kernelsim.Machine, s string) error {
				n, err := parse.Uint(s, 10)
				if err == nil {
					m.Mem.HugePool(size).MaxExtra = n
				}
				return err
			})),
		entry("resv_hugepages", v.attr(0o444, num(func(p *mm.HugePool) uint64 { return p.Resv }), nil)),
		entry("surplus_hugepages", v.attr(0o444, num(func(p *mm.HugePool) uint64 { return p.Surplus }), nil)),
	)...)
}

// choice is a sysfs selector: reads list the options with the current
// one in brackets; a write picks one by name, else EINVAL. cur finds the
// setting in the machine at each show and store, under the lock.
func (v *view) choice(cur func(m *kernelsim.Machine) *string, options []string) *kernfs.GenFile {
	return v.attr(0o644, func(m *kernelsim.Machine) string {
		out := make([]string, len(options))
		for i, o := range options {
			out[i] = o
			if o == *cur(m) {
				out[i] = "[" + o + "]"
			}
		}
		return strings.Join(out, " ")
	}, func(m *kernelsim.Machine, s string) error {
		s = strings.TrimSpace(s)
		for _, o := range options {
			if o == s {
				*cur(m) = o
				return nil
			}
		}
		return errno.Errorf(syscall.EINVAL, "%q: want one of %v", s, options)
	})
}

// memoryDir is /sys/devices/system/memory (drivers/base/memory.c): the
// block size, the memory failure controls and a directory per block.
func (v *view) memoryDir() kernfs.Dir {
	// The block size follows from the memory size, fixed at boot.
	blockBytes := kernelsim.Get(v.k, func(m *kernelsim.Machine) uint64 { return m.Mem.BlockBytes() })
	return &memoryBlocks{v: v, StaticDir: dir(
		entry("auto_online_blocks", v.fixed(0o644, "online", nil)),
		entry("block_size_bytes", v.value(strconv.FormatUint(blockBytes, 16))),
		entry("hard_offline_page", v.attr(0o200, nil, func(m *kernelsim.Machine, s string) error { return offlinePage(m, s, false) })),
		entry("soft_offline_page", v.attr(0o200, nil, func(m *kernelsim.Machine, s string) error { return offlinePage(m, s, true) })),
	)}
}

// offlinePage takes a physical address, as kstrtoull(buf, 0) reads it
// (any failure is EINVAL: soft_offline_page_store), and takes its page
// frame out of use.
func offlinePage(m *kernelsim.Machine, s string, soft bool) error {
	addr, err := parse.Uint(s, 0)
	if err != nil {
		return errno.Errorf(syscall.EINVAL, "address %q: %w", s, err)
	}
	return m.OfflinePage(addr, soft)
}

// memoryBlocks adds memoryN directories to the static entries, one per
// memory block that has RAM, made when looked up.
type memoryBlocks struct {
	*kernfs.StaticDir
	v *view
}

// memoryBlock is a block that has RAM, and the zone it is in.
type memoryBlock struct {
	b    uint64
	zone string
}

// memoryBlockList lists the blocks that have RAM.
func memoryBlockList(mem *mm.Memory) []memoryBlock {
	perBlock := mem.BlockBytes() / mm.PageSize
	var out []memoryBlock
	for b := uint64(0); b*perBlock < mem.MaxPFN(); b++ {
		if zone := blockZone(mem, b); zone != "" {
			out = append(out, memoryBlock{b, zone})
		}
	}
	return out
}

// blockZone names the zone a block's RAM is in, "none" if several, "" if it has none.
func blockZone(mem *mm.Memory, b uint64) string {
	perBlock := mem.BlockBytes() / mm.PageSize
	s, e := b*perBlock, (b+1)*perBlock
	var names []string
	for _, z := range mem.Zones() {
		if z.PresentIn(s, e) > 0 {
			names = append(names, mm.ZoneNames[z.Type])
		}
	}
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return "none"
}

func (d *memoryBlocks) Lookup(c *kernfs.Caller, name string) (kernfs.Node, error) {
	if n, err := d.StaticDir.Lookup(c, name); err == nil {
		return n, nil
	}
	num, ok := strings.CutPrefix(name, "memory")
	b, err := strconv.ParseUint(num, 10, 64)
	if !ok || err != nil || strconv.FormatUint(b, 10) != num {
		return nil, kernfs.ErrNotExist
	}
	zone := kernelsim.Get(d.v.k, func(m *kernelsim.Machine) string { return blockZone(m.Mem, b) })
	if zone == "" {
		return nil, kernfs.ErrNotExist
	}
	return d.block(b, zone), nil
}

func (d *memoryBlocks) ReadDir(c *kernfs.Caller) ([]kernfs.Dirent, error) {
	ents, _ := d.StaticDir.ReadDir(c)
	for _, mb := range kernelsim.Get(d.v.k, func(m *kernelsim.Machine) []memoryBlock { return memoryBlockList(m.Mem) }) {
		ents = append(ents, kernfs.Dirent{Name: fmt.Sprintf("memory%d", mb.b), Node: d.block(mb.b, mb.zone)})
	}
	return ents, nil
}

// block is memoryN: online, state, phys_index, valid_zones and the rest.
// Offlining memory is not simulated: a write of offline is EBUSY, as when
// Linux cannot migrate a block's pages away; a write of online changes
// nothing. So a block's zone never changes, and its files need no lock.
func (d *memoryBlocks) block(b uint64, zone string) kernfs.Node {
	v := d.v
	refuseOffline := func(s string) error {
		switch strings.TrimSpace(s) {
		case "1", "online", "online_kernel", "online_movable":
			return nil
		case "0", "offline":
			return fmt.Errorf("memory%d: offlining memory is not simulated: %w", b, syscall.EBUSY)
		}
		return fmt.Errorf("memory%d: %q: %w", b, s, syscall.EINVAL)
	}
	return dir(
		entry("online", v.fixed(0o644, "1", refuseOffline)),
		entry("phys_device", v.value("0")),
		entry("phys_index", v.value(fmt.Sprintf("%08x", b))),
		entry("removable", v.value("1")),
		entry("state", v.fixed(0o644, "online", refuseOffline)),
		entry("valid_zones", v.value(zone)),
	)
}

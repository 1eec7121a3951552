package sysfs

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/mm"
	"ksim/kernfs"
)

// nodeDir is /sys/devices/system/node (drivers/base/node.c): the node
// masks and a directory per node with its CPUs, memory and statistics.
func (v *view) nodeDir() kernfs.Dir {
	cpus := v.k.CPUs
	all := func() string { return cpu.FormatList(seq(cpus.Nodes())) }
	entries := []kernfs.Entry{
		entry("has_cpu", v.attr(0o444, all, nil)),
		entry("has_memory", v.attr(0o444, all, nil)),
		entry("has_normal_memory", v.attr(0o444, all, nil)),
	}
	for n := range cpus.Nodes() {
		entries = append(entries, entry(fmt.Sprintf("node%d", n), v.oneNodeDir(n)))
	}
	entries = append(entries,
		entry("online", v.attr(0o444, all, nil)),
		entry("possible", v.attr(0o444, all, nil)),
	)
	return dir(entries...)
}

func (v *view) oneNodeDir(n int) kernfs.Dir {
	cpus := v.k.CPUs
	// x86 takes an offline CPU out of its node's mask (numa_remove_cpu).
	nodeCPUs := func() []int { return onlineOf(cpus, cpus.NodeCPUs(n)) }
	return dir(
		entry("cpulist", v.attr(0o444, func() string { return cpu.FormatList(nodeCPUs()) }, nil)),
		entry("cpumap", v.attr(0o444, func() string { return cpu.FormatMask(nodeCPUs(), cpus.Possible()) }, nil)),
		entry("distance", v.attr(0o444, func() string { return nodeDistances(n, cpus.Nodes()) }, nil)),
		entry("hugepages", dir(
			entry("hugepages-1048576kB", v.nodeHugeDir(n, mm.Huge1G)),
			entry("hugepages-2048kB", v.nodeHugeDir(n, mm.Huge2M)),
		)),
		entry("meminfo", v.raw(0o444, func(b *bytes.Buffer) { v.nodeMeminfo(b, n) })),
		entry("numastat", v.raw(0o444, func(b *bytes.Buffer) { v.numastat(b, n) })),
		entry("vmstat", v.raw(0o444, func(b *bytes.Buffer) { v.nodeVmstat(b, n) })),
	)
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
func (v *view) nodeMeminfo(b *bytes.Buffer, n int) {
	in := v.k.Mem.NodeInfo(n)
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
	total, free := v.nodeHugePages(n, mm.Huge2M)
	fmt.Fprintf(b, "Node %d HugePages_Total: %5d\nNode %d HugePages_Free:  %5d\nNode %d HugePages_Surp:  %5d\n",
		n, total, n, free, n, 0)
}

// nodeHugePages counts a node's huge pages of one size: total and free.
func (v *view) nodeHugePages(n int, size mm.HugeSize) (total, free uint64) {
	p := v.k.Mem.HugePool(size)
	return p.NodeTotal(n), p.NodeFree(n)
}

// numastat prints the node's allocation counters (drivers/base/node.c node_read_numastat).
func (v *view) numastat(b *bytes.Buffer, n int) {
	var hit uint64
	for _, z := range v.k.Mem.Nodes()[n].Zones {
		hit += z.PgAlloc
	}
	fmt.Fprintf(b, "numa_hit %d\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 0\nlocal_node %d\nother_node 0\n", hit, hit)
}

// nodeVmstat prints the node's counters: the zone counters summed, then
// the node counters (drivers/base/node.c node_read_vmstat).
func (v *view) nodeVmstat(b *bytes.Buffer, n int) {
	m := v.k.Mem
	var sums []mm.Stat
	for _, z := range m.Nodes()[n].Zones {
		if !z.Populated() {
			continue
		}
		for i, s := range m.ZoneStats(z) {
			if i >= len(sums) {
				sums = append(sums, mm.Stat{Name: s.Name})
			}
			sums[i].Value += s.Value
		}
	}
	for _, s := range append(sums, m.NodeStats(n)...) {
		fmt.Fprintf(b, "%s %d\n", s.Name, s.Value)
	}
}

// nodeHugeDir is nodeN/hugepages/hugepages-SIZE: the node's part of a pool.
func (v *view) nodeHugeDir(n int, size mm.HugeSize) kernfs.Dir {
	total := func() string { t, _ := v.nodeHugePages(n, size); return strconv.FormatUint(t, 10) }
	free := func() string { _, f := v.nodeHugePages(n, size); return strconv.FormatUint(f, 10) }
	return dir(
		entry("free_hugepages", v.attr(0o444, free, nil)),
		entry("nr_hugepages", v.attr(0o444, total, nil)),
		entry("surplus_hugepages", v.attr(0o444, func() string { return "0" }, nil)),
	)
}

// kernelMMDir is /sys/kernel/mm: huge page pools and transparent huge pages.
func (v *view) kernelMMDir() kernfs.Dir {
	return dir(
		entry("hugepages", dir(
			entry("hugepages-1048576kB", v.hugePoolDir(mm.Huge1G)),
			entry("hugepages-2048kB", v.hugePoolDir(mm.Huge2M)),
		)),
		entry("transparent_hugepage", dir(
			entry("defrag", v.choice(&v.k.Mem.Tunables.THPDefrag, []string{"always", "defer", "defer+madvise", "madvise", "never"})),
			entry("enabled", v.choice(&v.k.Mem.Tunables.THPEnabled, []string{"always", "madvise", "never"})),
		)),
	)
}

// hugePoolDir is hugepages-SIZE: the pool's counters; nr_hugepages resizes it.
func (v *view) hugePoolDir(size mm.HugeSize) kernfs.Dir {
	p := v.k.Mem.HugePool(size)
	num := func(f func() uint64) func() string { return func() string { return strconv.FormatUint(f(), 10) } }
	setNr := func(s string) error {
		n, err := parseUint(s)
		if err != nil {
			return err
		}
		return v.k.SetNrHugepages(size, n)
	}
	return dir(
		entry("free_hugepages", v.attr(0o444, num(p.Free), nil)),
		entry("nr_hugepages", v.attr(0o644, num(p.Total), setNr)),
		entry("nr_hugepages_mempolicy", v.attr(0o644, num(p.Total), setNr)),
		entry("nr_overcommit_hugepages", v.attr(0o644, num(func() uint64 { return p.MaxExtra }), func(s string) error {
			n, err := parseUint(s)
			if err == nil {
				p.MaxExtra = n
			}
			return err
		})),
		entry("resv_hugepages", v.attr(0o444, num(func() uint64 { return p.Resv }), nil)),
		entry("surplus_hugepages", v.attr(0o444, num(func() uint64 { return p.Surplus }), nil)),
	)
}

// choice is a sysfs selector: reads list the options with the current
// one in brackets; a write picks one by name, else EINVAL.
func (v *view) choice(cur *string, options []string) *kernfs.GenFile {
	return v.attr(0o644, func() string {
		out := make([]string, len(options))
		for i, o := range options {
			out[i] = o
			if o == *cur {
				out[i] = "[" + o + "]"
			}
		}
		return strings.Join(out, " ")
	}, func(s string) error {
		s = strings.TrimSpace(s)
		for _, o := range options {
			if o == s {
				*cur = o
				return nil
			}
		}
		return fmt.Errorf("%q: want one of %v: %w", s, options, syscall.EINVAL)
	})
}

// memoryDir is /sys/devices/system/memory (drivers/base/memory.c): the
// block size, the memory failure controls and a directory per block.
func (v *view) memoryDir() kernfs.Dir {
	return &memoryBlocks{v: v, StaticDir: dir(
		entry("auto_online_blocks", v.attr(0o644, func() string { return "online" }, nil)),
		entry("block_size_bytes", v.attr(0o444, func() string { return strconv.FormatUint(v.k.Mem.BlockBytes(), 16) }, nil)),
		entry("hard_offline_page", v.attr(0o200, nil, func(s string) error { return v.offline(s, false) })),
		entry("soft_offline_page", v.attr(0o200, nil, func(s string) error { return v.offline(s, true) })),
	)}
}

// offline takes a physical address, as kstrtoull(buf, 0) reads it, and
// takes its page frame out of use.
func (v *view) offline(s string, soft bool) error {
	addr, err := strconv.ParseUint(strings.TrimSpace(s), 0, 64)
	if err != nil {
		return fmt.Errorf("address %q: %w", s, syscall.EINVAL)
	}
	err = v.k.OfflinePage(addr, soft)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kernelsim.ErrNoPage):
		return fmt.Errorf("%w: %w", err, syscall.ENXIO)
	case errors.Is(err, kernelsim.ErrNotOnline):
		return fmt.Errorf("%w: %w", err, syscall.EIO)
	case errors.Is(err, kernelsim.ErrPoisoned):
		return fmt.Errorf("%w: %w", err, syscall.Errno(133)) // EHWPOISON
	}
	return fmt.Errorf("%w: %w", err, syscall.EBUSY)
}

// memoryBlocks adds memoryN directories to the static entries, one per
// memory block that has RAM, made when looked up.
type memoryBlocks struct {
	*kernfs.StaticDir
	v *view
}

func (d *memoryBlocks) blocks() []uint64 {
	m := d.v.k.Mem
	perBlock := m.BlockBytes() / mm.PageSize
	var out []uint64
	for b := uint64(0); b*perBlock < m.MaxPFN(); b++ {
		if d.blockZone(b) != "" {
			out = append(out, b)
		}
	}
	return out
}

// blockZone names the zone a block's RAM is in, "none" if several, "" if it has none.
func (d *memoryBlocks) blockZone(b uint64) string {
	m := d.v.k.Mem
	perBlock := m.BlockBytes() / mm.PageSize
	s, e := b*perBlock, (b+1)*perBlock
	var names []string
	for _, z := range m.Zones() {
		if z.Populated() && z.Start < e && z.End > s {
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
	var zone string
	_ = d.v.k.Do(func() error { zone = d.blockZone(b); return nil })
	if zone == "" {
		return nil, kernfs.ErrNotExist
	}
	return d.block(b, zone), nil
}

func (d *memoryBlocks) ReadDir(c *kernfs.Caller) ([]kernfs.Dirent, error) {
	ents, _ := d.StaticDir.ReadDir(c)
	var blocks []uint64
	_ = d.v.k.Do(func() error { blocks = d.blocks(); return nil })
	for _, b := range blocks {
		ents = append(ents, kernfs.Dirent{Name: fmt.Sprintf("memory%d", b), Node: d.block(b, "")})
	}
	return ents, nil
}

// block is memoryN: online, state, phys_index, valid_zones and the rest.
// Offlining memory is not simulated: a write of offline is EBUSY, as when
// Linux cannot migrate a block's pages away.
func (d *memoryBlocks) block(b uint64, zone string) kernfs.Node {
	v := d.v
	zoneOf := func() string {
		if zone == "" {
			zone = d.blockZone(b)
		}
		return zone
	}
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
		entry("online", v.attr(0o644, func() string { return "1" }, refuseOffline)),
		entry("phys_device", v.attr(0o444, func() string { return "0" }, nil)),
		entry("phys_index", v.attr(0o444, func() string { return fmt.Sprintf("%08x", b) }, nil)),
		entry("removable", v.attr(0o444, func() string { return "1" }, nil)),
		entry("state", v.attr(0o644, func() string { return "online" }, refuseOffline)),
		entry("valid_zones", v.attr(0o444, zoneOf, nil)),
	)
}

package procfs

import (
	"bytes"
	"fmt"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/mm"
	"ksim/kernfs"
)

// vmaPages is what one mapping holds, in pages.
type vmaPages struct {
	vma                mm.VMA
	anon, file, shared uint64 // shared: shmem pages
	swap               uint64
}

// fileSharers is how many processes are taken to map each shared file
// page (libc, common binaries), for Pss.
const fileSharers = 4

// vmaUsage shares an address space's resident pages out over its
// mappings: anonymous and swapped pages over the writable private ones
// (data, heap, anonymous maps, stack), file pages over the read-only file
// maps (text and libraries), shmem over the largest anonymous map, each
// in proportion to size and never beyond it. The shares add up to the
// counters status shows.
func vmaUsage(as *mm.AddressSpace) []vmaPages {
	vmas := as.VMAs()
	out := make([]vmaPages, len(vmas))
	var anonIdx, fileIdx []int
	for i, v := range vmas {
		out[i].vma = v
		switch {
		case v.Name == "[vvar]" || v.Name == "[vvar_vclock]" || v.Name == "[vdso]":
		case strings.Contains(v.Perms, "w"):
			anonIdx = append(anonIdx, i)
		case v.Inode != 0:
			fileIdx = append(fileIdx, i)
		}
	}
	share := func(total uint64, idx []int, set func(i int, n uint64)) {
		var size uint64
		for _, i := range idx {
			size += (vmas[i].End - vmas[i].Start) / mm.PageSize
		}
		if size == 0 {
			return
		}
		total = min(total, size)
		given := uint64(0)
		for k, i := range idx {
			pages := (vmas[i].End - vmas[i].Start) / mm.PageSize
			n := total * pages / size
			if k == len(idx)-1 {
				n = total - given
			}
			set(i, n)
			given += n
		}
	}
	share(as.RSSAnon(), anonIdx, func(i int, n uint64) { out[i].anon = n })
	share(as.SwapPages(), anonIdx, func(i int, n uint64) { out[i].swap = n })
	share(as.RSSFile(), fileIdx, func(i int, n uint64) { out[i].file = n })
	if len(anonIdx) > 0 {
		big := anonIdx[0]
		for _, i := range anonIdx {
			if vmas[i].End-vmas[i].Start > vmas[big].End-vmas[big].Start {
				big = i
			}
		}
		out[big].shared = as.RSSShmem()
	}
	return out
}

// smapsKB prints a smaps line: a 16-column label, the kB right-aligned in 8.
func smapsKB(b *bytes.Buffer, label string, pages uint64) {
	fmt.Fprintf(b, "%-16s%8d kB\n", label+":", pages*mm.PageSize>>10)
}

// smapsCounts prints the counters smaps and smaps_rollup share
// (fs/proc/task_mmu.c __show_smap).
func smapsCounts(b *bytes.Buffer, u vmaPages, rollup bool) {
	rss := u.anon + u.file + u.shared
	pssFile := u.file / fileSharers
	smapsKB(b, "Rss", rss)
	smapsKB(b, "Pss", u.anon+pssFile+u.shared)
	smapsKB(b, "Pss_Dirty", u.anon+u.shared)
	if rollup {
		smapsKB(b, "Pss_Anon", u.anon)
		smapsKB(b, "Pss_File", pssFile)
		smapsKB(b, "Pss_Shmem", u.shared)
	}
	smapsKB(b, "Shared_Clean", u.file)
	smapsKB(b, "Shared_Dirty", u.shared)
	smapsKB(b, "Private_Clean", 0)
	smapsKB(b, "Private_Dirty", u.anon)
	smapsKB(b, "Referenced", rss)
	smapsKB(b, "Anonymous", u.anon)
	for _, l := range []string{"KSM", "LazyFree", "AnonHugePages", "ShmemPmdMapped", "FilePmdMapped", "Shared_Hugetlb", "Private_Hugetlb"} {
		smapsKB(b, l, 0)
	}
	smapsKB(b, "Swap", u.swap)
	smapsKB(b, "SwapPss", u.swap)
	smapsKB(b, "Locked", 0)
}

// vmFlag is a bit of vm_flags (include/linux/mm.h VM_*).
type vmFlag uint64

const (
	vmRead       vmFlag = 0x00000001
	vmWrite      vmFlag = 0x00000002
	vmExec       vmFlag = 0x00000004
	vmMayRead    vmFlag = 0x00000010
	vmMayWrite   vmFlag = 0x00000020
	vmMayExec    vmFlag = 0x00000040
	vmGrowsDown  vmFlag = 0x00000100
	vmPFNMap     vmFlag = 0x00000400
	vmIO         vmFlag = 0x00004000
	vmDontExpand vmFlag = 0x00040000
	vmAccount    vmFlag = 0x00100000
	vmDontDump   vmFlag = 0x04000000
	vmSoftDirty  vmFlag = 0x08000000
)

// vmFlagNames are show_smap_vma_flags's mnemonics (fs/proc/task_mmu.c) of
// the bits ksim's mappings have, in bit order, the order it prints them.
var vmFlagNames = []struct {
	bit  vmFlag
	name string
}{
	{vmRead, "rd"}, {vmWrite, "wr"}, {vmExec, "ex"}, {vmMayRead, "mr"}, {vmMayWrite, "mw"},
	{vmMayExec, "me"}, {vmGrowsDown, "gd"}, {vmPFNMap, "pf"}, {vmIO, "io"}, {vmDontExpand, "de"},
	{vmAccount, "ac"}, {vmDontDump, "dd"}, {vmSoftDirty, "sd"},
}

// newVMASoftDirty is VM_SOFTDIRTY with CONFIG_MEM_SOFT_DIRTY, as Debian
// builds x86_64: every mapping a process makes, and every special mapping
// (__install_special_mapping), is born soft-dirty. The gate page is no
// VMA of the process and has no such bit.
const newVMASoftDirty = vmSoftDirty

// specialVMAFlags are the flags of the x86_64 special mappings:
// arch/x86/entry/vdso/vma.c map_vdso and lib/vdso/datastore.c
// vdso_install_vvar_mapping give them, __install_special_mapping adds
// VM_DONTEXPAND; the gate page (arch/x86/entry/vsyscall/vsyscall_64.c) is
// VM_EXEC alone under vsyscall=xonly, Debian's default.
var specialVMAFlags = map[string]vmFlag{
	"[vvar]":        vmRead | vmMayRead | vmIO | vmDontDump | vmPFNMap | vmDontExpand | newVMASoftDirty,
	"[vvar_vclock]": vmRead | vmMayRead | vmIO | vmDontDump | vmPFNMap | vmDontExpand | newVMASoftDirty,
	"[vdso]":        vmRead | vmExec | vmMayRead | vmMayWrite | vmMayExec | vmDontExpand | newVMASoftDirty,
	"[vsyscall]":    vmExec,
}

// vmaFlags are a mapping's vm_flags: a special mapping's own, else those
// of its permissions with VM_MAY{READ,WRITE,EXEC} (do_mmap gives a
// private mapping all three: writes to it are copy-on-write), grows-down
// for the stack, and VM_ACCOUNT when writable (a private writable mapping
// is committed memory, mm/mmap.c accountable_mapping).
func vmaFlags(v mm.VMA) vmFlag {
	if f, ok := specialVMAFlags[v.Name]; ok {
		return f
	}
	f := vmMayRead | vmMayWrite | vmMayExec | newVMASoftDirty
	for i, bit := range []vmFlag{vmRead, vmWrite, vmExec} {
		if v.Perms[i] != '-' {
			f |= bit
		}
	}
	if v.Name == "[stack]" {
		f |= vmGrowsDown
	}
	if f&vmWrite != 0 {
		f |= vmAccount
	}
	return f
}

// vmFlags are a mapping's VmFlags line (show_smap_vma_flags): each
// mnemonic followed by a space.
func vmFlags(v mm.VMA) string {
	var b strings.Builder
	f := vmaFlags(v)
	for _, n := range vmFlagNames {
		if f&n.bit != 0 {
			b.WriteString(n.name + " ")
		}
	}
	return b.String()
}

// gateVMA is x86_64's vsyscall page (arch/x86/entry/vsyscall/vsyscall_64.c
// gate_vma): no VMA of the process, but maps and smaps show it after the
// last one (fs/proc/task_mmu.c get_gate_vma), execute-only.
var gateVMA = mm.VMA{Start: 0xffffffffff600000, End: 0xffffffffff601000, Perms: "--xp", Name: "[vsyscall]"}

// mapsLine prints a maps header line (fs/proc/task_mmu.c show_map_vma):
// the path starts at column 73.
func mapsLine(b *bytes.Buffer, vma mm.VMA) {
	start := b.Len()
	fmt.Fprintf(b, "%08x-%08x %s %08x %02x:%02x %d ", vma.Start, vma.End, vma.Perms, vma.Offset, vma.Major, vma.Minor, vma.Inode)
	if vma.Name != "" {
		if pad := mapsNameColumn - (b.Len() - start); pad > 0 {
			b.WriteString(strings.Repeat(" ", pad))
		}
		b.WriteString(vma.Name)
	}
	b.WriteByte('\n')
}

// taskSmaps prints every mapping with its memory, then the gate page, to
// one who may look; a task without an mm has none (proc_maps_open lets a
// NULL mm through, before any access check).
func taskSmaps(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	as := d.t.Process().MM
	if as == nil {
		return nil
	}
	if !permitted(c, d.t) {
		return syscall.EACCES
	}
	for _, u := range append(vmaUsage(as), vmaPages{vma: gateVMA}) {
		mapsLine(b, u.vma)
		smapsKB(b, "Size", (u.vma.End-u.vma.Start)/mm.PageSize)
		b.WriteString("KernelPageSize:        4 kB\nMMUPageSize:           4 kB\n")
		smapsCounts(b, u, false)
		b.WriteString("THPeligible:           0\nProtectionKey:         0\n")
		b.WriteString("VmFlags: " + vmFlags(u.vma) + "\n")
	}
	return nil
}

// taskSmapsRollup sums smaps over all mappings under one [rollup] header.
// A task without an mm fails the open with ESRCH (smaps_rollup_open: no
// mm from proc_mem_open, found before any access check).
func taskSmapsRollup(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	as := d.t.Process().MM
	if as == nil {
		return syscall.ESRCH
	}
	if !permitted(c, d.t) {
		return syscall.EACCES
	}
	usage := vmaUsage(as)
	var sum vmaPages
	for _, u := range usage {
		sum.anon += u.anon
		sum.file += u.file
		sum.shared += u.shared
		sum.swap += u.swap
	}
	mapsLine(b, mm.VMA{Start: usage[0].vma.Start, End: usage[len(usage)-1].vma.End, Perms: "---p", Name: "[rollup]"})
	smapsCounts(b, sum, true)
	return nil
}

// taskNumaMaps prints /proc/PID/numa_maps (fs/proc/task_mmu.c
// show_numa_map): per mapping its start, the memory policy, what it maps,
// and its pages by node. A mapping's anonymous pages lie on the nodes as
// the process's do, its file pages as the page cache's; a mapping with
// none ([vvar], [vdso]) shows only its policy.
func taskNumaMaps(b *bytes.Buffer, m *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	as := d.t.Process().MM
	if as == nil {
		return nil
	}
	if !permitted(c, d.t) {
		return syscall.EACCES
	}
	anonNodes := m.Mem.NodePages(as, mm.Anon)
	for n, k := range m.Mem.NodePages(as, mm.Shmem) {
		anonNodes[n] += k
	}
	fileNodes := m.Mem.NodeCachePages()
	policy := as.Policy.String()
	for _, u := range vmaUsage(as) {
		fmt.Fprintf(b, "%08x %s", u.vma.Start, policy)
		switch {
		case u.vma.Inode != 0:
			b.WriteString(" file=" + u.vma.Name)
		case u.vma.Name == "[heap]":
			b.WriteString(" heap")
		case u.vma.Name == "[stack]":
			b.WriteString(" stack")
		}
		anon := u.anon + u.shared
		pages := anon + u.file
		if pages == 0 {
			b.WriteByte('\n')
			continue
		}
		if anon > 0 {
			fmt.Fprintf(b, " anon=%d dirty=%d", anon, anon)
		}
		if pages != anon {
			fmt.Fprintf(b, " mapped=%d", pages)
			if u.vma.Name != as.Path() {
				fmt.Fprintf(b, " mapmax=%d", fileSharers) // libraries and data files are shared
			}
		}
		if anon > 0 {
			b.WriteString(" active=0") // new anonymous pages start on the inactive list
		}
		byNode := spread(anon, anonNodes)
		for n, k := range spread(u.file, fileNodes) {
			byNode[n] += k
		}
		for n, k := range byNode {
			if k > 0 {
				fmt.Fprintf(b, " N%d=%d", n, k)
			}
		}
		b.WriteString(" kernelpagesize_kB=4\n")
	}
	return nil
}

// spread shares pages over nodes in proportion to how a whole is spread
// over them; the shares add up to pages.
func spread(pages uint64, whole []uint64) []uint64 {
	out := make([]uint64, len(whole))
	var total uint64
	for _, w := range whole {
		total += w
	}
	if total == 0 || pages == 0 {
		if len(out) > 0 {
			out[0] = pages
		}
		return out
	}
	given := uint64(0)
	last := 0
	for n, w := range whole {
		out[n] = pages * w / total
		given += out[n]
		if w > 0 {
			last = n
		}
	}
	out[last] += pages - given
	return out
}

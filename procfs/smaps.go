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
		case v.Name == "[vvar]" || v.Name == "[vdso]":
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

// vmFlags are a mapping's VmFlags (fs/proc/task_mmu.c show_smap_vma_flags).
func vmFlags(v mm.VMA) string {
	var f []string
	if v.Perms[0] == 'r' {
		f = append(f, "rd")
	}
	if v.Perms[1] == 'w' {
		f = append(f, "wr")
	}
	if v.Perms[2] == 'x' {
		f = append(f, "ex")
	}
	f = append(f, "mr", "mw", "me")
	if v.Name == "[stack]" {
		f = append(f, "gd")
	}
	if v.Perms[1] == 'w' {
		f = append(f, "ac")
	}
	f = append(f, "sd")
	return strings.Join(f, " ") + " "
}

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

// taskSmaps prints every mapping with its memory, to one who may look.
func taskSmaps(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	if !permitted(c, d.t) {
		return syscall.EACCES
	}
	as := d.t.Process().MM
	if as == nil {
		return nil
	}
	for _, u := range vmaUsage(as) {
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
func taskSmapsRollup(b *bytes.Buffer, _ *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error {
	if !permitted(c, d.t) {
		return syscall.EACCES
	}
	as := d.t.Process().MM
	if as == nil {
		return nil
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

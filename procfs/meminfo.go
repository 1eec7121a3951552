package procfs

import (
	"bytes"
	"fmt"

	"ksim/kernelsim"
	"ksim/kernelsim/mm"
	"ksim/kernfs"
)

// vmallocTotalKB is VMALLOC_TOTAL on x86_64 with 4-level paging (32 TiB), less a page as Linux prints it.
const vmallocTotalKB = 34359738367

// meminfo prints /proc/meminfo as fs/proc/meminfo.c does: a 16-column
// label and the value right-aligned in 8 columns, then " kB". The fields
// are those of a 6.18 x86_64 kernel with CONFIG_MEMORY_FAILURE (Debian's
// config), in its order.
func (v *view) meminfo(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	in := m.Mem.Info()
	kb := func(label string, pages uint64) { showKB(b, label, pages*mm.PageSize>>10) }
	kb("MemTotal", in.Total)
	kb("MemFree", in.Free)
	kb("MemAvailable", in.Available)
	kb("Buffers", in.Buffers)
	kb("Cached", in.Cached)
	kb("SwapCached", in.SwapCached)
	kb("Active", in.ActiveAnon+in.ActiveFile)
	kb("Inactive", in.InactiveAnon+in.InactiveFile)
	kb("Active(anon)", in.ActiveAnon)
	kb("Inactive(anon)", in.InactiveAnon)
	kb("Active(file)", in.ActiveFile)
	kb("Inactive(file)", in.InactiveFile)
	kb("Unevictable", in.Unevictable)
	kb("Mlocked", in.Mlocked)
	kb("SwapTotal", in.SwapTotal)
	kb("SwapFree", in.SwapFree)
	kb("Zswap", 0)
	kb("Zswapped", 0)
	kb("Dirty", in.Dirty)
	kb("Writeback", in.Writeback)
	kb("AnonPages", in.AnonPages)
	kb("Mapped", in.Mapped)
	kb("Shmem", in.Shmem)
	kb("KReclaimable", in.KReclaimable)
	kb("Slab", in.SReclaimable+in.SUnreclaim)
	kb("SReclaimable", in.SReclaimable)
	kb("SUnreclaim", in.SUnreclaim)
	showKB(b, "KernelStack", in.KernelStackKB)
	kb("PageTables", in.PageTables)
	kb("SecPageTables", 0)
	kb("NFS_Unstable", 0)
	kb("Bounce", 0)
	kb("WritebackTmp", 0)
	kb("CommitLimit", in.CommitLimit)
	kb("Committed_AS", in.CommittedAS)
	showKB(b, "VmallocTotal", vmallocTotalKB)
	kb("VmallocUsed", in.VmallocUsed)
	kb("VmallocChunk", 0)
	kb("Percpu", in.Percpu)
	// Its own seq_printf, not show_val_kb: the value in 5 columns after one space.
	fmt.Fprintf(b, "HardwareCorrupted: %5d kB\n", in.HardwareCorrupted*mm.PageSize>>10)
	kb("AnonHugePages", 0)
	kb("ShmemHugePages", 0)
	kb("ShmemPmdMapped", 0)
	kb("FileHugePages", 0)
	kb("FilePmdMapped", 0)
	kb("Balloon", 0)
	// mm/hugetlb.c hugetlb_report_meminfo: the default (2 MiB) pool, then all pools' memory.
	p := m.Mem.HugePool(mm.Huge2M)
	fmt.Fprintf(b, "HugePages_Total:   %5d\nHugePages_Free:    %5d\nHugePages_Rsvd:    %5d\nHugePages_Surp:    %5d\n",
		p.Total(), p.Free(), p.Resv, p.Surplus)
	fmt.Fprintf(b, "Hugepagesize:   %8d kB\n", p.KB())
	fmt.Fprintf(b, "Hugetlb:        %8d kB\n", in.HugetlbPages*mm.PageSize>>10)
	showKB(b, "DirectMap4k", in.DirectMap4k)
	showKB(b, "DirectMap2M", in.DirectMap2M)
	showKB(b, "DirectMap1G", in.DirectMap1G)
}

// showKB is fs/proc/meminfo.c show_val_kb: "Label:" padded to 16 columns,
// the number right-aligned in 8, " kB". Every label it prints fits.
func showKB(b *bytes.Buffer, label string, kb uint64) {
	fmt.Fprintf(b, "%-16s%8d kB\n", label+":", kb)
}

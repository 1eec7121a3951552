// Package mm is the simulated kernel's memory: the physical memory map and
// a page-level account of who holds memory (kernel, tasks, page cache).
//
// This is the first memory picture: counters that keep /proc/meminfo, the
// node meminfo and per-task files consistent with each other. Zones, the
// buddy allocator, watermarks and reclaim come with the memory-management
// issue and replace the single free counter here.
package mm

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

const (
	PageSize  = 4096
	PageShift = 12
	// structPageSize is sizeof(struct page) on x86_64: the memmap costs 64
	// bytes per 4 KiB page, reserved at boot (mm/mm_init.c alloc_node_mem_map).
	structPageSize = 64
	// ThreadSize is the kernel stack per task on x86_64 (THREAD_SIZE, 16 KiB).
	ThreadSize = 16 << 10
)

// Region is one entry of the firmware (e820) memory map.
type Region struct {
	Start, End uint64 // [Start, End] inclusive, as the kernel prints them
	Type       string // "usable", "reserved", "ACPI data", ...
}

// KernelImage is the size of the kernel's own sections, as the boot
// "Memory:" line reports them, in bytes.
type KernelImage struct {
	Code, RWData, ROData, Init, BSS uint64
}

// Memory is the machine's physical memory and its accounting, in pages.
type Memory struct {
	e820         []Region
	image        KernelImage
	presentPages uint64 // usable RAM in the e820 map
	totalPages   uint64 // managed by the page allocator: MemTotal

	// Kernel consumers.
	slabReclaimable   uint64
	slabUnreclaimable uint64
	kernelStackBytes  uint64 // KernelStack is kept in bytes: 16 KiB a task
	pageTables        uint64
	percpu            uint64
	vmallocUsed       uint64
	kernelOther       uint64 // pages drivers took straight from the allocator

	// Page cache and user memory.
	fileCache uint64 // page cache of regular files (Cached minus Shmem)
	buffers   uint64 // block-device page cache
	shmem     uint64
	anon      uint64
	mapped    uint64 // file pages mapped by tasks (part of fileCache)
	dirty     uint64
	committed uint64 // private writable virtual memory of all processes (vm_committed_as)
	activeAnonPermille,
	activeFilePermille uint64 // share of anon/file pages on the active LRU
}

// New lays out memBytes of RAM as a PC firmware would and accounts the
// kernel's boot-time reservations. rng gives the machine its own small
// variations (slab and page cache sizes at boot), deterministic per seed.
func New(memBytes uint64, rng *rand.Rand) (*Memory, error) {
	const minMem, maxMem = 256 << 20, 64 << 40
	if memBytes < minMem || memBytes > maxMem {
		return nil, fmt.Errorf("memory size %d bytes: want 256M..64T", memBytes)
	}
	m := &Memory{e820: e820Map(memBytes)}
	for _, r := range m.e820 {
		if r.Type == "usable" {
			m.presentPages += (r.End + 1 - r.Start) / PageSize
		}
	}
	// The kernel image: a distribution kernel of the 6.x era.
	m.image = KernelImage{
		Code: 16 << 20, RWData: 4 << 20, ROData: 12 << 20, Init: 4 << 20, BSS: 6 << 20,
	}
	reserved := m.presentPages*structPageSize/PageSize + // memmap
		(m.image.Code+m.image.RWData+m.image.ROData+m.image.BSS)/PageSize +
		m.presentPages/512 + 8192 // firmware tables, early allocations, crash-safe pools
	m.totalPages = m.presentPages - reserved

	// What a freshly booted server holds, scaled to its size.
	total := m.totalPages
	m.slabReclaimable = 8192 + total/200 + rng.Uint64N(2048)
	m.slabUnreclaimable = 6144 + total/400 + rng.Uint64N(1024)
	m.percpu = 512 + total/4096
	m.vmallocUsed = 4096 + rng.Uint64N(1024)
	m.kernelOther = 2048 + total/1024
	m.buffers = 1024 + rng.Uint64N(4096)
	m.fileCache = 32768 + total/40 + rng.Uint64N(8192)
	m.activeAnonPermille = 700
	m.activeFilePermille = 550
	if m.used() >= m.totalPages {
		return nil, fmt.Errorf("memory size %d bytes leaves nothing free after boot", memBytes)
	}
	return m, nil
}

// e820Map returns the map QEMU's PC firmware gives a machine of this size:
// low memory, the legacy hole, and above 3 GiB a PCI hole with the rest of
// RAM moved above 4 GiB.
func e820Map(memBytes uint64) []Region {
	const (
		lowTop   = 0x9fc00
		highBase = 0x100000
		below4G  = 0xc0000000 // RAM below the PCI hole
		hole4G   = 0x100000000
	)
	regions := []Region{
		{0, lowTop - 1, "usable"},
		{lowTop, 0x9ffff, "reserved"},
		{0xf0000, 0xfffff, "reserved"},
	}
	lowRAM := memBytes
	if lowRAM > below4G {
		lowRAM = below4G
	}
	const acpiSize = 0x20000 // ACPI tables at the top of low RAM
	regions = append(regions,
		Region{highBase, lowRAM - acpiSize - 1, "usable"},
		Region{lowRAM - acpiSize, lowRAM - 1, "reserved"},
		Region{0xfeffc000, 0xfeffffff, "reserved"},
		Region{0xfffc0000, 0xffffffff, "reserved"},
	)
	if memBytes > below4G {
		regions = append(regions, Region{hole4G, hole4G + memBytes - below4G - 1, "usable"})
	}
	return regions
}

// E820 is the firmware memory map.
func (m *Memory) E820() []Region { return append([]Region(nil), m.e820...) }

// Image is the kernel image layout.
func (m *Memory) Image() KernelImage { return m.image }

// PresentPages is the usable RAM the firmware reported.
func (m *Memory) PresentPages() uint64 { return m.presentPages }

// TotalPages is MemTotal in pages.
func (m *Memory) TotalPages() uint64 { return m.totalPages }

func (m *Memory) used() uint64 {
	return m.slabReclaimable + m.slabUnreclaimable + m.kernelStackBytes/PageSize +
		m.pageTables + m.percpu + m.vmallocUsed + m.kernelOther +
		m.fileCache + m.buffers + m.shmem + m.anon
}

// FreePages is what the page allocator has left.
func (m *Memory) FreePages() uint64 { return m.totalPages - m.used() }

// charge takes pages from free memory for one consumer, or fails with
// nothing changed. The memory-management issue turns failure into reclaim.
func (m *Memory) charge(counter *uint64, pages uint64) error {
	if pages > m.FreePages() {
		return fmt.Errorf("out of memory: want %d pages, %d free", pages, m.FreePages())
	}
	*counter += pages
	return nil
}

// AddKernelStack accounts one task's kernel stack.
func (m *Memory) AddKernelStack() error {
	if ThreadSize/PageSize > m.FreePages() {
		return fmt.Errorf("out of memory for a kernel stack")
	}
	m.kernelStackBytes += ThreadSize
	return nil
}

// FreeKernelStack returns one task's kernel stack.
func (m *Memory) FreeKernelStack() { m.kernelStackBytes -= ThreadSize }

// ParseSize reads a size as the kernel's memparse does for mem=: a
// number in C notation (0x hex, leading-0 octal) and an optional suffix
// K, M, G, T, P or E, in either case, for binary multiples.
func ParseSize(s string) (uint64, error) {
	num, shift := s, 0
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGTPE", upper(s[n-1])); i >= 0 {
			num, shift = s[:n-1], 10*(i+1)
		}
	}
	base := 10
	switch {
	case len(num) > 2 && (num[:2] == "0x" || num[:2] == "0X"):
		num, base = num[2:], 16
	case len(num) > 1 && num[0] == '0':
		num, base = num[1:], 8
	}
	if num == "" || num[0] == '+' || num[0] == '-' {
		return 0, fmt.Errorf("size %q: want a number with an optional K, M, G, T, P or E suffix", s)
	}
	n, err := strconv.ParseUint(num, base, 64)
	if err != nil || n > (^uint64(0))>>shift {
		return 0, fmt.Errorf("size %q: want a number with an optional K, M, G, T, P or E suffix", s)
	}
	return n << shift, nil
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

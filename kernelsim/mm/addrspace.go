package mm

import (
	"fmt"
	"math/rand/v2"
)

// Image describes a program to load: how large its mappings are and how
// much of each is resident. Sizes are in bytes.
type Image struct {
	Text, Data, Libs, Heap, Stack uint64 // virtual sizes of the mappings
	OtherVM                       uint64 // further mmaps (arenas, locale files)
	RSSAnon, RSSFile, RSSShmem    uint64 // resident memory
	ArgBytes, EnvBytes            uint64 // argv and environ strings on the stack
}

// AddressSpace is a process's mm_struct: its layout and its memory counters.
// Threads of one process share it.
type AddressSpace struct {
	StartCode, EndCode   uint64
	StartData, EndData   uint64
	StartBrk, Brk        uint64
	StartStack           uint64
	ArgStart, ArgEnd     uint64
	EnvStart, EnvEnd     uint64
	totalVM, hiwaterVM   uint64 // pages
	dataVM, stackVM      uint64 // pages
	execVM               uint64 // pages of executable mappings (text and libraries)
	rssAnon, rssFile     uint64 // pages
	rssShmem, hiwaterRSS uint64 // pages
	pageTableBytes       uint64
}

// NewAddressSpace builds a process image at randomized (ASLR) addresses and
// charges its resident memory and page tables.
func (m *Memory) NewAddressSpace(img Image, rng *rand.Rand) (*AddressSpace, error) {
	as := layout(img, rng)
	if err := m.mapAddressSpace(as); err != nil {
		return nil, fmt.Errorf("new address space: %w", err)
	}
	return as, nil
}

// UnaccountedAddressSpace builds a process image that holds no memory of
// the machine: that of a visitor from outside the simulation. Its layout
// comes from seed alone, so making one draws nothing from the kernel's
// random source.
func UnaccountedAddressSpace(img Image, seed uint64) *AddressSpace {
	return layout(img, rand.New(rand.NewPCG(seed, seed)))
}

func layout(img Image, rng *rand.Rand) *AddressSpace {
	pages := func(b uint64) uint64 { return (b + PageSize - 1) / PageSize }
	as := &AddressSpace{}
	// x86_64 PIE executables load near 0x55..., the stack sits below 0x7fff... (arch/x86/mm/mmap.c).
	as.StartCode = 0x555555554000 + rng.Uint64N(1<<28)*PageSize
	as.EndCode = as.StartCode + img.Text
	as.StartData = pageAlign(as.EndCode) + 0x1000 + img.Text%PageSize
	as.EndData = as.StartData + img.Data
	as.StartBrk = pageAlign(as.EndData) + rng.Uint64N(1<<13)*PageSize
	as.Brk = as.StartBrk + pageAlign(img.Heap)
	as.StartStack = 0x7ffc00000000 + rng.Uint64N(1<<22)*PageSize + 0xa50
	as.ArgStart = as.StartStack + 0x2a0
	as.ArgEnd = as.ArgStart + img.ArgBytes
	as.EnvStart = as.ArgEnd
	as.EnvEnd = as.EnvStart + img.EnvBytes

	as.execVM = pages(img.Text) + pages(img.Libs)
	as.dataVM = pages(img.Data) + pages(img.Heap) + pages(img.OtherVM)
	as.stackVM = pages(img.Stack)
	as.totalVM = as.execVM + as.dataVM + as.stackVM + pages(img.Libs)/2 // libraries' read-only data
	as.hiwaterVM = as.totalVM
	as.rssAnon, as.rssFile, as.rssShmem = pages(img.RSSAnon), pages(img.RSSFile), pages(img.RSSShmem)
	as.hiwaterRSS = as.RSS()
	// Four levels of tables; roughly one PTE page per 2 MiB mapped, plus the upper levels.
	as.pageTableBytes = (as.totalVM/512 + 4) * PageSize
	return as
}

func pageAlign(a uint64) uint64 { return (a + PageSize - 1) &^ (PageSize - 1) }

// mapAddressSpace charges an address space's memory: anonymous pages and
// page tables come from free memory; resident file pages are page cache,
// which grows where the cache does not already hold them.
func (m *Memory) mapAddressSpace(as *AddressSpace) error {
	ptPages := as.pageTableBytes / PageSize
	newCache := uint64(0)
	if m.mapped+as.rssFile > m.fileCache {
		newCache = m.mapped + as.rssFile - m.fileCache
	}
	if as.rssAnon+as.rssShmem+ptPages+newCache > m.FreePages() {
		return fmt.Errorf("out of memory: want %d pages, %d free",
			as.rssAnon+as.rssShmem+ptPages+newCache, m.FreePages())
	}
	m.anon += as.rssAnon
	m.shmem += as.rssShmem
	m.pageTables += ptPages
	m.fileCache += newCache
	m.mapped += as.rssFile
	m.committed += as.dataVM + as.stackVM
	return nil
}

// ReleaseAddressSpace frees what an exiting process held. Its file pages
// stay in the page cache, unmapped, as they do in Linux.
func (m *Memory) ReleaseAddressSpace(as *AddressSpace) {
	m.anon -= as.rssAnon
	m.shmem -= as.rssShmem
	m.pageTables -= as.pageTableBytes / PageSize
	m.mapped -= as.rssFile
	m.committed -= as.dataVM + as.stackVM
}

// RSS is resident pages: anon + file + shmem (get_mm_rss).
func (as *AddressSpace) RSS() uint64 { return as.rssAnon + as.rssFile + as.rssShmem }

// Counters, in pages unless named otherwise.
func (as *AddressSpace) TotalVM() uint64        { return as.totalVM }
func (as *AddressSpace) HiwaterVM() uint64      { return as.hiwaterVM }
func (as *AddressSpace) HiwaterRSS() uint64     { return as.hiwaterRSS }
func (as *AddressSpace) DataVM() uint64         { return as.dataVM }
func (as *AddressSpace) StackVM() uint64        { return as.stackVM }
func (as *AddressSpace) ExecVM() uint64         { return as.execVM }
func (as *AddressSpace) RSSAnon() uint64        { return as.rssAnon }
func (as *AddressSpace) RSSFile() uint64        { return as.rssFile }
func (as *AddressSpace) RSSShmem() uint64       { return as.rssShmem }
func (as *AddressSpace) PageTableBytes() uint64 { return as.pageTableBytes }

// TextPages is the executable's text in pages, as fs/proc/task_mmu.c computes VmExe.
func (as *AddressSpace) TextPages() uint64 {
	return (pageAlign(as.EndCode) - (as.StartCode &^ (PageSize - 1))) / PageSize
}

package mm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"

	"ksim/kernelsim/errno"
)

// Image describes a program to load: how large its mappings are and how
// much of each is resident. Sizes are in bytes.
type Image struct {
	Text, Data, Libs, Heap, Stack uint64 // virtual sizes of the mappings
	OtherVM                       uint64 // further mmaps (arenas, locale files)
	RSSAnon, RSSFile, RSSShmem    uint64 // resident memory
	ArgBytes, EnvBytes            uint64 // argv and environ strings on the stack
	Path                          string // the executable's path
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

	// Policy is its NUMA memory policy; il is where interleaving goes on.
	Policy MemPolicy
	il     int
	// home is the node, +1, its image was first touched on: the node of the
	// CPU its task starts on.
	home int

	// Its pages carry Owner ids of id when it holds memory of the machine.
	id                  uint64
	swapped             uint64 // pages out in swap
	accounted, released bool

	// Where the mappings lie, for /proc/PID/maps.
	path                 string
	textPages, roPages   uint64
	libExec, libRO       uint64 // pages of shared libraries' code and read-only data
	otherPages           uint64
	mmapBase, stackPages uint64
}

// NewAddressSpace builds a process image at randomized (ASLR) addresses
// and gives it its memory: anonymous and shared pages, page tables, and
// the file pages it maps, which are page cache. Allocation may reclaim and
// call the OOM killer; on failure nothing is held.
//
// The pages come as its policy says, first touched on node home: the
// new task's, which faults its image in on its own CPU.
func (m *Memory) NewAddressSpace(img Image, rng *rand.Rand, policy MemPolicy, home int) (*AddressSpace, error) {
	as := layout(img, rng)
	as.Policy, as.home = policy, home+1
	m.nextASID++
	as.id, as.accounted = m.nextASID, true
	if err := m.mapAddressSpace(as); err != nil {
		return nil, fmt.Errorf("new address space: %w", err)
	}
	m.spaces = append(m.spaces, as)
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
	as := &AddressSpace{path: img.Path}
	// x86_64 PIE executables load near 0x55..., shared libraries below the
	// mmap base near 0x7f..., the stack below 0x7ffc... (arch/x86/mm/mmap.c).
	as.StartCode = 0x555555554000 + rng.Uint64N(1<<28)*PageSize
	as.EndCode = as.StartCode + img.Text
	as.textPages = pages(img.Text)
	as.roPages = max(1, as.textPages/4)
	as.StartData = as.StartCode + (as.textPages+as.roPages)*PageSize + img.Text%PageSize
	as.EndData = as.StartData + img.Data
	as.StartBrk = pageAlign(as.EndData) + rng.Uint64N(1<<13)*PageSize
	as.Brk = as.StartBrk + pageAlign(img.Heap)
	as.mmapBase = 0x7f0000000000 + rng.Uint64N(1<<27)*PageSize
	as.StartStack = 0x7ffc00000000 + rng.Uint64N(1<<22)*PageSize + 0xa50
	as.ArgStart = as.StartStack + 0x2a0
	as.ArgEnd = as.ArgStart + img.ArgBytes
	as.EnvStart = as.ArgEnd
	as.EnvEnd = as.EnvStart + img.EnvBytes

	as.libExec, as.libRO = pages(img.Libs), pages(img.Libs)/2
	as.otherPages = pages(img.OtherVM)
	as.stackPages = pages(img.Stack)
	dataPages := pages(as.EndData) - as.StartData/PageSize
	as.execVM = as.textPages + as.libExec + vdsoPages
	as.dataVM = dataPages + pages(img.Heap) + as.otherPages
	as.stackVM = as.stackPages
	as.totalVM = elfHeaderPages + as.textPages + as.roPages + dataPages + pages(img.Heap) +
		as.otherPages + as.libExec + as.libRO + as.stackPages + vvarPages + vvarVclockPages + vdsoPages
	as.hiwaterVM = as.totalVM
	as.rssAnon, as.rssFile, as.rssShmem = pages(img.RSSAnon), pages(img.RSSFile), pages(img.RSSShmem)
	as.hiwaterRSS = as.RSS()
	// Four levels of tables; roughly one PTE page per 2 MiB mapped, plus the upper levels.
	as.pageTableBytes = (as.totalVM/512 + 4) * PageSize
	return as
}

// Pages of the special mappings every x86_64 process has: the vDSO's
// data, its clock pages (VDSO_NR_VCLOCK_PAGES, [vvar_vclock] since 6.15)
// and its code.
const (
	elfHeaderPages  = 1
	vvarPages       = 4
	vvarVclockPages = 2
	vdsoPages       = 2
)

// VMA is one mapping, as /proc/PID/maps lists it.
type VMA struct {
	Start, End uint64
	Perms      string // rwxp
	Offset     uint64
	Major      int // device of the mapped file
	Minor      int
	Inode      uint64
	Name       string // path, [heap], [stack], ... or "" for anonymous memory
}

// rootDevMajor is the major number of the root disk (virtio-blk, 254).
const rootDevMajor = 254

// fileInode gives a mapped file a stable inode number from its path.
func fileInode(path string) uint64 {
	h := uint64(1469598103934665603)
	for i := 0; i < len(path); i++ {
		h = (h ^ uint64(path[i])) * 1099511628211
	}
	return 130000 + h%900000
}

// VMAs lists the mappings in address order: the executable, the heap,
// anonymous mmaps and the C library below the mmap base, the stack, vvar
// and vdso. Their sizes add up to TotalVM.
func (as *AddressSpace) VMAs() []VMA {
	var out []VMA
	file := func(start, pages uint64, perms string, off uint64, path string) uint64 {
		end := start + pages*PageSize
		out = append(out, VMA{start, end, perms, off, rootDevMajor, 0, fileInode(path), path})
		return end
	}
	exe := as.path
	if exe == "" {
		exe = "/usr/bin/true"
	}
	base := as.StartCode - elfHeaderPages*PageSize
	a := file(base, elfHeaderPages, "r--p", 0, exe)
	a = file(a, as.textPages, "r-xp", elfHeaderPages*PageSize, exe)
	a = file(a, as.roPages, "r--p", (elfHeaderPages+as.textPages)*PageSize, exe)
	dataStart := as.StartData &^ (PageSize - 1)
	file(dataStart, (pageAlign(as.EndData)-dataStart)/PageSize, "rw-p", a-base, exe)
	if as.Brk > as.StartBrk {
		out = append(out, VMA{Start: as.StartBrk, End: as.Brk, Perms: "rw-p", Name: "[heap]"})
	}
	// Below the mmap base: anonymous arenas, then libc's segments.
	libc := "/usr/lib/x86_64-linux-gnu/libc.so.6"
	libPages := as.libExec + as.libRO
	start := as.mmapBase - (as.otherPages+libPages)*PageSize
	if as.otherPages > 0 {
		out = append(out, VMA{Start: start, End: start + as.otherPages*PageSize, Perms: "rw-p"})
	}
	a = start + as.otherPages*PageSize
	roHead := as.libRO / 2
	a = file(a, roHead, "r--p", 0, libc)
	a = file(a, as.libExec, "r-xp", roHead*PageSize, libc)
	file(a, as.libRO-roHead, "r--p", (roHead+as.libExec)*PageSize, libc)
	stackTop := pageAlign(as.StartStack) + 0x1000
	out = append(out, VMA{Start: stackTop - as.stackPages*PageSize, End: stackTop, Perms: "rw-p", Name: "[stack]"})
	vvar := stackTop + 0x22000 - vvarVclockPages*PageSize
	out = append(out, VMA{Start: vvar, End: vvar + vvarPages*PageSize, Perms: "r--p", Name: "[vvar]"})
	vclock := vvar + vvarPages*PageSize
	out = append(out, VMA{Start: vclock, End: vclock + vvarVclockPages*PageSize, Perms: "r--p", Name: "[vvar_vclock]"})
	vdso := vclock + vvarVclockPages*PageSize
	out = append(out, VMA{Start: vdso, End: vdso + vdsoPages*PageSize, Perms: "r-xp", Name: "[vdso]"})
	return out
}

func pageAlign(a uint64) uint64 { return (a + PageSize - 1) &^ (PageSize - 1) }

// userPages are allocations a process faults in (GFP_HIGHUSER_MOVABLE).
func (as *AddressSpace) userRequest(kind OwnerKind) allocRequest {
	return allocRequest{owner: Owner{Kind: kind, ID: as.id, MT: Movable}, highest: ZoneNormal, reclaim: true, oom: true,
		policy: as.Policy, il: &as.il}
}

// ErrCommit is a request overcommit accounting refuses: ENOMEM from mmap or fork.
var ErrCommit = errno.Errorf(syscall.ENOMEM, "not enough memory to commit: %w", ErrNoMemory)

// mayCommit is __vm_enough_memory: with overcommit_memory 1 anything
// goes; with 0 a single request may not exceed RAM plus swap; with 2 the
// committed total may not exceed CommitLimit.
func (m *Memory) mayCommit(pages uint64) error {
	switch m.Tunables.OvercommitMemory {
	case 1:
		return nil
	case 2:
		if m.Committed()+pages > m.commitLimit() {
			return ErrCommit
		}
	default:
		if pages > m.TotalPages()+m.swap.total {
			return ErrCommit
		}
	}
	return nil
}

// mapAddressSpace gives an address space the pages its image counts.
func (m *Memory) mapAddressSpace(as *AddressSpace) error {
	if err := m.mayCommit(as.dataVM + as.stackVM); err != nil {
		as.rssAnon, as.rssShmem, as.rssFile, as.pageTableBytes = 0, 0, 0, 0
		return err
	}
	var err error
	defer func() {
		if err != nil {
			m.ReleaseAddressSpace(as)
		}
	}()
	first := func(kind OwnerKind) allocRequest {
		r := as.userRequest(kind)
		r.local = as.home
		return r
	}
	if _, err = m.alloc(as.rssAnon, first(Anon)); err != nil {
		as.rssAnon, as.rssShmem, as.rssFile, as.pageTableBytes = 0, 0, 0, 0
		return err
	}
	if _, err = m.alloc(as.rssShmem, first(Shmem)); err != nil {
		as.rssShmem, as.rssFile, as.pageTableBytes = 0, 0, 0
		return err
	}
	tables := allocRequest{owner: Owner{Kind: PageTable, ID: as.id, MT: Unmovable}, highest: ZoneNormal, reclaim: true, oom: true, local: as.home}
	if _, err = m.alloc(as.pageTableBytes/PageSize, tables); err != nil {
		as.rssFile, as.pageTableBytes = 0, 0
		return err
	}
	if err = m.addMapped(as.rssFile); err != nil {
		as.rssFile = 0
		return err
	}
	m.committed += as.dataVM + as.stackVM
	return nil
}

// ReleaseAddressSpace frees what an exiting process held: its anonymous
// and shared pages, page tables and swap. Its file pages stay in the page
// cache, no longer mapped, as they do in Linux.
func (m *Memory) ReleaseAddressSpace(as *AddressSpace) {
	if !as.accounted || as.released {
		return
	}
	as.released = true
	all := ^uint64(0)
	m.freeOwned(is(Anon, as.id), all)
	m.freeOwned(is(Shmem, as.id), all)
	m.freeOwned(is(PageTable, as.id), all)
	if i := slices.Index(m.spaces, as); i >= 0 {
		m.spaces = slices.Delete(m.spaces, i, i+1)
	}
	m.swap.used -= as.swapped
	m.cache.mapped -= min(m.cache.mapped, as.rssFile)
	m.committed -= min(m.committed, as.dataVM+as.stackVM)
	as.rssAnon, as.rssFile, as.rssShmem, as.swapped, as.pageTableBytes = 0, 0, 0, 0, 0
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

// GrowAnon adds pages of touched anonymous memory to an address space (a
// heap that grows and is written, one minor fault a page), or fails with
// nothing changed. Allocating may run the OOM killer, which may pick this
// very process: then it fails too.
func (m *Memory) GrowAnon(as *AddressSpace, pages uint64) error {
	if err := m.mayCommit(pages); err != nil {
		return err
	}
	exts, err := m.alloc(pages, as.userRequest(Anon))
	if err != nil {
		return err
	}
	if as.released {
		m.free(exts)
		return fmt.Errorf("the process died while it grew: %w", ErrNoMemory)
	}
	as.rssAnon += pages
	as.dataVM += pages
	as.totalVM += pages
	as.Brk += pages * PageSize
	as.hiwaterVM = max(as.hiwaterVM, as.totalVM)
	as.hiwaterRSS = max(as.hiwaterRSS, as.RSS())
	m.committed += pages
	m.Events.PgFault += pages
	// A page-table page maps 2 MiB; the heap's tables grow with it.
	if want := (as.totalVM/512 + 4) * PageSize; want > as.pageTableBytes {
		if _, err := m.allocKernel((want-as.pageTableBytes)/PageSize, PageTable, as.id, Unmovable); err == nil {
			if as.released { // the OOM killer took it meanwhile
				m.freeOwned(is(PageTable, as.id), ^uint64(0))
			} else {
				as.pageTableBytes = want
			}
		}
	}
	return nil
}

// ID is the owner id the address space's pages carry.
func (as *AddressSpace) ID() uint64 { return as.id }

// Path is the program it maps, the executable's path.
func (as *AddressSpace) Path() string { return as.path }

// SwapPages is what the address space has out in swap (VmSwap).
func (as *AddressSpace) SwapPages() uint64 { return as.swapped }

// swapOut moves up to n of its newest anonymous pages to swap; it returns how many.
func (m *Memory) swapOut(as *AddressSpace, n uint64) uint64 {
	n = min(n, m.swap.total-m.swap.used, as.rssAnon)
	moved := m.freeOwned(is(Anon, as.id), n)
	as.rssAnon -= moved
	as.swapped += moved
	m.swap.used += moved
	m.Events.PswpOut += moved
	return moved
}

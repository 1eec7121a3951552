package mm

import (
	"fmt"
	"syscall"

	"ksim/kernelsim/errno"
)

// Memory failure (mm/memory-failure.c): a page frame reported bad is
// taken out of use. Soft offline (a correctable error, seed 002's UCE
// rehearsal) moves the data away first; hard offline (memory_failure)
// does what can still be done with a page already lost.

// Errors memory failure returns, with the errnos of soft_offline_page_store
// and hard_offline_page_store.
var (
	ErrNoPage    = errno.New(syscall.ENXIO, "no such page frame")
	ErrNotOnline = errno.New(syscall.EIO, "page not online")
	ErrPageBusy  = errno.New(syscall.EBUSY, "page could not be handled")
	ErrPoisoned  = errno.New(errno.EHWPOISON, "page already hardware poisoned")
)

// LogLine is a kernel message a memory operation wants logged.
type LogLine struct {
	Level int // printk level
	Text  string
}

// FailureResult is what handling a bad page did.
type FailureResult struct {
	Log []LogLine
	// SigbusAS is the address space whose process must get SIGBUS (its
	// memory is gone), 0 for none.
	SigbusAS uint64
}

const (
	levelErr  = 3
	levelInfo = 6
)

const mfPrefix = "Memory failure: " // pr_fmt of mm/memory-failure.c

func (r *FailureResult) log(level int, format string, args ...any) {
	r.Log = append(r.Log, LogLine{level, mfPrefix + fmt.Sprintf(format, args...)})
}

// HardwareCorrupted is the memory taken out of use, in pages.
func (m *Memory) HardwareCorrupted() uint64 {
	return m.count(Poisoned) + uint64(len(m.poisonedInUse))
}

// poisoned says whether a frame is marked bad.
func (m *Memory) poisoned(pfn uint64) bool {
	z := m.zoneOf(pfn)
	return (z != nil && z.frames.Owner(pfn).Kind == Poisoned) || m.poisonedInUse[pfn]
}

// poison takes a frame out of use for good.
func (m *Memory) poison(z *Zone, pfn uint64) {
	z.frames.assign(pfn, pfn+1, Owner{Kind: Poisoned, MT: z.frames.Owner(pfn).MT})
}

// lookup finds a frame's zone and owner, or why it has none.
func (m *Memory) lookup(pfn uint64) (*Zone, Owner, error) {
	if pfn >= m.maxPFN {
		return nil, Owner{}, ErrNoPage
	}
	z := m.zoneOf(pfn)
	if z == nil {
		return nil, Owner{}, ErrNotOnline
	}
	return z, z.frames.Owner(pfn), nil
}

// SoftOffline is a write to soft_offline_page (soft_offline_page): a free
// frame leaves the buddy allocator; a clean unmapped page cache page is
// dropped; a user page is migrated to a new frame first; a free huge
// page is dissolved and only the bad frame kept out. Kernel pages cannot
// move (EBUSY); a frame already poisoned is left alone.
func (m *Memory) SoftOffline(pfn uint64) (FailureResult, error) {
	var r FailureResult
	z, o, err := m.lookup(pfn)
	if err != nil {
		return r, err
	}
	if m.poisoned(pfn) {
		r.log(levelInfo, "soft offline: %#x page already poisoned", pfn)
		return r, nil
	}
	switch o.Kind {
	case Free:
		m.poison(z, pfn)
	case Hugetlb:
		if !m.dissolve(pfn) {
			r.log(levelInfo, "soft offline: %#x: hugepage isolation failed", pfn)
			return r, ErrPageBusy
		}
		m.poison(z, pfn)
	case FileCache:
		if o.ID == cacheFiles && m.cache.reclaimable() > 0 {
			r.Log = append(r.Log, LogLine{levelInfo, mfPrefix + fmt.Sprintf("soft_offline: %#x: invalidated", pfn)})
			m.uncache(1)
			m.poison(z, pfn)
			return r, nil
		}
		fallthrough
	case Anon, Shmem:
		// Migrate: a new frame for the same owner, then the old one goes bad.
		if _, err := m.alloc(1, allocRequest{owner: o, highest: ZoneNormal, node: z.Node + 1}); err != nil {
			r.log(levelInfo, "soft offline: %#x: migration failed -12, type %s", pfn, o.Kind)
			return r, ErrPageBusy
		}
		m.Events.PgMigrateSuccess++
		m.poison(z, pfn)
	case Hole, Reserved:
		r.log(levelInfo, "soft offline: %#x: unknown page type", pfn)
		return r, ErrNotOnline
	default:
		r.log(levelInfo, "soft offline: %#x: page isolation failed", pfn)
		return r, ErrPageBusy
	}
	return r, nil
}

// uncache forgets n pages of the page cache counters, inactive first.
func (m *Memory) uncache(n uint64) {
	c := &m.cache
	k := min(n, c.inactive)
	c.inactive -= k
	c.active -= min(n-k, c.active)
}

// HardOffline is a write to hard_offline_page (memory_failure): the frame
// is poisoned whatever holds it. A free or clean frame is recovered; a
// process whose memory it was gets SIGBUS; a kernel page is flagged and
// left in place (Ignored, EBUSY); a frame already poisoned is EHWPOISON.
func (m *Memory) HardOffline(pfn uint64) (FailureResult, error) {
	var r FailureResult
	z, o, err := m.lookup(pfn)
	if err != nil {
		r.log(levelErr, "%#x: memory outside kernel control", pfn)
		return r, ErrNoPage
	}
	if m.poisoned(pfn) {
		r.log(levelErr, "%#x: already hardware poisoned", pfn)
		return r, ErrPoisoned
	}
	result := func(kind, action string) {
		r.log(levelErr, "%#x: recovery action for %s: %s", pfn, kind, action)
	}
	switch o.Kind {
	case Free:
		m.poison(z, pfn)
		result("free buddy page", "Recovered")
	case Hugetlb:
		if m.dissolve(pfn) {
			m.poison(z, pfn)
			result("free huge page", "Recovered")
			return r, nil
		}
		m.poisonedInUse[pfn] = true
		result("huge page", "Failed")
		return r, ErrPageBusy
	case FileCache:
		m.uncache(1)
		m.poison(z, pfn)
		result("clean LRU page", "Recovered")
	case Anon, Shmem:
		// The process loses the page: it must not run on with garbage.
		m.poison(z, pfn)
		for _, as := range m.spaces {
			if as.id == o.ID {
				if o.Kind == Anon {
					as.rssAnon--
				} else {
					as.rssShmem--
				}
			}
		}
		r.SigbusAS = o.ID
		result("dirty LRU page", "Recovered")
	default:
		m.poisonedInUse[pfn] = true
		result("reserved kernel page", "Ignored")
		return r, ErrPageBusy
	}
	return r, nil
}

func (k OwnerKind) String() string {
	names := [...]string{"hole", "buddy", "reserved", "kernel", "slab", "pagetable", "kernelstack",
		"percpu", "vmalloc", "anon", "pagecache", "shmem", "hugetlb", "hwpoison"}
	if int(k) < len(names) {
		return names[k]
	}
	return "unknown"
}

package mm

// Page cache owner ids: the cache of regular files and the block
// device cache, which meminfo shows as Buffers.
const (
	cacheFiles   = 0
	cacheBuffers = 1
)

// pageCache is the file LRU (mm/vmscan.c) as counts: new pages start on
// the inactive list, pages that mappings use sit on the active list;
// reclaim takes inactive pages, refilling the inactive list from the
// active one when it is shorter (inactive_is_low). Mapped pages are never
// taken.
type pageCache struct {
	inactive, active uint64
	mapped           uint64 // file pages mapped into processes (NR_FILE_MAPPED)
	dirty, writeback uint64
}

func (c *pageCache) pages() uint64 { return c.inactive + c.active }

// reclaimable is what reclaim may free: cached pages no process maps.
func (c *pageCache) reclaimable() uint64 {
	if p := c.pages(); p > c.mapped {
		return p - c.mapped
	}
	return 0
}

func cacheRequest(id uint64, oom bool) allocRequest {
	return allocRequest{owner: Owner{Kind: FileCache, ID: id, MT: Movable}, highest: ZoneNormal, reclaim: true, oom: oom}
}

// AddPageCache reads n pages from disk into the page cache, as a file
// read does: they join the inactive list. Allocating may reclaim older
// cache but never calls the OOM killer; it returns how many pages it added.
func (m *Memory) AddPageCache(n uint64, node int) uint64 {
	req := cacheRequest(cacheFiles, false)
	req.node = node + 1
	if _, err := m.alloc(n, req); err != nil {
		return 0
	}
	m.cache.inactive += n
	m.Events.PgpgIn += n * (PageSize >> 10)
	return n
}

// addMapped makes room in the cache for file pages a process maps: they
// are found there (the binary and its libraries) or read in, and are active.
func (m *Memory) addMapped(n uint64) error {
	c := &m.cache
	if c.mapped+n > c.pages() {
		short := c.mapped + n - c.pages()
		if _, err := m.alloc(short, cacheRequest(cacheFiles, true)); err != nil {
			return err
		}
		c.active += short
		m.Events.PgpgIn += short * (PageSize >> 10)
	}
	c.mapped += n
	for c.active < c.mapped { // what mappings use is active
		k := min(c.inactive, c.mapped-c.active)
		c.inactive -= k
		c.active += k
		m.Events.PgActivate += k
	}
	return nil
}

// shrinkCache frees up to n unmapped page cache pages, inactive first,
// refilling the inactive list from the active one when it runs short. It
// returns the pages freed.
func (m *Memory) shrinkCache(n uint64) uint64 {
	c := &m.cache
	n = min(n, c.reclaimable())
	if c.inactive < n || c.inactive < c.active {
		want := max(n, (c.pages()+1)/2)
		move := min(want-min(want, c.inactive), c.active-min(c.active, c.mapped))
		c.active -= move
		c.inactive += move
		m.Events.PgDeactivate += move
	}
	n = min(n, c.inactive)
	freed := m.freeOwned(is(FileCache, cacheFiles), n)
	c.inactive -= freed
	return freed
}

// DropPageCache is echo 1 > drop_caches: every clean page no one maps
// goes, the block device's buffers too.
func (m *Memory) DropPageCache() uint64 {
	m.Events.DropPagecache++
	freed := m.shrinkCache(m.cache.reclaimable())
	return freed + m.freeOwned(is(FileCache, cacheBuffers), ^uint64(0))
}

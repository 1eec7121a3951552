package mm

// SlabCache is one kmem_cache as /proc/slabinfo shows it: objects of
// one size packed into slabs of a few pages (mm/slub.c).
type SlabCache struct {
	Name         string
	ObjSize      uint64 // bytes per object, with its metadata
	ObjPerSlab   uint64
	PagesPerSlab uint64
	Reclaimable  bool // SLAB_RECLAIM_ACCOUNT: dentries and inodes, shrinkable under pressure

	Active uint64 // objects in use
	slabs  uint64
	id     uint64 // the owner id its pages carry
}

// Slabs is the number of slabs the cache holds.
func (c *SlabCache) Slabs() uint64 { return c.slabs }

// Objects is num_objs: the room in its slabs.
func (c *SlabCache) Objects() uint64 { return c.slabs * c.ObjPerSlab }

// Pages is the memory its slabs take.
func (c *SlabCache) Pages() uint64 { return c.slabs * c.PagesPerSlab }

// slabCaches are the caches of a 6.x kernel that matter to what tools
// show: the generic kmalloc caches and those of the objects the
// simulation has (tasks, processes, mappings, files, dentries, inodes).
// Sizes and slab geometry are those SLUB gives on x86_64.
var slabCaches = []SlabCache{
	{Name: "ext4_inode_cache", ObjSize: 1200, ObjPerSlab: 27, PagesPerSlab: 8, Reclaimable: true},
	{Name: "proc_inode_cache", ObjSize: 712, ObjPerSlab: 23, PagesPerSlab: 4, Reclaimable: true},
	{Name: "inode_cache", ObjSize: 640, ObjPerSlab: 25, PagesPerSlab: 4, Reclaimable: true},
	{Name: "dentry", ObjSize: 192, ObjPerSlab: 21, PagesPerSlab: 1, Reclaimable: true},
	{Name: "radix_tree_node", ObjSize: 576, ObjPerSlab: 28, PagesPerSlab: 4, Reclaimable: true},
	{Name: "buffer_head", ObjSize: 104, ObjPerSlab: 39, PagesPerSlab: 1, Reclaimable: true},
	{Name: "task_struct", ObjSize: 10752, ObjPerSlab: 3, PagesPerSlab: 8},
	{Name: "mm_struct", ObjSize: 1344, ObjPerSlab: 24, PagesPerSlab: 8},
	{Name: "vm_area_struct", ObjSize: 232, ObjPerSlab: 35, PagesPerSlab: 2},
	{Name: "files_cache", ObjSize: 704, ObjPerSlab: 23, PagesPerSlab: 4},
	{Name: "signal_cache", ObjSize: 1152, ObjPerSlab: 28, PagesPerSlab: 8},
	{Name: "sighand_cache", ObjSize: 2112, ObjPerSlab: 15, PagesPerSlab: 8},
	{Name: "cred_jar", ObjSize: 192, ObjPerSlab: 21, PagesPerSlab: 1},
	{Name: "pid", ObjSize: 128, ObjPerSlab: 32, PagesPerSlab: 1},
	{Name: "anon_vma", ObjSize: 104, ObjPerSlab: 39, PagesPerSlab: 1},
	{Name: "anon_vma_chain", ObjSize: 64, ObjPerSlab: 64, PagesPerSlab: 1},
	{Name: "filp", ObjSize: 256, ObjPerSlab: 32, PagesPerSlab: 2},
	{Name: "sock_inode_cache", ObjSize: 832, ObjPerSlab: 39, PagesPerSlab: 8},
	{Name: "kernfs_node_cache", ObjSize: 128, ObjPerSlab: 32, PagesPerSlab: 1},
	{Name: "kmalloc-8k", ObjSize: 8192, ObjPerSlab: 4, PagesPerSlab: 8},
	{Name: "kmalloc-4k", ObjSize: 4096, ObjPerSlab: 8, PagesPerSlab: 8},
	{Name: "kmalloc-2k", ObjSize: 2048, ObjPerSlab: 16, PagesPerSlab: 8},
	{Name: "kmalloc-1k", ObjSize: 1024, ObjPerSlab: 32, PagesPerSlab: 8},
	{Name: "kmalloc-512", ObjSize: 512, ObjPerSlab: 32, PagesPerSlab: 4},
	{Name: "kmalloc-256", ObjSize: 256, ObjPerSlab: 32, PagesPerSlab: 2},
	{Name: "kmalloc-192", ObjSize: 192, ObjPerSlab: 21, PagesPerSlab: 1},
	{Name: "kmalloc-128", ObjSize: 128, ObjPerSlab: 32, PagesPerSlab: 1},
	{Name: "kmalloc-96", ObjSize: 96, ObjPerSlab: 42, PagesPerSlab: 1},
	{Name: "kmalloc-64", ObjSize: 64, ObjPerSlab: 64, PagesPerSlab: 1},
	{Name: "kmalloc-32", ObjSize: 32, ObjPerSlab: 128, PagesPerSlab: 1},
	{Name: "kmalloc-16", ObjSize: 16, ObjPerSlab: 256, PagesPerSlab: 1},
	{Name: "kmalloc-8", ObjSize: 8, ObjPerSlab: 512, PagesPerSlab: 1},
}

func (m *Memory) initSlabs() {
	for i := range slabCaches {
		c := slabCaches[i]
		c.id = uint64(i)
		m.slabs = append(m.slabs, &c)
	}
}

// Slabs returns the slab caches, in slabinfo's order.
func (m *Memory) Slabs() []*SlabCache { return m.slabs }

// SlabCache finds a cache by name.
func (m *Memory) SlabCache(name string) *SlabCache {
	for _, c := range m.slabs {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (c *SlabCache) mt() MigrateType {
	if c.Reclaimable {
		return Reclaimable
	}
	return Unmovable
}

// SetObjects sets how many objects of a cache are in use, growing it by
// whole slabs or releasing the slabs it no longer needs (SLUB keeps a few
// partial slabs; here it keeps none). Growing may fail for lack of memory.
func (m *Memory) SetObjects(c *SlabCache, n uint64) error {
	need := (n + c.ObjPerSlab - 1) / c.ObjPerSlab
	switch have := c.slabs; {
	case need > have:
		if _, err := m.allocKernel((need-have)*c.PagesPerSlab, Slab, c.id, c.mt()); err != nil {
			return err
		}
	case need < have:
		m.freeOwned(is(Slab, c.id), (have-need)*c.PagesPerSlab)
	}
	c.slabs = need
	c.Active = n
	return nil
}

// SlabPages splits slab memory into the reclaimable and unreclaimable parts.
func (m *Memory) SlabPages() (reclaimable, unreclaimable uint64) {
	for _, c := range m.slabs {
		if c.Reclaimable {
			reclaimable += c.Pages()
		} else {
			unreclaimable += c.Pages()
		}
	}
	return reclaimable, unreclaimable
}

// shrinkSlab frees reclaimable objects (the dentry and inode shrinkers):
// a share of each reclaimable cache scaled by vfs_cache_pressure. It
// returns the pages freed.
func (m *Memory) shrinkSlab(share float64) uint64 {
	var freed uint64
	pressure := float64(m.Tunables.VFSCachePressure) / 100
	for _, c := range m.slabs {
		if !c.Reclaimable || c.Active == 0 {
			continue
		}
		before := c.Pages()
		drop := uint64(float64(c.Active) * min(share*pressure, 1))
		m.Events.SlabsScanned += c.Active
		_ = m.SetObjects(c, c.Active-drop)
		freed += before - c.Pages()
	}
	return freed
}

// DropSlab is echo 2 > drop_caches: every unused dentry and inode goes.
func (m *Memory) DropSlab() uint64 {
	m.Events.DropSlab++
	saved := m.Tunables.VFSCachePressure
	m.Tunables.VFSCachePressure = 100
	freed := m.shrinkSlab(0.97) // what is in use by open files stays
	m.Tunables.VFSCachePressure = saved
	return freed
}

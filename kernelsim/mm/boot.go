package mm

// bootSlabObjects are what a freshly booted server's caches hold beyond
// the objects of its tasks, which the kernel sets as tasks come and go.
var bootSlabObjects = map[string]uint64{
	"kmalloc-8k": 400, "kmalloc-4k": 1200, "kmalloc-2k": 2000, "kmalloc-1k": 4000,
	"kmalloc-512": 8000, "kmalloc-256": 12000, "kmalloc-192": 10000, "kmalloc-128": 20000,
	"kmalloc-96": 10000, "kmalloc-64": 40000, "kmalloc-32": 30000, "kmalloc-16": 20000,
	"kmalloc-8": 20000, "kernfs_node_cache": 40000, "sock_inode_cache": 400, "filp": 3000,
	"proc_inode_cache": 3000, "buffer_head": 20000,
}

// bootConsumers takes what the kernel holds once booted, scaled to the
// machine and capped where a big machine would not use more: per-CPU
// areas, vmalloc space, driver pages, the page cache of what boot read,
// the block device's buffers and the slab caches.
func (m *Memory) bootConsumers() error {
	total := m.TotalPages()
	const mib = 1 << 20 / PageSize
	kernel := func(n uint64, kind OwnerKind) error {
		_, err := m.allocKernel(n, kind, 0, Unmovable)
		return err
	}
	// Each CPU's unit of the per-CPU areas lies on its own node
	// (pcpu_fc_alloc asks cpu_to_node's), and every node has CPUs.
	percpu, nodes := min(512+total/4096, 64*mib), uint64(len(m.nodes))
	for n := range nodes {
		share := percpu / nodes
		if n == 0 {
			share += percpu % nodes
		}
		req := allocRequest{owner: Owner{Kind: Percpu, MT: Unmovable}, highest: ZoneNormal, reclaim: true, oom: true, node: int(n) + 1}
		if _, err := m.alloc(share, req); err != nil {
			return err
		}
	}
	if err := kernel(4096+m.rng.Uint64N(1024), Vmalloc); err != nil {
		return err
	}
	if err := kernel(min(2048+total/1024, 256*mib), KernelMisc); err != nil {
		return err
	}
	if _, err := m.alloc(1024+m.rng.Uint64N(4096), cacheRequest(cacheBuffers, false)); err != nil {
		return err
	}
	bootCache := min(32768+total/40+m.rng.Uint64N(8192), 2048*mib)
	if m.AddPageCache(bootCache, 0) != bootCache {
		return ErrNoMemory
	}
	files := bootCache / 16 // about one file per 64 KiB cached
	objects := map[string]uint64{
		"dentry": 3 * files, "inode_cache": files / 2, "ext4_inode_cache": files / 2,
		"radix_tree_node": bootCache / 64,
	}
	for _, c := range m.slabs {
		n := bootSlabObjects[c.Name] + objects[c.Name]
		if n == 0 {
			continue
		}
		n += m.rng.Uint64N(n/16 + 1)
		if err := m.SetObjects(c, n); err != nil {
			return err
		}
	}
	return nil
}

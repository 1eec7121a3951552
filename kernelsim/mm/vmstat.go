package mm

// Stat is one named counter, as vmstat-style files print them.
type Stat struct {
	Name  string
	Value uint64
}

// zoneStats are the zone_stat_item counters of a set of zones, then the
// NUMA events, in mm/vmstat.c vmstat_text order.
func (m *Memory) zoneStats(zones []*Zone, in Info) []Stat {
	var free, blocks uint64
	var numa NumaEvents
	for _, z := range zones {
		free += z.FreePages()
		for o := 9; o <= MaxOrder; o++ { // free memory in whole pageblocks
			for _, n := range z.FreeBlocks()[o] {
				blocks += n << o
			}
		}
		numa = numa.Add(z.Numa)
	}
	return []Stat{
		{"nr_free_pages", free}, {"nr_free_pages_blocks", blocks},
		{"nr_zone_inactive_anon", in.InactiveAnon}, {"nr_zone_active_anon", in.ActiveAnon},
		{"nr_zone_inactive_file", in.InactiveFile}, {"nr_zone_active_file", in.ActiveFile},
		{"nr_zone_unevictable", 0}, {"nr_zone_write_pending", in.Dirty + in.Writeback},
		{"nr_mlock", 0}, {"nr_zspages", 0}, {"nr_free_cma", 0},
		{"numa_hit", numa.Hit}, {"numa_miss", numa.Miss}, {"numa_foreign", numa.Foreign},
		{"numa_interleave", numa.Interleave}, {"numa_local", numa.Local}, {"numa_other", numa.Other},
	}
}

// ZoneStats are one zone's counters as zoneinfo prints them, its LRU
// and write-pending pages its part of the machine's (see zoneLRUs), so
// that /proc/vmstat and the nodes' vmstat are the zones' sums.
func (m *Memory) ZoneStats(z *Zone) []Stat {
	l := m.zoneLRUs()[zoneIndex(z)]
	return m.zoneStats([]*Zone{z}, Info{InactiveAnon: l.inactiveAnon, ActiveAnon: l.activeAnon,
		InactiveFile: l.inactiveFile, ActiveFile: l.activeFile, Dirty: l.dirty, Writeback: l.writeback})
}

// NodeStats are a node's node_stat_item counters, as zoneinfo's
// "per-node stats" and the node vmstat print them.
func (m *Memory) NodeStats(node int) []Stat {
	return m.nodeStats(m.NodeInfo(node), m.nodes[node].Count(Hugetlb))
}

func (m *Memory) nodeStats(in Info, hugetlb uint64) []Stat {
	return []Stat{
		{"nr_inactive_anon", in.InactiveAnon}, {"nr_active_anon", in.ActiveAnon},
		{"nr_inactive_file", in.InactiveFile}, {"nr_active_file", in.ActiveFile},
		{"nr_unevictable", 0}, {"nr_slab_reclaimable", in.SReclaimable}, {"nr_slab_unreclaimable", in.SUnreclaim},
		{"nr_isolated_anon", 0}, {"nr_isolated_file", 0},
		{"workingset_nodes", 0}, {"workingset_refault_anon", 0}, {"workingset_refault_file", m.Events.WorkingsetRefaultFile},
		{"workingset_activate_anon", 0}, {"workingset_activate_file", 0}, {"workingset_restore_anon", 0},
		{"workingset_restore_file", 0}, {"workingset_nodereclaim", 0},
		{"nr_anon_pages", in.AnonPages}, {"nr_mapped", in.Mapped}, {"nr_file_pages", in.FilePages},
		{"nr_dirty", in.Dirty}, {"nr_writeback", in.Writeback}, {"nr_shmem", in.Shmem},
		{"nr_shmem_hugepages", 0}, {"nr_shmem_pmdmapped", 0}, {"nr_file_hugepages", 0}, {"nr_file_pmdmapped", 0},
		{"nr_anon_transparent_hugepages", 0}, {"nr_vmscan_write", 0}, {"nr_vmscan_immediate_reclaim", 0},
		{"nr_dirtied", 0}, {"nr_written", 0}, {"nr_throttled_written", 0}, {"nr_kernel_misc_reclaimable", 0},
		{"nr_foll_pin_acquired", 0}, {"nr_foll_pin_released", 0},
		{"nr_kernel_stack", in.KernelStackKB}, // in kB, as NR_KERNEL_STACK_KB
		{"nr_page_table_pages", in.PageTables}, {"nr_sec_page_table_pages", 0}, {"nr_iommu_pages", 0},
		{"nr_swapcached", in.SwapCached},
		{"pgpromote_success", 0}, {"pgpromote_candidate", 0}, {"pgpromote_candidate_nrl", 0},
		{"pgdemote_kswapd", 0}, {"pgdemote_direct", 0}, {"pgdemote_khugepaged", 0}, {"pgdemote_proactive", 0},
		{"nr_hugetlb", hugetlb}, {"nr_balloon_pages", 0}, {"nr_kernel_file_pages", 0},
	}
}

// VMStat is /proc/vmstat: zone counters, NUMA events and node counters
// summed over the machine, the dirty thresholds, the memmap, then the
// events since boot, in mm/vmstat.c's order.
func (m *Memory) VMStat() []Stat {
	in := m.Info()
	out := m.zoneStats(m.zones, in)
	out = append(out, m.nodeStats(in, m.count(Hugetlb))...)
	dirtyable := in.Free + in.ActiveFile + in.InactiveFile
	var allocByType [NrZones]uint64
	for _, z := range m.zones {
		allocByType[z.Type] += z.PgAlloc
	}
	e := &m.Events
	memmap := m.PresentPages() * structPageSize / PageSize
	out = append(out, []Stat{
		{"nr_dirty_threshold", dirtyable * uint64(m.Tunables.DirtyRatio) / 100},
		{"nr_dirty_background_threshold", dirtyable * uint64(m.Tunables.DirtyBackgroundRatio) / 100},
		{"nr_memmap_pages", 0}, {"nr_memmap_boot_pages", memmap},
		{"pgpgin", e.PgpgIn}, {"pgpgout", e.PgpgOut}, {"pswpin", e.PswpIn}, {"pswpout", e.PswpOut},
		{"pgalloc_dma", allocByType[ZoneDMA]}, {"pgalloc_dma32", allocByType[ZoneDMA32]},
		{"pgalloc_normal", allocByType[ZoneNormal]}, {"pgalloc_movable", allocByType[ZoneMovable]}, {"pgalloc_device", 0},
		{"allocstall_dma", e.AllocStall[ZoneDMA]}, {"allocstall_dma32", e.AllocStall[ZoneDMA32]},
		{"allocstall_normal", e.AllocStall[ZoneNormal]}, {"allocstall_movable", e.AllocStall[ZoneMovable]},
		{"allocstall_device", 0},
		{"pgskip_dma", 0}, {"pgskip_dma32", 0}, {"pgskip_normal", 0}, {"pgskip_movable", 0}, {"pgskip_device", 0},
		{"pgfree", e.PgFree}, {"pgactivate", e.PgActivate}, {"pgdeactivate", e.PgDeactivate}, {"pglazyfree", 0},
		{"pgfault", e.PgFault}, {"pgmajfault", e.PgMajFault}, {"pglazyfreed", 0}, {"pgrefill", e.PgDeactivate},
		{"pgreuse", 0},
		{"pgsteal_kswapd", e.PgStealKswapd}, {"pgsteal_direct", e.PgStealDirect}, {"pgsteal_khugepaged", 0},
		{"pgsteal_proactive", 0},
		{"pgscan_kswapd", e.PgScanKswapd}, {"pgscan_direct", e.PgScanDirect}, {"pgscan_khugepaged", 0},
		{"pgscan_proactive", 0}, {"pgscan_direct_throttle", 0},
		{"pgscan_anon", e.PgScanAnon}, {"pgscan_file", e.PgScanFile},
		{"pgsteal_anon", e.PgStealAnon}, {"pgsteal_file", e.PgStealFile},
		{"zone_reclaim_success", 0}, {"zone_reclaim_failed", 0}, {"pginodesteal", 0},
		{"slabs_scanned", e.SlabsScanned}, {"kswapd_inodesteal", 0},
		{"kswapd_low_wmark_hit_quickly", e.KswapdLowWmarkHitQuickly},
		{"kswapd_high_wmark_hit_quickly", e.KswapdHighWmarkHitQuickly},
		{"pageoutrun", e.PageOutRun}, {"pgrotated", 0},
		{"drop_pagecache", e.DropPagecache}, {"drop_slab", e.DropSlab}, {"oom_kill", e.OOMKill},
		{"numa_pte_updates", 0}, {"numa_huge_pte_updates", 0}, {"numa_hint_faults", 0},
		{"numa_hint_faults_local", 0}, {"numa_pages_migrated", 0},
		{"pgmigrate_success", e.PgMigrateSuccess}, {"pgmigrate_fail", e.PgMigrateFail},
		{"thp_migration_success", 0}, {"thp_migration_fail", 0}, {"thp_migration_split", 0},
		{"compact_migrate_scanned", e.CompactMigrateScanned}, {"compact_free_scanned", e.CompactFreeScanned},
		{"compact_isolated", e.CompactIsolated}, {"compact_stall", e.CompactStall},
		{"compact_fail", e.CompactFail}, {"compact_success", e.CompactSuccess},
		{"compact_daemon_wake", 0}, {"compact_daemon_migrate_scanned", 0}, {"compact_daemon_free_scanned", 0},
		{"htlb_buddy_alloc_success", e.HtlbBuddyAllocSuccess}, {"htlb_buddy_alloc_fail", e.HtlbBuddyAllocFail},
		{"unevictable_pgs_culled", 0}, {"unevictable_pgs_scanned", 0}, {"unevictable_pgs_rescued", 0},
		{"unevictable_pgs_mlocked", 0}, {"unevictable_pgs_munlocked", 0}, {"unevictable_pgs_cleared", 0},
		{"unevictable_pgs_stranded", 0},
		{"thp_fault_alloc", 0}, {"thp_fault_fallback", 0}, {"thp_fault_fallback_charge", 0},
		{"thp_collapse_alloc", 0}, {"thp_collapse_alloc_failed", 0}, {"thp_file_alloc", 0},
		{"thp_file_fallback", 0}, {"thp_file_fallback_charge", 0}, {"thp_file_mapped", 0},
		{"thp_split_page", 0}, {"thp_split_page_failed", 0}, {"thp_deferred_split_page", 0},
		{"thp_underused_split_page", 0}, {"thp_split_pmd", 0}, {"thp_scan_exceed_none_pte", 0},
		{"thp_scan_exceed_swap_pte", 0}, {"thp_scan_exceed_share_pte", 0}, {"thp_split_pud", 0},
		{"thp_zero_page_alloc", 0}, {"thp_zero_page_alloc_failed", 0}, {"thp_swpout", 0},
		{"thp_swpout_fallback", 0}, {"balloon_inflate", 0}, {"balloon_deflate", 0}, {"balloon_migrate", 0},
		{"swap_ra", 0}, {"swap_ra_hit", 0}, {"swpin_zero", 0}, {"swpout_zero", 0}, {"ksm_swpin_copy", 0},
		{"cow_ksm", 0}, {"zswpin", 0}, {"zswpout", 0}, {"zswpwb", 0},
		{"direct_map_level2_splits", 0}, {"direct_map_level3_splits", 0},
		{"direct_map_level2_collapses", 0}, {"direct_map_level3_collapses", 0},
		{"nr_unstable", 0},
	}...)
	return out
}

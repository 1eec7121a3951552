package mm

// Events are the VM event counters /proc/vmstat shows (include/linux/vm_event_item.h).
type Events struct {
	PgFault, PgMajFault, PgFree       uint64
	PgActivate, PgDeactivate          uint64
	PgpgIn, PgpgOut                   uint64 // kB read from and written to disk
	PswpIn, PswpOut                   uint64
	PgScanKswapd, PgScanDirect        uint64
	PgStealKswapd, PgStealDirect      uint64
	PgScanAnon, PgScanFile            uint64
	PgStealAnon, PgStealFile          uint64
	AllocStall                        [NrZones]uint64
	SlabsScanned                      uint64
	KswapdLowWmarkHitQuickly          uint64
	KswapdHighWmarkHitQuickly         uint64
	PageOutRun                        uint64
	DropPagecache, DropSlab           uint64
	OOMKill                           uint64
	CompactStall, CompactFail         uint64
	CompactSuccess                    uint64
	CompactMigrateScanned             uint64
	CompactFreeScanned                uint64
	CompactIsolated                   uint64
	PgMigrateSuccess, PgMigrateFail   uint64
	HtlbBuddyAllocSuccess             uint64
	HtlbBuddyAllocFail                uint64
	WorkingsetRefaultFile             uint64
	ThpFaultAlloc, ThpCollapseAlloc   uint64
	UnevictablePgsCulled, NrVmscanWrt uint64
}

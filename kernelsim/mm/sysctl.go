package mm

import (
	"math"
	"syscall"

	"ksim/kernelsim/errno"
	"ksim/kernelsim/sysctl"
)

// Sysctls are the vm tunables memory owns, registered as mm/*.c registers
// them (vm_page_writeback_sysctls, vm_compaction, page_alloc_sysctl_table,
// hugetlb_table, mm_sysctl_table), with their handlers' rules.
func (m *Memory) Sysctls() []sysctl.Row {
	t := &m.Tunables
	return []sysctl.Row{
		// sysctl_compaction_handler: only 1 compacts.
		sysctl.Int("vm.compact_memory", 0o200, &m.compactMemory).Handle(func(op sysctl.Op, standard func() error) error {
			if err := standard(); err != nil {
				return err
			}
			if m.compactMemory != 1 {
				return errno.Errorf(syscall.EINVAL, "compact_memory %d: only 1 compacts", m.compactMemory)
			}
			if op.Write {
				m.Compact()
			}
			return nil
		}),
		// The dirty limits come as a ratio or as bytes: setting one zeroes
		// the other (dirty_*_handler in mm/page-writeback.c); the
		// foreground pair only when the value changed.
		sysctl.Ulong("vm.dirty_background_bytes", 0o644, &t.DirtyBackgroundBytes).ULongRange(1, math.MaxUint64).
			OnWrite(func() { t.DirtyBackgroundRatio = 0 }),
		sysctl.Int("vm.dirty_background_ratio", 0o644, &t.DirtyBackgroundRatio).Range(0, 100).
			OnWrite(func() { t.DirtyBackgroundBytes = 0 }),
		sysctl.Ulong("vm.dirty_bytes", 0o644, &t.DirtyBytes).ULongRange(2*PageSize, math.MaxUint64).
			Handle(whenChanged(&t.DirtyBytes, func() { t.DirtyRatio = 0 })),
		sysctl.Int("vm.dirty_expire_centisecs", 0o644, &t.DirtyExpireCentisecs).Min(0),
		sysctl.Int("vm.dirty_ratio", 0o644, &t.DirtyRatio).Range(0, 100).
			Handle(whenChanged(&t.DirtyRatio, func() { t.DirtyBytes = 0 })),
		sysctl.Int("vm.dirty_writeback_centisecs", 0o644, &t.DirtyWritebackCentis),
		// min_free_kbytes_sysctl_handler: the user's value from now on, and new watermarks.
		sysctl.Int("vm.min_free_kbytes", 0o644, &t.MinFreeKB).Min(0).OnWrite(func() {
			t.UserMinFreeKB = true
			m.setupWatermarks()
		}),
		sysctl.Ulong("vm.nr_overcommit_hugepages", 0o644, &m.huge[Huge2M].MaxExtra),
		sysctl.Ulong("vm.overcommit_kbytes", 0o644, &t.OvercommitKbytes).OnWrite(func() { t.OvercommitRatio = 0 }),
		sysctl.Int("vm.overcommit_memory", 0o644, &t.OvercommitMemory).Range(0, 2),
		// proc_dointvec: Linux takes a negative ratio; an unsigned one here refuses it.
		sysctl.Int("vm.overcommit_ratio", 0o644, &t.OvercommitRatio).OnWrite(func() { t.OvercommitKbytes = 0 }),
		sysctl.Int("vm.swappiness", 0o644, &t.Swappiness).Range(0, 200),
		sysctl.Int("vm.vfs_cache_pressure", 0o644, &t.VFSCachePressure).Min(0),
		sysctl.Int("vm.watermark_scale_factor", 0o644, &t.WatermarkScaleFactor).Range(1, 3000).OnWrite(m.setupWatermarks),
	}
}

// whenChanged is a handler that runs fn after a write that changed *v.
func whenChanged[T comparable](v *T, fn func()) func(sysctl.Op, func() error) error {
	return func(op sysctl.Op, standard func() error) error {
		old := *v
		if err := standard(); err != nil || !op.Write {
			return err
		}
		if *v != old {
			fn()
		}
		return nil
	}
}

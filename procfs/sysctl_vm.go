package procfs

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"ksim/kernelsim"
	"ksim/kernelsim/mm"
	"ksim/kernfs"
)

// vmDir is /proc/sys/vm (mm/*.c and kernel/sysctl.c vm_table): the memory
// tunables, each range-checked as Linux does and acting on the model.
// Each file names its variable by a function of the machine, which it
// calls under the lock: a pointer into the machine taken here would be
// used later without it.
func (v *view) vmDir() kernfs.Dir {
	type machine = kernelsim.Machine // short, for the many accessors below
	return kernfs.NewStaticDir(0o555,
		kernfs.Entry{Name: "compact_memory", Node: v.sysctl(0o200, nil, func(m *machine, _ *kernfs.Caller, s string) error {
			if _, err := parseIntVec(s, 1); err != nil {
				return err
			}
			m.Mem.Compact()
			return nil
		})},
		kernfs.Entry{Name: "dirty_background_bytes", Node: v.ulongSysctl(
			func(m *machine) *uint64 { return &m.Mem.Tunables.DirtyBackgroundBytes }, 0,
			func(m *machine) { m.Mem.Tunables.DirtyBackgroundRatio = 0 })},
		kernfs.Entry{Name: "dirty_background_ratio", Node: v.intRangeThen(
			func(m *machine) *int { return &m.Mem.Tunables.DirtyBackgroundRatio }, 0, 100,
			func(m *machine) { m.Mem.Tunables.DirtyBackgroundBytes = 0 })},
		kernfs.Entry{Name: "dirty_bytes", Node: v.ulongSysctl(
			func(m *machine) *uint64 { return &m.Mem.Tunables.DirtyBytes }, 2*mm.PageSize,
			func(m *machine) { m.Mem.Tunables.DirtyRatio = 0 })},
		kernfs.Entry{Name: "dirty_expire_centisecs", Node: v.intRange(
			func(m *machine) *int { return &m.Mem.Tunables.DirtyExpireCentisecs }, 0, math.MaxInt32)},
		kernfs.Entry{Name: "dirty_ratio", Node: v.intRangeThen(
			func(m *machine) *int { return &m.Mem.Tunables.DirtyRatio }, 0, 100,
			func(m *machine) { m.Mem.Tunables.DirtyBytes = 0 })},
		kernfs.Entry{Name: "dirty_writeback_centisecs", Node: v.intRange(
			func(m *machine) *int { return &m.Mem.Tunables.DirtyWritebackCentis }, 0, math.MaxInt32)},
		kernfs.Entry{Name: "drop_caches", Node: v.dropCaches()},
		kernfs.Entry{Name: "min_free_kbytes", Node: v.sysctl(0o644, func(b *bytes.Buffer, m *machine, _ *kernfs.Caller) {
			fmt.Fprintf(b, "%d\n", m.Mem.Tunables.MinFreeKB)
		}, func(m *machine, _ *kernfs.Caller, s string) error {
			vals, err := parseIntVec(s, 1)
			if err != nil {
				return err
			}
			if vals[0] < 0 {
				return einval("min_free_kbytes %d: want 0 or more", vals[0])
			}
			return rangeErr(m.Mem.SetMinFreeKB(uint64(vals[0])))
		})},
		kernfs.Entry{Name: "nr_hugepages", Node: v.hugepagesSysctl(mm.Huge2M)},
		kernfs.Entry{Name: "nr_overcommit_hugepages", Node: v.ulongSysctl(
			func(m *machine) *uint64 { return &m.Mem.HugePool(mm.Huge2M).MaxExtra }, 0, nil)},
		kernfs.Entry{Name: "overcommit_kbytes", Node: v.ulongSysctl(
			func(m *machine) *uint64 { return &m.Mem.Tunables.OvercommitKbytes }, 0,
			func(m *machine) { m.Mem.Tunables.OvercommitRatio = 0 })},
		kernfs.Entry{Name: "overcommit_memory", Node: v.intRange(
			func(m *machine) *int { return &m.Mem.Tunables.OvercommitMemory }, 0, 2)},
		kernfs.Entry{Name: "overcommit_ratio", Node: v.ulongSysctl(
			func(m *machine) *uint64 { return &m.Mem.Tunables.OvercommitRatio }, 0,
			func(m *machine) { m.Mem.Tunables.OvercommitKbytes = 0 })},
		kernfs.Entry{Name: "swappiness", Node: v.intRange(
			func(m *machine) *int { return &m.Mem.Tunables.Swappiness }, 0, 200)},
		kernfs.Entry{Name: "vfs_cache_pressure", Node: v.intRange(
			func(m *machine) *int { return &m.Mem.Tunables.VFSCachePressure }, 0, math.MaxInt32)},
		kernfs.Entry{Name: "watermark_scale_factor", Node: v.sysctl(0o644, func(b *bytes.Buffer, m *machine, _ *kernfs.Caller) {
			fmt.Fprintf(b, "%d\n", m.Mem.Tunables.WatermarkScaleFactor)
		}, func(m *machine, _ *kernfs.Caller, s string) error {
			vals, err := parseIntVec(s, 1)
			if err != nil {
				return err
			}
			if vals[0] < 0 {
				return einval("watermark_scale_factor %d", vals[0])
			}
			return rangeErr(m.Mem.SetWatermarkScaleFactor(uint64(vals[0])))
		})},
	)
}

// dropCaches is vm.drop_caches (fs/drop_caches.c): 1 page cache, 2 slab,
// 3 both, 4 only quiets the log. The log names the writer, and finding
// out who that is may ask the host, so it is done before the write takes
// the lock rather than in a store.
func (v *view) dropCaches() *kernfs.GenFile {
	return kernfs.NewFile(0o200, nil, func(c *kernfs.Caller, data []byte, _ int64) error {
		vals, err := parseIntVec(string(data), 1)
		if err != nil {
			return err
		}
		if vals[0] < 1 || vals[0] > 4 {
			return einval("drop_caches %d: want 1..4", vals[0])
		}
		id := c.Identity()
		return v.k.Write(c.Context(), func(m *kernelsim.Machine) error {
			m.DropCaches(int(vals[0]), id.Comm, id.Pid)
			return nil
		})
	}).SysctlPermissions()
}

// intRange is a proc_dointvec_minmax sysctl over the int that field
// finds in the machine.
func (v *view) intRange(field func(m *kernelsim.Machine) *int, lo, hi int64) *kernfs.GenFile {
	return v.intRangeThen(field, lo, hi, nil)
}

// intRangeThen is intRange whose successful writes also run then.
func (v *view) intRangeThen(field func(m *kernelsim.Machine) *int, lo, hi int64, then func(m *kernelsim.Machine)) *kernfs.GenFile {
	return v.sysctl(0o644, func(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
		fmt.Fprintf(b, "%d\n", *field(m))
	}, func(m *kernelsim.Machine, _ *kernfs.Caller, s string) error {
		vals, err := parseIntVec(s, 1)
		if err != nil {
			return err
		}
		if vals[0] < lo || vals[0] > hi {
			return einval("%d: want %d..%d", vals[0], lo, hi)
		}
		*field(m) = int(vals[0])
		if then != nil {
			then(m)
		}
		return nil
	})
}

// ulongSysctl is a proc_doulongvec_minmax sysctl over the unsigned long
// that field finds in the machine, with a lower bound; then runs after a
// successful write.
func (v *view) ulongSysctl(field func(m *kernelsim.Machine) *uint64, lo uint64, then func(m *kernelsim.Machine)) *kernfs.GenFile {
	return v.sysctl(0o644, func(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
		fmt.Fprintf(b, "%d\n", *field(m))
	}, func(m *kernelsim.Machine, _ *kernfs.Caller, s string) error {
		n, err := parseUlong(s)
		if err != nil {
			return err
		}
		if n < lo {
			return einval("%d: want %d or more", n, lo)
		}
		*field(m) = n
		if then != nil {
			then(m)
		}
		return nil
	})
}

// hugepagesSysctl is vm.nr_hugepages: the default huge page pool's size.
func (v *view) hugepagesSysctl(size mm.HugeSize) *kernfs.GenFile {
	return v.sysctl(0o644, func(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
		fmt.Fprintf(b, "%d\n", m.Mem.HugePool(size).Total())
	}, func(m *kernelsim.Machine, _ *kernfs.Caller, s string) error {
		n, err := parseUlong(s)
		if err != nil {
			return err
		}
		return rangeErr(m.SetNrHugepages(size, n))
	})
}

// parseUlong reads one unsigned long as proc_doulongvec_minmax does: C
// notation, no sign.
func parseUlong(s string) (uint64, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return 0, einval("no number in %q", s)
	}
	n, err := parseCUint(f[0])
	if err != nil {
		return 0, einval("%q is not an unsigned number", f[0])
	}
	return n, nil
}

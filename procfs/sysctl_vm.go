package procfs

import (
	"bytes"
	"fmt"
	"math"
	"strings"

	"ksim/kernelsim/mm"
	"ksim/kernfs"
)

// vmDir is /proc/sys/vm (mm/*.c and kernel/sysctl.c vm_table): the memory
// tunables, each range-checked as Linux does and acting on the model.
func (v *view) vmDir() kernfs.Dir {
	k := v.k
	t := &k.Mem.Tunables
	return kernfs.NewStaticDir(0o555,
		kernfs.Entry{Name: "compact_memory", Node: v.sysctl(0o200, nil, func(_ *kernfs.Caller, s string) error {
			if _, err := parseIntVec(s, 1); err != nil {
				return err
			}
			k.Mem.Compact()
			return nil
		})},
		kernfs.Entry{Name: "dirty_background_bytes", Node: v.ulongSysctl(&t.DirtyBackgroundBytes, 0, func() { t.DirtyBackgroundRatio = 0 })},
		kernfs.Entry{Name: "dirty_background_ratio", Node: v.intRangeThen(&t.DirtyBackgroundRatio, 0, 100, func() { t.DirtyBackgroundBytes = 0 })},
		kernfs.Entry{Name: "dirty_bytes", Node: v.ulongSysctl(&t.DirtyBytes, 2*mm.PageSize, func() { t.DirtyRatio = 0 })},
		kernfs.Entry{Name: "dirty_expire_centisecs", Node: v.intRange(&t.DirtyExpireCentisecs, 0, math.MaxInt32)},
		kernfs.Entry{Name: "dirty_ratio", Node: v.intRangeThen(&t.DirtyRatio, 0, 100, func() { t.DirtyBytes = 0 })},
		kernfs.Entry{Name: "dirty_writeback_centisecs", Node: v.intRange(&t.DirtyWritebackCentis, 0, math.MaxInt32)},
		// fs/drop_caches.c: 1 page cache, 2 slab, 3 both, 4 only quiets the log.
		kernfs.Entry{Name: "drop_caches", Node: v.sysctl(0o200, nil, func(c *kernfs.Caller, s string) error {
			vals, err := parseIntVec(s, 1)
			if err != nil {
				return err
			}
			if vals[0] < 1 || vals[0] > 4 {
				return einval("drop_caches %d: want 1..4", vals[0])
			}
			id := c.Identity()
			k.DropCaches(int(vals[0]), id.Comm, id.Pid)
			return nil
		})},
		kernfs.Entry{Name: "min_free_kbytes", Node: v.sysctl(0o644, func(b *bytes.Buffer, _ *kernfs.Caller) {
			fmt.Fprintf(b, "%d\n", t.MinFreeKB)
		}, func(_ *kernfs.Caller, s string) error {
			vals, err := parseIntVec(s, 1)
			if err != nil {
				return err
			}
			if vals[0] < 0 {
				return einval("min_free_kbytes %d: want 0 or more", vals[0])
			}
			return rangeErr(k.Mem.SetMinFreeKB(uint64(vals[0])))
		})},
		kernfs.Entry{Name: "nr_hugepages", Node: v.hugepagesSysctl(mm.Huge2M)},
		kernfs.Entry{Name: "nr_overcommit_hugepages", Node: v.ulongSysctl(&k.Mem.HugePool(mm.Huge2M).MaxExtra, 0, nil)},
		kernfs.Entry{Name: "overcommit_kbytes", Node: v.ulongSysctl(&t.OvercommitKbytes, 0, func() { t.OvercommitRatio = 0 })},
		kernfs.Entry{Name: "overcommit_memory", Node: v.intRange(&t.OvercommitMemory, 0, 2)},
		kernfs.Entry{Name: "overcommit_ratio", Node: v.ulongSysctl(&t.OvercommitRatio, 0, func() { t.OvercommitKbytes = 0 })},
		kernfs.Entry{Name: "swappiness", Node: v.intRange(&t.Swappiness, 0, 200)},
		kernfs.Entry{Name: "vfs_cache_pressure", Node: v.intRange(&t.VFSCachePressure, 0, math.MaxInt32)},
		kernfs.Entry{Name: "watermark_scale_factor", Node: v.sysctl(0o644, func(b *bytes.Buffer, _ *kernfs.Caller) {
			fmt.Fprintf(b, "%d\n", t.WatermarkScaleFactor)
		}, func(_ *kernfs.Caller, s string) error {
			vals, err := parseIntVec(s, 1)
			if err != nil {
				return err
			}
			if vals[0] < 0 {
				return einval("watermark_scale_factor %d", vals[0])
			}
			return rangeErr(k.Mem.SetWatermarkScaleFactor(uint64(vals[0])))
		})},
	)
}

// intRange is a proc_dointvec_minmax sysctl over an int.
func (v *view) intRange(p *int, lo, hi int64) *kernfs.GenFile { return v.intRangeThen(p, lo, hi, nil) }

// intRangeThen is intRange whose successful writes also run then.
func (v *view) intRangeThen(p *int, lo, hi int64, then func()) *kernfs.GenFile {
	return v.sysctl(0o644, func(b *bytes.Buffer, _ *kernfs.Caller) {
		fmt.Fprintf(b, "%d\n", *p)
	}, func(_ *kernfs.Caller, s string) error {
		vals, err := parseIntVec(s, 1)
		if err != nil {
			return err
		}
		if vals[0] < lo || vals[0] > hi {
			return einval("%d: want %d..%d", vals[0], lo, hi)
		}
		*p = int(vals[0])
		if then != nil {
			then()
		}
		return nil
	})
}

// ulongSysctl is a proc_doulongvec_minmax sysctl over an unsigned long
// with a lower bound; then runs after a successful write.
func (v *view) ulongSysctl(p *uint64, lo uint64, then func()) *kernfs.GenFile {
	return v.sysctl(0o644, func(b *bytes.Buffer, _ *kernfs.Caller) {
		fmt.Fprintf(b, "%d\n", *p)
	}, func(_ *kernfs.Caller, s string) error {
		n, err := parseUlong(s)
		if err != nil {
			return err
		}
		if n < lo {
			return einval("%d: want %d or more", n, lo)
		}
		*p = n
		if then != nil {
			then()
		}
		return nil
	})
}

// hugepagesSysctl is vm.nr_hugepages: the default huge page pool's size.
func (v *view) hugepagesSysctl(size mm.HugeSize) *kernfs.GenFile {
	return v.sysctl(0o644, func(b *bytes.Buffer, _ *kernfs.Caller) {
		fmt.Fprintf(b, "%d\n", v.k.Mem.HugePool(size).Total())
	}, func(_ *kernfs.Caller, s string) error {
		n, err := parseUlong(s)
		if err != nil {
			return err
		}
		return rangeErr(v.k.SetNrHugepages(size, n))
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

package procfs

import (
	"bytes"

	"ksim/kernfs"
)

// vmstat prints /proc/vmstat: "name value" per line, in mm/vmstat.c's order.
func (v *view) vmstat(b *bytes.Buffer, _ *kernfs.Caller) {
	for _, s := range v.k.Mem.VMStat() {
		putUint(b, s.Name+" ", s.Value)
		b.WriteByte('\n')
	}
}

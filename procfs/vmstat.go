package procfs

import (
	"bytes"

	"ksim/kernelsim"
	"ksim/kernfs"
)

// vmstat prints /proc/vmstat: "name value" per line, in mm/vmstat.c's order.
func (v *view) vmstat(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	for _, s := range m.Mem.VMStat() {
		putUint(b, s.Name+" ", s.Value)
		b.WriteByte('\n')
	}
}

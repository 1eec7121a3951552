// Package procfs is the simulated /proc: a table of files, each rendering
// kernel state as Linux's fs/proc does, and a directory per task.
package procfs

import (
	"bytes"
	"io/fs"
	"strconv"

	"ksim/kernelsim"
	"ksim/kernfs"
)

// render is how a /proc file prints kernel state; it gets the machine
// under the kernel lock, for this one render.
type render func(b *bytes.Buffer, m *kernelsim.Machine, c *kernfs.Caller)

// store is how a /proc file takes a write; it gets the machine under the
// kernel lock, for this one write.
type store func(m *kernelsim.Machine, c *kernfs.Caller, value string) error

// view binds file behaviour to a kernel. Nothing built from it keeps the
// machine or a pointer into it: each render and store is handed the
// machine afresh, under the lock.
type view struct {
	k        *kernelsim.Kernel
	visitors *visitors
}

// file returns a generated file that renders under the kernel lock and
// applies writes as changes to the machine, in arrival order; a write
// interrupted while it waits for its turn fails with EINTR.
func (v *view) file(perm fs.FileMode, r render, s store) *kernfs.GenFile {
	var rf kernfs.Render
	if r != nil {
		rf = func(c *kernfs.Caller) ([]byte, error) {
			var b bytes.Buffer
			v.k.Read(func(m *kernelsim.Machine) { r(&b, m, c) })
			return b.Bytes(), nil
		}
	}
	var sf kernfs.Store
	if s != nil {
		sf = func(c *kernfs.Caller, data []byte, _ int64) error {
			return v.k.Write(c.Context(), func(m *kernelsim.Machine) error { return s(m, c, string(data)) })
		}
	}
	return kernfs.NewFile(perm, rf, sf)
}

// sysctl returns a /proc/sys file: generated like any proc file, with
// sysctl's permission rules.
func (v *view) sysctl(perm fs.FileMode, r render, s store) *kernfs.GenFile {
	return v.file(perm, r, s).SysctlPermissions()
}

// New builds /proc for a kernel.
func New(k *kernelsim.Kernel) kernfs.Dir {
	v := &view{k: k, visitors: newVisitors()}
	static := kernfs.NewStaticDir(0o555,
		kernfs.Entry{Name: "buddyinfo", Node: v.file(0o444, v.buddyinfo, nil)},
		kernfs.Entry{Name: "cmdline", Node: v.file(0o444, v.cmdline, nil)},
		kernfs.Entry{Name: "cpuinfo", Node: v.file(0o444, v.cpuinfo, nil)},
		kernfs.Entry{Name: "filesystems", Node: v.file(0o444, v.filesystems, nil)},
		kernfs.Entry{Name: "interrupts", Node: v.file(0o444, v.interrupts, nil)},
		kernfs.Entry{Name: "iomem", Node: v.file(0o444, v.iomem, nil)},
		kernfs.Entry{Name: "irq", Node: v.irqDir()},
		kernfs.Entry{Name: "loadavg", Node: v.file(0o444, v.loadavg, nil)},
		kernfs.Entry{Name: "meminfo", Node: v.file(0o444, v.meminfo, nil)},
		kernfs.Entry{Name: "pagetypeinfo", Node: v.file(0o400, v.pagetypeinfo, nil)},
		kernfs.Entry{Name: "self", Node: kernfs.NewLink(v.selfLink)},
		kernfs.Entry{Name: "slabinfo", Node: v.file(0o400, v.slabinfo, nil)},
		kernfs.Entry{Name: "softirqs", Node: v.file(0o444, v.softirqs, nil)},
		kernfs.Entry{Name: "stat", Node: v.file(0o444, v.stat, nil)},
		kernfs.Entry{Name: "swaps", Node: v.file(0o444, v.swaps, nil)},
		kernfs.Entry{Name: "sys", Node: v.sysDir()},
		kernfs.Entry{Name: "thread-self", Node: kernfs.NewLink(v.threadSelfLink)},
		kernfs.Entry{Name: "tty", Node: kernfs.NewStaticDir(0o555,
			kernfs.Entry{Name: "drivers", Node: v.file(0o444, ttyDrivers, nil)})},
		kernfs.Entry{Name: "uptime", Node: v.file(0o444, v.uptime, nil)},
		kernfs.Entry{Name: "version", Node: v.file(0o444, v.version, nil)},
		kernfs.Entry{Name: "vmstat", Node: v.file(0o444, v.vmstat, nil)},
		kernfs.Entry{Name: "zoneinfo", Node: v.file(0o444, v.zoneinfo, nil)},
	)
	return &rootDir{StaticDir: static, v: v}
}

// putUint appends a decimal number, as seq_put_decimal_ull does.
func putUint(b *bytes.Buffer, prefix string, n uint64) {
	b.WriteString(prefix)
	b.WriteString(strconv.FormatUint(n, 10))
}

// putInt appends a signed decimal number, as seq_put_decimal_ll does.
func putInt(b *bytes.Buffer, prefix string, n int64) {
	b.WriteString(prefix)
	b.WriteString(strconv.FormatInt(n, 10))
}

// Package sysfs is the simulated /sys: CPU and NUMA node attributes that
// tools count CPUs with, and ksim's own controls under kernel/ksim. Each
// attribute is a value and a newline, as sysfs show functions print them.
package sysfs

import (
	"bytes"
	"io/fs"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/parse"
	"ksim/kernfs"
)

// dirPerm is what sysfs directories show: drwxr-xr-x.
const dirPerm = 0o755

type view struct {
	k      *kernelsim.Kernel
	outbox *kernfs.Outbox // where tables whose entries come and go say so
}

// attr is a sysfs attribute: show prints the value (without the newline),
// store, if not nil, parses a write and changes the machine. Show runs in
// a Read of the kernel, store in a Write: m, and whatever is reached from
// it, is theirs only for the call, and they must not call the kernel
// again (its lock is not reentrant).
func (v *view) attr(perm fs.FileMode, show func(m *kernelsim.Machine) string, store func(m *kernelsim.Machine, s string) error) *kernfs.GenFile {
	var render kernfs.Render
	if show != nil {
		render = func(*kernfs.Caller) ([]byte, error) {
			return []byte(kernelsim.Get(v.k, show) + "\n"), nil
		}
	}
	var st kernfs.Store
	if store != nil {
		st = func(c *kernfs.Caller, data []byte, _ int64) error {
			return v.k.Write(c.Context(), func(m *kernelsim.Machine) error { return store(m, string(data)) })
		}
	}
	return kernfs.NewFile(perm, render, st).RefuseUnsupportedOpen()
}

// raw is an attribute whose show prints the whole content itself, in a
// Read of the kernel.
func (v *view) raw(perm fs.FileMode, show func(m *kernelsim.Machine, b *bytes.Buffer)) *kernfs.GenFile {
	return kernfs.NewFile(perm, func(*kernfs.Caller) ([]byte, error) {
		var b bytes.Buffer
		v.k.Read(func(m *kernelsim.Machine) { show(m, &b) })
		return b.Bytes(), nil
	}, nil).RefuseUnsupportedOpen()
}

// value is a read-only attribute whose value is known when the tree is
// built: a constant, or what never changes after boot (a CPU's cache
// sizes, a device's ids). It needs no lock.
func (v *view) value(s string) *kernfs.GenFile { return v.fixed(0o444, s, nil) }

// fixed is an attribute with a value known when the tree is built and a
// store, if not nil, that only checks what is written and changes nothing
// in the model (accepting a no-op, refusing the rest), so neither needs
// the lock.
func (v *view) fixed(perm fs.FileMode, s string, store func(s string) error) *kernfs.GenFile {
	var st kernfs.Store
	if store != nil {
		st = func(_ *kernfs.Caller, data []byte, _ int64) error { return store(string(data)) }
	}
	return kernfs.NewFile(perm, func(*kernfs.Caller) ([]byte, error) { return []byte(s + "\n"), nil }, st).RefuseUnsupportedOpen()
}

func dir(entries ...kernfs.Entry) *kernfs.StaticDir { return kernfs.NewStaticDir(dirPerm, entries...) }

func entry(name string, n kernfs.Node) kernfs.Entry { return kernfs.Entry{Name: name, Node: n} }

// New builds /sys for a kernel.
func New(k *kernelsim.Kernel, outbox *kernfs.Outbox) kernfs.Dir {
	v := &view{k: k, outbox: outbox}
	return dir(
		entry("bus", dir(entry("pci", dir(entry("devices", v.pciBusDevices()))))),
		entry("devices", dir(
			entry("pci0000:00", v.pciRoot()),
			entry("system", dir(
				entry("cpu", v.cpuDir()),
				entry("memory", v.memoryDir()),
				entry("node", v.nodeDir()),
			)),
		)),
		entry("kernel", dir(
			entry("mm", v.kernelMMDir()),
			entry("ksim", dir(
				entry("clock", v.clockDir()),
				entry("net", v.netDir()),
				entry("tasks", v.tasksDir()),
			)),
		)),
	)
}

// clockDir is /sys/kernel/ksim/clock: the simulated clock's controls.
func (v *view) clockDir() kernfs.Dir {
	k := v.k
	return dir(
		// advance_ms is written outside Write: Advance takes its turn and the
		// lock itself, a slice at a time, so reads go on while time runs.
		entry("advance_ms", kernfs.NewFile(0o200, nil, func(c *kernfs.Caller, data []byte, _ int64) error {
			ms, err := parse.Uint(string(data), 10)
			if err != nil {
				return err
			}
			return k.Advance(c.Context(), ms)
		}).RefuseUnsupportedOpen()),
		entry("jiffies", v.attr(0o444, func(m *kernelsim.Machine) string { return strconv.FormatUint(m.Clock.Jiffies(), 10) }, nil)),
		entry("mode", v.attr(0o644, func(m *kernelsim.Machine) string { return m.Mode().String() }, func(m *kernelsim.Machine, s string) error {
			mode, err := clock.ParseMode(strings.TrimSuffix(s, "\n"))
			if err != nil {
				return errno.Errorf(syscall.EINVAL, "%w", err)
			}
			return m.SetMode(mode)
		})),
		entry("speed", v.attr(0o644, func(m *kernelsim.Machine) string { return strconv.FormatFloat(m.Speed(), 'g', -1, 64) }, func(m *kernelsim.Machine, s string) error {
			f, err := strconv.ParseFloat(strings.TrimSuffix(s, "\n"), 64)
			if err != nil {
				return errno.Errorf(syscall.EINVAL, "speed %q is not a number", s)
			}
			return m.SetSpeed(f)
		})),
		entry("uptime_ns", v.attr(0o444, func(m *kernelsim.Machine) string { return strconv.FormatUint(m.Clock.Now(), 10) }, nil)),
	)
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

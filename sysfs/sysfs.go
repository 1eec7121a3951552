// Package sysfs is the simulated /sys: CPU and NUMA node attributes that
// tools count CPUs with, and ksim's own controls under kernel/ksim. Each
// attribute is a value and a newline, as sysfs show functions print them.
package sysfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernfs"
)

// dirPerm is what sysfs directories show: drwxr-xr-x.
const dirPerm = 0o755

type view struct{ k *kernelsim.Kernel }

// attr is a sysfs attribute: show prints the value (without the newline),
// store, if not nil, parses a write. Both run with the kernel locked.
func (v *view) attr(perm fs.FileMode, show func() string, store func(string) error) *kernfs.GenFile {
	var render kernfs.Render
	if show != nil {
		render = func(*kernfs.Caller) ([]byte, error) {
			var s string
			err := v.k.Do(func() error { s = show(); return nil })
			return []byte(s + "\n"), err
		}
	}
	var st kernfs.Store
	if store != nil {
		st = func(_ *kernfs.Caller, data []byte, _ int64) error {
			return v.k.Do(func() error { return store(string(data)) })
		}
	}
	return kernfs.NewFile(perm, render, st).RefuseUnsupportedOpen()
}

// raw is an attribute whose show prints the whole content itself.
func (v *view) raw(perm fs.FileMode, show func(b *bytes.Buffer)) *kernfs.GenFile {
	return kernfs.NewFile(perm, func(*kernfs.Caller) ([]byte, error) {
		var b bytes.Buffer
		err := v.k.Do(func() error { show(&b); return nil })
		return b.Bytes(), err
	}, nil).RefuseUnsupportedOpen()
}

func dir(entries ...kernfs.Entry) *kernfs.StaticDir { return kernfs.NewStaticDir(dirPerm, entries...) }

func entry(name string, n kernfs.Node) kernfs.Entry { return kernfs.Entry{Name: name, Node: n} }

// New builds /sys for a kernel.
func New(k *kernelsim.Kernel) kernfs.Dir {
	v := &view{k: k}
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
		// advance_ms is written outside the kernel lock: Advance takes it itself.
		entry("advance_ms", kernfs.NewFile(0o200, nil, func(_ *kernfs.Caller, data []byte, _ int64) error {
			ms, err := parseUint(string(data))
			if err != nil {
				return err
			}
			return errnoFromKernel(k.Advance(ms))
		}).RefuseUnsupportedOpen()),
		entry("jiffies", v.attr(0o444, func() string { return strconv.FormatUint(k.Clock.Jiffies(), 10) }, nil)),
		entry("mode", v.attr(0o644, func() string { return k.Mode().String() }, func(s string) error {
			m, err := clock.ParseMode(strings.TrimSuffix(s, "\n"))
			if err != nil {
				return fmt.Errorf("%w: %w", err, syscall.EINVAL)
			}
			return errnoFromKernel(k.SetMode(m))
		})),
		entry("speed", v.attr(0o644, func() string { return strconv.FormatFloat(k.Speed(), 'g', -1, 64) }, func(s string) error {
			f, err := strconv.ParseFloat(strings.TrimSuffix(s, "\n"), 64)
			if err != nil {
				return fmt.Errorf("speed %q: %w", s, syscall.EINVAL)
			}
			return errnoFromKernel(k.SetSpeed(f))
		})),
		entry("uptime_ns", v.attr(0o444, func() string { return strconv.FormatUint(k.Clock.Now(), 10) }, nil)),
	)
}

// errnoFromKernel gives the kernel model's invalid-argument errors the EINVAL a write returns.
func errnoFromKernel(err error) error {
	if errors.Is(err, kernelsim.ErrInvalid) {
		return fmt.Errorf("%w: %w", err, syscall.EINVAL)
	}
	return err
}

// parseUint reads an unsigned decimal as kstrtoull(s, 10) does: an
// optional '+', digits, and at most one trailing newline. Overflow is ERANGE.
func parseUint(s string) (uint64, error) {
	t := strings.TrimPrefix(strings.TrimSuffix(s, "\n"), "+")
	if t == "" || strings.IndexFunc(t, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, fmt.Errorf("%q is not a number: %w", s, syscall.EINVAL)
	}
	n, err := strconv.ParseUint(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", s, syscall.ERANGE)
	}
	return n, nil
}

// parseBool reads a boolean as kstrtobool does: 1/y/Y/on for true, 0/n/N/off for false.
func parseBool(s string) (bool, error) {
	t := strings.TrimSuffix(s, "\n")
	switch {
	case t == "1" || strings.HasPrefix(t, "y") || strings.HasPrefix(t, "Y") || strings.EqualFold(t, "on"):
		return true, nil
	case t == "0" || strings.HasPrefix(t, "n") || strings.HasPrefix(t, "N") || strings.EqualFold(t, "off"):
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean: %w", s, syscall.EINVAL)
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

package procfs

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
)

// newUTSLen is __NEW_UTS_LEN: the longest host name.
const newUTSLen = 64

// sysDir is /proc/sys: one table per directory, as kernel/sysctl.c registers them.
func (v *view) sysDir() kernfs.Dir {
	kernel := kernfs.NewStaticDir(0o555,
		kernfs.Entry{Name: "hostname", Node: v.stringSysctl(0o644,
			func(m *kernelsim.Machine) string { return m.UTS.Nodename },
			func(m *kernelsim.Machine, s string) error { m.UTS.Nodename = s; return nil })},
		kernfs.Entry{Name: "ns_last_pid", Node: v.sysctl(0o666, v.nsLastPid, v.setNsLastPid)},
		kernfs.Entry{Name: "osrelease", Node: v.stringSysctl(0o444, func(m *kernelsim.Machine) string { return m.UTS.Release }, nil)},
		kernfs.Entry{Name: "ostype", Node: v.stringSysctl(0o444, func(m *kernelsim.Machine) string { return m.UTS.Sysname }, nil)},
		kernfs.Entry{Name: "pid_max", Node: v.intSysctl(0o644,
			func(m *kernelsim.Machine) int { return m.Sched.PidMax() },
			func(m *kernelsim.Machine, n int) error { return m.Sched.SetPidMax(n) })},
		kernfs.Entry{Name: "printk", Node: v.sysctl(0o644, v.printkLevels, v.setPrintkLevels)},
		// kernel/sched/rt.c sched_rr_handler: any int; 0 or less restores RR_TIMESLICE.
		kernfs.Entry{Name: "sched_rr_timeslice_ms", Node: v.intSysctl(0o644,
			func(m *kernelsim.Machine) int { return m.Sched.RRTimesliceMs() },
			func(m *kernelsim.Machine, n int) error { m.Sched.SetRRTimesliceMs(n); return nil })},
	)
	return kernfs.NewStaticDir(0o555,
		kernfs.Entry{Name: "kernel", Node: kernel},
		kernfs.Entry{Name: "vm", Node: v.vmDir()},
	)
}

// stringSysctl is a proc_dostring file: the value and a newline; a write
// stores up to the first newline, cut to the maximum length. get and set
// run under the lock with the machine they are handed.
func (v *view) stringSysctl(perm fs.FileMode, get func(m *kernelsim.Machine) string, set func(m *kernelsim.Machine, s string) error) *kernfs.GenFile {
	var st store
	if set != nil {
		st = func(m *kernelsim.Machine, _ *kernfs.Caller, s string) error {
			if i := strings.IndexAny(s, "\n\x00"); i >= 0 {
				s = s[:i]
			}
			if len(s) > newUTSLen {
				s = s[:newUTSLen]
			}
			return set(m, s)
		}
	}
	return v.sysctl(perm, func(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
		b.WriteString(get(m))
		b.WriteByte('\n')
	}, st)
}

// intSysctl is a proc_dointvec_minmax file holding one int; set rejects
// values out of range with an error wrapping sched.ErrRange or EINVAL.
// get and set run under the lock with the machine they are handed.
func (v *view) intSysctl(perm fs.FileMode, get func(m *kernelsim.Machine) int, set func(m *kernelsim.Machine, n int) error) *kernfs.GenFile {
	return v.sysctl(perm, func(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
		putInt(b, "", int64(get(m)))
		b.WriteByte('\n')
	}, func(m *kernelsim.Machine, _ *kernfs.Caller, s string) error {
		vals, err := parseIntVec(s, 1)
		if err != nil {
			return err
		}
		return rangeErr(set(m, int(vals[0])))
	})
}

// rangeErr turns the kernel model's out-of-range errors into the EINVAL
// proc_dointvec_minmax returns.
func rangeErr(err error) error {
	if errors.Is(err, sched.ErrRange) || errors.Is(err, mm.ErrRange) {
		return errors.Join(err, syscall.EINVAL)
	}
	return err
}

func (v *view) nsLastPid(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	putInt(b, "", int64(m.Sched.LastPid()))
	b.WriteByte('\n')
}

// setNsLastPid is kernel/pid_namespace.c pid_ns_ctl_handler: the file is
// 0666 but only a caller with CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE)
// may write it; the value must lie in 0..pid_max.
func (v *view) setNsLastPid(m *kernelsim.Machine, c *kernfs.Caller, s string) error {
	if !c.IsRoot() {
		return syscall.EPERM
	}
	vals, err := parseIntVec(s, 1)
	if err != nil {
		return err
	}
	return rangeErr(m.Sched.SetLastPid(int(vals[0])))
}

// printkLevels prints kernel.printk: four ints separated by tabs.
func (v *view) printkLevels(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	l := m.Log.Levels()
	for i, n := range []int{l.Console, l.DefaultMessage, l.MinimumConsole, l.DefaultConsole} {
		if i > 0 {
			b.WriteByte('\t')
		}
		putInt(b, "", int64(n))
	}
	b.WriteByte('\n')
}

// setPrintkLevels is proc_dointvec on the four ints: a write sets as many
// as it gives, from the first, and leaves the rest.
func (v *view) setPrintkLevels(m *kernelsim.Machine, _ *kernfs.Caller, s string) error {
	vals, err := parseIntVec(s, 4)
	if err != nil {
		return err
	}
	l := m.Log.Levels()
	fields := []*int{&l.Console, &l.DefaultMessage, &l.MinimumConsole, &l.DefaultConsole}
	for i, n := range vals {
		*fields[i] = int(n)
	}
	m.Log.SetLevels(l)
	return nil
}

// parseIntVec parses a write to an int sysctl as kernel/sysctl.c
// __do_proc_dointvec does: up to max integers separated by white space,
// each an optional '-' then digits in C notation (0x hex, leading-0
// octal), each fitting an int. No integer at all is EINVAL.
func parseIntVec(s string, max int) ([]int64, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
	if len(fields) == 0 {
		return nil, einval("no integer in %q", s)
	}
	if len(fields) > max {
		fields = fields[:max] // the kernel stops after max values and takes no more
	}
	out := make([]int64, 0, len(fields))
	for _, f := range fields {
		neg := strings.HasPrefix(f, "-")
		digits := strings.TrimPrefix(f, "-")
		if digits == "" || digits[0] < '0' || digits[0] > '9' {
			return nil, einval("%q is not an integer", f)
		}
		n, err := parseCUint(digits)
		if err != nil {
			return nil, einval("%q is not an integer", f)
		}
		if (!neg && n > math.MaxInt32) || (neg && n > -math.MinInt32) {
			return nil, einval("%q does not fit an int", f)
		}
		val := int64(n)
		if neg {
			val = -val
		}
		out = append(out, val)
	}
	return out, nil
}

// parseCUint reads an unsigned number as the kernel's strtoul with base 0:
// 0x or 0X for hex, a leading 0 for octal, decimal otherwise.
func parseCUint(s string) (uint64, error) {
	base := 10
	switch {
	case len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) > 1 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" || s[0] == '+' || s[0] == '-' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, base, 64)
}

// Package sysctl is the kernel's table of tunables, as /proc/sys shows
// them. Each subsystem registers the rows it owns, as register_sysctl
// does with ctl_table: name, mode, type, range (extra1 and extra2) and the
// variable it reads and writes, with a handler of its own where writing
// does more than store a number (proc_handler). One standard handler per
// type renders, parses and range-checks every row, with Linux's formats
// and errnos (kernel/sysctl.c proc_dointvec_minmax, proc_douintvec_minmax,
// proc_doulongvec_minmax, proc_dostring and the jiffies conversions).
//
// A table lives in the machine, and is read and written only under the
// kernel's lock; its rows point into the subsystems that own them.
package sysctl

import (
	"bytes"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim/errno"
	"ksim/kernelsim/parse"
)

// Integer is what an integer row may hold in its owner.
type Integer interface {
	~int | ~int32 | ~int64 | ~uint | ~uint32 | ~uint64
}

type kind int

const (
	kindInt    kind = iota // proc_dointvec: ints, shown separated by tabs
	kindUint               // proc_douintvec: one unsigned int
	kindUlong              // proc_doulongvec_minmax: unsigned longs
	kindString             // proc_dostring
)

// Row is one sysctl: a file under /proc/sys.
type Row struct {
	// Name is the path under /proc/sys with dots, as sysctl(8) names it:
	// "vm.swappiness".
	Name string
	Mode fs.FileMode

	kind     kind
	n        int                            // values in the vector
	load     func(i int) parse.Long         // value i, in the owner's units
	store    func(i int, v parse.Long) bool // false: v does not fit the variable
	min, max *parse.Long                    // extra1, extra2: nil for no bound
	conv     Conv                           // how the file shows an int row's value
	str      *string                        // a string row's variable
	maxLen   int                            // a string row's maxlen, its NUL included
	handler  func(op Op, standard func() error) error
}

// Op is a read or a write of a row, and who makes it.
type Op struct {
	Write bool
	// Privileged is CAP_SYS_ADMIN; root has it.
	Privileged bool
	// Comm and Pid name the writer, as current->comm and task_pid_nr(current).
	Comm string
	Pid  int
}

// Int is a proc_dointvec row over one or more variables: the values are
// shown separated by tabs; a write sets as many as it gives, each
// within an int.
func Int[T Integer](name string, mode fs.FileMode, vars ...*T) Row {
	return Row{Name: name, Mode: mode, kind: kindInt, n: len(vars),
		load:  func(i int) parse.Long { return toLong(*vars[i]) },
		store: func(i int, v parse.Long) bool { return fromLong(v, vars[i]) }}
}

// Uint is a proc_douintvec row over one unsigned int.
func Uint[T Integer](name string, mode fs.FileMode, v *T) Row {
	r := Int(name, mode, v)
	r.kind = kindUint
	return r
}

// Ulong is a proc_doulongvec_minmax row over one or more unsigned longs.
func Ulong[T Integer](name string, mode fs.FileMode, vars ...*T) Row {
	r := Int(name, mode, vars...)
	r.kind = kindUlong
	return r
}

// String is a proc_dostring row: maxLen counts the NUL, as ctl_table's
// maxlen does, so the longest value is maxLen-1 bytes.
func String(name string, mode fs.FileMode, v *string, maxLen int) Row {
	return Row{Name: name, Mode: mode, kind: kindString, n: 1, str: v, maxLen: maxLen}
}

// Range bounds an int or unsigned int row's values (extra1 and extra2):
// proc_dointvec_minmax, proc_douintvec_minmax.
func (r Row) Range(min, max int64) Row {
	lo, hi := toLong(min), toLong(max)
	r.min, r.max = &lo, &hi
	return r
}

// Min bounds the values from below only (extra1 alone).
func (r Row) Min(min int64) Row {
	lo := toLong(min)
	r.min = &lo
	return r
}

// ULongRange bounds an unsigned long row's values.
func (r Row) ULongRange(min, max uint64) Row {
	lo, hi := parse.Long{Abs: min}, parse.Long{Abs: max}
	r.min, r.max = &lo, &hi
	return r
}

// Conv shows an int row's value in other units than it holds.
func (r Row) Conv(c Conv) Row {
	r.conv = c
	return r
}

// Handle gives the row a handler of its own, as a ctl_table's
// proc_handler that wraps a standard one: it is told what the operation
// is, may prepare the variable before running the standard handler (or
// the handler the row had) and act on it after, or refuse.
func (r Row) Handle(h func(op Op, standard func() error) error) Row {
	inner := r.handler
	r.handler = func(op Op, standard func() error) error {
		if inner == nil {
			return h(op, standard)
		}
		return h(op, func() error { return inner(op, standard) })
	}
	return r
}

// OnWrite runs fn after each write the row takes, as the many handlers
// that recompute something after proc_dointvec_minmax do.
func (r Row) OnWrite(fn func()) Row {
	return r.Handle(func(op Op, standard func() error) error {
		if err := standard(); err != nil || !op.Write {
			return err
		}
		fn()
		return nil
	})
}

// IntFunc is an int row over a value its owner computes and applies, as
// handlers over a temporary do (pid_ns_ctl_handler, sched_rr_handler):
// get gives the value to show, set takes a write that passed the row's
// checks and may still refuse it, with an errno, changing nothing.
func IntFunc(name string, mode fs.FileMode, get func() int64, set func(int64) error) Row {
	var tmp int64
	return Int(name, mode, &tmp).Handle(func(op Op, standard func() error) error {
		tmp = get()
		if err := standard(); err != nil || !op.Write {
			return err
		}
		return set(tmp)
	})
}

// UlongFunc is IntFunc for an unsigned long (hugetlb_sysctl_handler).
func UlongFunc(name string, mode fs.FileMode, get func() uint64, set func(uint64) error) Row {
	var tmp uint64
	return Ulong(name, mode, &tmp).Handle(func(op Op, standard func() error) error {
		tmp = get()
		if err := standard(); err != nil || !op.Write {
			return err
		}
		return set(tmp)
	})
}

// Conv is a jiffies conversion of an int row (proc_dointvec_jiffies and
// kin): the variable holds jiffies, the file shows another unit.
type Conv struct {
	unit convUnit
	hz   int64
}

type convUnit int

const (
	noConv      convUnit = iota
	seconds              // proc_dointvec_jiffies
	millis               // proc_dointvec_ms_jiffies
	userHZTicks          // proc_dointvec_userhz_jiffies
)

// UserHZ is USER_HZ: the unit of clock_t.
const UserHZ = 100

// Seconds shows jiffies as seconds (proc_dointvec_jiffies).
func Seconds(hz int) Conv { return Conv{seconds, int64(hz)} }

// Millis shows jiffies as milliseconds (proc_dointvec_ms_jiffies).
func Millis(hz int) Conv { return Conv{millis, int64(hz)} }

// UserHZTicks shows jiffies as clock_t ticks (proc_dointvec_userhz_jiffies).
func UserHZTicks(hz int) Conv { return Conv{userHZTicks, int64(hz)} }

// show converts a held value to what the file shows.
func (c Conv) show(v int64) int64 {
	switch c.unit {
	case seconds:
		return v / c.hz
	case millis: // jiffies_to_msecs
		if 1000%c.hz == 0 {
			return v * (1000 / c.hz)
		}
		return v * 1000 / c.hz
	case userHZTicks: // jiffies_to_clock_t, through TICK_NSEC
		tickNs := (1_000_000_000 + c.hz/2) / c.hz
		if tickNs%(1_000_000_000/UserHZ) == 0 {
			return v / (c.hz / UserHZ)
		}
		return v * tickNs / (1_000_000_000 / UserHZ)
	}
	return v
}

// hold converts a written value to what the variable holds; false if it
// does not fit an int, as the conversions refuse.
func (c Conv) hold(v int64) (int64, bool) {
	abs := v
	if abs < 0 {
		abs = -abs
	}
	var out int64
	switch c.unit {
	case seconds: // do_proc_dointvec_jiffies_conv
		if abs > math.MaxInt32/c.hz {
			return 0, false
		}
		out = v * c.hz
	case millis: // msecs_to_jiffies rounds up; a negative time is never
		if v < 0 {
			return 0, false
		}
		out = (v*c.hz + 999) / 1000
	case userHZTicks: // clock_t_to_jiffies
		out = v * c.hz / UserHZ
	default:
		out = v
	}
	return out, out >= math.MinInt32 && out <= math.MaxInt32
}

// read renders the row as its standard handler does.
func (r *Row) read(b *bytes.Buffer) {
	if r.kind == kindString {
		b.WriteString(*r.str)
		b.WriteByte('\n')
		return
	}
	for i := range r.n {
		if i > 0 {
			b.WriteByte('\t')
		}
		v := r.load(i)
		if r.conv.unit != noConv {
			v = toLong(r.conv.show(longToInt64(v)))
		}
		if v.Neg {
			b.WriteByte('-')
		}
		b.WriteString(strconv.FormatUint(v.Abs, 10))
	}
	b.WriteByte('\n')
}

// write parses and stores a write as the row's standard handler does. It
// checks every value before it stores any, so a refused write changes
// nothing.
func (r *Row) write(s string) error {
	if r.kind == kindString {
		// _proc_do_string: up to the first newline or NUL, at most maxlen-1 bytes.
		if i := strings.IndexAny(s, "\n\x00"); i >= 0 {
			s = s[:i]
		}
		if len(s) > r.maxLen-1 {
			s = s[:r.maxLen-1]
		}
		*r.str = s
		return nil
	}
	vals, err := parse.Longs(s, r.n)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	for i, v := range vals {
		if vals[i], err = r.check(v); err != nil {
			return err
		}
	}
	for i, v := range vals {
		if !r.store(i, v) {
			return errno.Errorf(syscall.EINVAL, "%s: %s does not fit", r.Name, format(v))
		}
	}
	return nil
}

// check is the type's conversion and range check of one written value
// (do_proc_dointvec_minmax_conv and kin), returning what to store.
func (r *Row) check(v parse.Long) (parse.Long, error) {
	outOfRange := syscall.EINVAL
	switch r.kind {
	case kindInt:
		if !v.Neg && v.Abs > math.MaxInt32 || v.Neg && v.Abs > -math.MinInt32 {
			return v, errno.Errorf(syscall.EINVAL, "%s: %s does not fit an int", r.Name, format(v))
		}
		if r.conv.unit != noConv {
			held, ok := r.conv.hold(longToInt64(v))
			if !ok {
				return v, errno.Errorf(syscall.EINVAL, "%s: %s does not fit an int", r.Name, format(v))
			}
			v = toLong(held)
		}
	case kindUint:
		if v.Neg || v.Abs > math.MaxUint32 {
			return v, errno.Errorf(syscall.EINVAL, "%s: %s is not an unsigned int", r.Name, format(v))
		}
		outOfRange = syscall.ERANGE // do_proc_douintvec_minmax_conv
	case kindUlong:
		if v.Neg {
			return v, errno.Errorf(syscall.EINVAL, "%s: %s is negative", r.Name, format(v))
		}
	}
	if r.min != nil && less(v, *r.min) || r.max != nil && less(*r.max, v) {
		return v, errno.Errorf(outOfRange, "%s: %s: want %s", r.Name, format(v), r.bounds())
	}
	return v, nil
}

func (r *Row) bounds() string {
	switch {
	case r.min != nil && r.max != nil:
		return format(*r.min) + ".." + format(*r.max)
	case r.min != nil:
		return format(*r.min) + " or more"
	}
	return format(*r.max) + " or less"
}

// Table is a machine's registered rows.
type Table struct {
	rows   []Row
	byName map[string]int
}

// NewTable registers rows; two with one name are a bug in their owners.
func NewTable(rows ...Row) (*Table, error) {
	t := &Table{byName: map[string]int{}}
	for _, r := range rows {
		if _, dup := t.byName[r.Name]; dup {
			return nil, fmt.Errorf("sysctl %s registered twice", r.Name)
		}
		if r.n == 0 {
			return nil, fmt.Errorf("sysctl %s has no variable", r.Name)
		}
		t.byName[r.Name] = len(t.rows)
		t.rows = append(t.rows, r)
	}
	return t, nil
}

// Entry is what the file tree needs of a row: its name and mode.
type Entry struct {
	Name string
	Mode fs.FileMode
}

// Entries lists the rows by name.
func (t *Table) Entries() []Entry {
	out := make([]Entry, 0, len(t.rows))
	for _, r := range t.rows {
		out = append(out, Entry{r.Name, r.Mode})
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Read renders a row.
func (t *Table) Read(name string) ([]byte, error) {
	r, err := t.row(name)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = r.run(Op{}, func() error { r.read(&b); return nil })
	return b.Bytes(), err
}

// Write takes a write of s to a row by op's writer.
func (t *Table) Write(name string, op Op, s string) error {
	r, err := t.row(name)
	if err != nil {
		return err
	}
	op.Write = true
	return r.run(op, func() error { return r.write(s) })
}

func (t *Table) row(name string) (*Row, error) {
	i, ok := t.byName[name]
	if !ok {
		return nil, errno.Errorf(syscall.ENOENT, "no sysctl %s", name)
	}
	return &t.rows[i], nil
}

func (r *Row) run(op Op, standard func() error) error {
	if r.handler == nil {
		return standard()
	}
	return r.handler(op, standard)
}

// toLong and fromLong convert between a variable's type and a Long.
func toLong[T Integer](v T) parse.Long {
	if v < 0 {
		return parse.Long{Abs: uint64(-int64(v)), Neg: true}
	}
	return parse.Long{Abs: uint64(v)}
}

func fromLong[T Integer](v parse.Long, p *T) bool {
	var zero T
	unsigned := zero-1 > 0
	var t T
	if v.Neg {
		if unsigned && v.Abs != 0 || v.Abs > 1<<63 {
			return false
		}
		n := -int64(v.Abs)
		if t = T(n); int64(t) != n {
			return false
		}
	} else {
		if t = T(v.Abs); uint64(t) != v.Abs || t < 0 {
			return false
		}
	}
	*p = t
	return true
}

func longToInt64(v parse.Long) int64 {
	if v.Neg {
		return -int64(v.Abs)
	}
	return int64(v.Abs)
}

// less orders Longs by value.
func less(a, b parse.Long) bool {
	switch {
	case a.Neg && !b.Neg:
		return a.Abs != 0 || b.Abs != 0
	case !a.Neg && b.Neg:
		return false
	case a.Neg:
		return a.Abs > b.Abs
	}
	return a.Abs < b.Abs
}

func format(v parse.Long) string {
	if v.Neg {
		return "-" + strconv.FormatUint(v.Abs, 10)
	}
	return strconv.FormatUint(v.Abs, 10)
}

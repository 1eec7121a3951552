package sysctl

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/errno"
)

func errnoOf(t *testing.T, err error) syscall.Errno {
	t.Helper()
	if err == nil {
		return 0
	}
	e, ok := errno.Of(err)
	require.True(t, ok, "%v carries no errno", err)
	return e
}

func table(t *testing.T, rows ...Row) *Table {
	t.Helper()
	tab, err := NewTable(rows...)
	require.NoError(t, err)
	return tab
}

func read(t *testing.T, tab *Table, name string) string {
	t.Helper()
	b, err := tab.Read(name)
	require.NoError(t, err)
	return string(b)
}

// proc_dointvec_minmax: ints in range, EINVAL outside, nothing changed on error.
func TestIntMinMax(t *testing.T) {
	swappiness := 60
	var minFree uint64 = 1024
	tab := table(t,
		Int("vm.swappiness", 0o644, &swappiness).Range(0, 200),
		Int("vm.min_free_kbytes", 0o644, &minFree).Min(0),
	)
	require.Equal(t, "60\n", read(t, tab, "vm.swappiness"))
	for in, want := range map[string]syscall.Errno{"100\n": 0, "0x10": 0, " 7 ": 0, "201": syscall.EINVAL, "-1": syscall.EINVAL,
		"abc": syscall.EINVAL, "": syscall.EINVAL, "2147483648": syscall.EINVAL, "1.5": syscall.EINVAL} {
		before := swappiness
		err := tab.Write("vm.swappiness", Op{}, in)
		require.Equal(t, want, errnoOf(t, err), "%q", in)
		if want != 0 {
			require.Equal(t, before, swappiness, "unchanged after %q", in)
		}
	}
	require.NoError(t, tab.Write("vm.min_free_kbytes", Op{}, "2147483647"))
	require.Equal(t, uint64(2147483647), minFree)
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("vm.min_free_kbytes", Op{}, "-5")))
}

// A vector shows its values separated by tabs; a write sets as many as it gives.
func TestIntVector(t *testing.T) {
	levels := [4]int{4, 4, 1, 7}
	tab := table(t, Int("kernel.printk", 0o644, &levels[0], &levels[1], &levels[2], &levels[3]))
	require.Equal(t, "4\t4\t1\t7\n", read(t, tab, "kernel.printk"))
	require.NoError(t, tab.Write("kernel.printk", Op{}, "8 3\n"))
	require.Equal(t, [4]int{8, 3, 1, 7}, levels)
	require.NoError(t, tab.Write("kernel.printk", Op{}, "1 2 3 4 5 6"))
	require.Equal(t, [4]int{1, 2, 3, 4}, levels, "what follows the fourth is not read")
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("kernel.printk", Op{}, "9 x")))
	require.Equal(t, [4]int{1, 2, 3, 4}, levels, "a refused write changes nothing")
}

// proc_douintvec_minmax: ERANGE out of range; proc_doulongvec_minmax: EINVAL.
func TestUintAndUlong(t *testing.T) {
	var u uint32 = 5
	var ul uint64 = 7
	tab := table(t,
		Uint("net.core.u", 0o644, &u).Range(1, 10),
		Ulong("vm.dirty_bytes", 0o644, &ul).ULongRange(8192, 1<<64-1),
	)
	require.Equal(t, syscall.ERANGE, errnoOf(t, tab.Write("net.core.u", Op{}, "11")))
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("net.core.u", Op{}, "-1")))
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("net.core.u", Op{}, "4294967296")))
	require.NoError(t, tab.Write("net.core.u", Op{}, "10"))
	require.Equal(t, uint32(10), u)
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("vm.dirty_bytes", Op{}, "100")))
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("vm.dirty_bytes", Op{}, "-0")))
	require.NoError(t, tab.Write("vm.dirty_bytes", Op{}, "18446744073709551615"))
	require.Equal(t, "18446744073709551615\n", read(t, tab, "vm.dirty_bytes"))
}

// proc_dostring: up to the newline, at most maxlen-1 bytes.
func TestString(t *testing.T) {
	name := "ksim"
	tab := table(t, String("kernel.hostname", 0o644, &name, 8))
	require.NoError(t, tab.Write("kernel.hostname", Op{}, "box\nrest"))
	require.Equal(t, "box\n", read(t, tab, "kernel.hostname"))
	require.NoError(t, tab.Write("kernel.hostname", Op{}, "abcdefghijk"))
	require.Equal(t, "abcdefg", name)
}

// The jiffies conversions, at HZ 250 and 300.
func TestJiffiesConversions(t *testing.T) {
	var j, ms, ticks int
	tab := table(t,
		Int("k.secs", 0o644, &j).Conv(Seconds(250)),
		Int("k.ms", 0o644, &ms).Conv(Millis(300)),
		Int("k.ticks", 0o644, &ticks).Conv(UserHZTicks(300)),
	)
	require.NoError(t, tab.Write("k.secs", Op{}, "3"))
	require.Equal(t, 750, j)
	require.Equal(t, "3\n", read(t, tab, "k.secs"))
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("k.secs", Op{}, "8589935")), "past INT_MAX/HZ")
	require.NoError(t, tab.Write("k.ms", Op{}, "10"))
	require.Equal(t, 3, ms, "msecs_to_jiffies rounds up")
	require.Equal(t, "10\n", read(t, tab, "k.ms"))
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("k.ms", Op{}, "-1")))
	ticks = 3
	require.Equal(t, "0\n", read(t, tab, "k.ticks"), "jiffies_to_clock_t goes through TICK_NSEC at HZ 300")
}

// A handler wraps the standard one: it may refuse, prepare and act.
func TestHandler(t *testing.T) {
	ratio, bytes := 20, uint64(4096)
	var last int
	tab := table(t,
		Int("vm.dirty_ratio", 0o644, &ratio).Range(0, 100).Handle(func(op Op, standard func() error) error {
			old := ratio
			if err := standard(); err != nil || !op.Write {
				return err
			}
			if ratio != old {
				bytes = 0
			}
			return nil
		}),
		Int("kernel.ns_last_pid", 0o666, &last).Handle(func(op Op, standard func() error) error {
			if op.Write && !op.Privileged {
				return errno.New(syscall.EPERM, "ns_last_pid: not privileged")
			}
			return standard()
		}),
	)
	require.NoError(t, tab.Write("vm.dirty_ratio", Op{}, "20"))
	require.Equal(t, uint64(4096), bytes, "the same ratio leaves dirty_bytes")
	require.NoError(t, tab.Write("vm.dirty_ratio", Op{}, "30"))
	require.Zero(t, bytes)
	require.Equal(t, syscall.EPERM, errnoOf(t, tab.Write("kernel.ns_last_pid", Op{}, "5")))
	require.NoError(t, tab.Write("kernel.ns_last_pid", Op{Privileged: true}, "5"))
	require.Equal(t, "5\n", read(t, tab, "kernel.ns_last_pid"))
}

func TestTableRefusesDuplicatesAndListsByName(t *testing.T) {
	a, b := 1, 2
	_, err := NewTable(Int("x.a", 0o644, &a), Int("x.a", 0o644, &b))
	require.Error(t, err)
	tab := table(t, Int("x.b", 0o644, &b), Int("x.a", 0o600, &a))
	require.Equal(t, []Entry{{"x.a", 0o600}, {"x.b", 0o644}}, tab.Entries())
	_, err = tab.Read("x.c")
	require.Equal(t, syscall.ENOENT, errnoOf(t, err))
}

func FuzzWritesNeverPanicAndCarryErrnos(f *testing.F) {
	for _, s := range []string{"1", "-1 2 3", "0x7fffffff", "\n", "9999999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var i int
		var u uint32
		var ul uint64
		var i8 int32
		name := ""
		tab, _ := NewTable(Int("a.i", 0o644, &i).Range(-5, 5), Uint("a.u", 0o644, &u), Ulong("a.ul", 0o644, &ul),
			Int("a.i8", 0o644, &i8).Conv(Millis(250)), String("a.s", 0o644, &name, 4))
		for _, e := range tab.Entries() {
			if err := tab.Write(e.Name, Op{}, s); err != nil {
				if _, ok := errno.Of(err); !ok {
					t.Fatalf("%s <- %q: %v carries no errno", e.Name, s, err)
				}
			}
		}
		if i < -5 || i > 5 {
			t.Fatalf("range not held: %d", i)
		}
	})
}

// A row over a value the owner computes: set may still refuse, changing nothing.
func TestFuncRowsAndComposedHandlers(t *testing.T) {
	last, max := 300, 4194304
	var calls []string
	tab := table(t, IntFunc("kernel.ns_last_pid", 0o666,
		func() int64 { return int64(last) },
		func(v int64) error {
			if v > int64(max) {
				return errno.Errorf(syscall.EINVAL, "ns_last_pid %d: want 0..%d", v, max)
			}
			last = int(v)
			return nil
		}).Min(0).Handle(func(op Op, standard func() error) error {
		calls = append(calls, "outer")
		if op.Write && !op.Privileged {
			return errno.New(syscall.EPERM, "not privileged")
		}
		return standard()
	}).OnWrite(func() { calls = append(calls, "after") }))
	require.Equal(t, "300\n", read(t, tab, "kernel.ns_last_pid"))
	require.Equal(t, syscall.EPERM, errnoOf(t, tab.Write("kernel.ns_last_pid", Op{}, "5")))
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("kernel.ns_last_pid", Op{Privileged: true}, "5000000")))
	require.Equal(t, syscall.EINVAL, errnoOf(t, tab.Write("kernel.ns_last_pid", Op{Privileged: true}, "-1")))
	require.Equal(t, 300, last)
	calls = nil
	require.NoError(t, tab.Write("kernel.ns_last_pid", Op{Privileged: true}, "5"))
	require.Equal(t, 5, last)
	require.Equal(t, []string{"outer", "after"}, calls)

	var pool uint64 = 3
	tab = table(t, UlongFunc("vm.nr_hugepages", 0o644, func() uint64 { return pool }, func(v uint64) error { pool = v / 2; return nil }))
	require.Equal(t, "3\n", read(t, tab, "vm.nr_hugepages"))
	require.NoError(t, tab.Write("vm.nr_hugepages", Op{}, "10"))
	require.Equal(t, "5\n", read(t, tab, "vm.nr_hugepages"))
}

package parse

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

// kstrtoull's rules: one '+', one trailing newline, nothing else.
func TestUintAsKstrtoull(t *testing.T) {
	for _, tc := range []struct {
		in   string
		base int
		want uint64
		err  syscall.Errno
	}{
		{"42", 10, 42, 0}, {"42\n", 10, 42, 0}, {"+42", 10, 42, 0}, {"0x1f", 0, 31, 0}, {"017", 0, 15, 0},
		{"0x1f", 16, 31, 0}, {"ff", 16, 255, 0}, {"0", 0, 0, 0}, {"18446744073709551615", 10, 1<<64 - 1, 0},
		{"18446744073709551616", 10, 0, syscall.ERANGE}, {"", 10, 0, syscall.EINVAL}, {"\n", 10, 0, syscall.EINVAL},
		{" 42", 10, 0, syscall.EINVAL}, {"42 ", 10, 0, syscall.EINVAL}, {"42\n\n", 10, 0, syscall.EINVAL},
		{"-1", 10, 0, syscall.EINVAL}, {"++1", 10, 0, syscall.EINVAL}, {"12a", 10, 0, syscall.EINVAL},
		{"08", 0, 0, syscall.EINVAL}, {"0x", 0, 0, syscall.EINVAL},
	} {
		v, err := Uint(tc.in, tc.base)
		require.Equal(t, tc.err, errnoOf(t, err), "%q", tc.in)
		require.Equal(t, tc.want, v, "%q", tc.in)
	}
}

func TestIntAsKstrtoll(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  syscall.Errno
	}{
		{"-5", -5, 0}, {"-0", 0, 0}, {"+7\n", 7, 0}, {"-9223372036854775808", -1 << 63, 0},
		{"9223372036854775807", 1<<63 - 1, 0}, {"9223372036854775808", 0, syscall.ERANGE},
		{"-9223372036854775809", 0, syscall.ERANGE}, {"--1", 0, syscall.EINVAL}, {"-", 0, syscall.EINVAL},
	} {
		v, err := Int(tc.in, 10)
		require.Equal(t, tc.err, errnoOf(t, err), "%q", tc.in)
		require.Equal(t, tc.want, v, "%q", tc.in)
	}
	_, err := Int32("2147483648", 10)
	require.Equal(t, syscall.ERANGE, errnoOf(t, err))
	n, err := Int32("-2147483648\n", 0)
	require.NoError(t, err)
	require.Equal(t, -1<<31, n)
	_, err = Uint32("4294967296", 10)
	require.Equal(t, syscall.ERANGE, errnoOf(t, err))
}

func TestBoolAsKstrtobool(t *testing.T) {
	for in, want := range map[string]bool{"1": true, "y": true, "Yes": true, "t": true, "E": true, "on": true, "ON\n": true,
		"0": false, "n": false, "No": false, "f": false, "d": false, "off": false, "OF": false} {
		v, err := Bool(in)
		require.NoError(t, err, in)
		require.Equal(t, want, v, in)
	}
	for _, in := range []string{"", "2", "o", "ok", "x", " 1"} {
		_, err := Bool(in)
		require.Equal(t, syscall.EINVAL, errnoOf(t, err), "%q", in)
	}
}

func TestSizeAsMemparse(t *testing.T) {
	for in, want := range map[string]uint64{"8G": 8 << 30, "512m": 512 << 20, "0x10K": 16 << 10, "1024": 1024, "1E": 1 << 60, "010": 8} {
		v, err := Size(in)
		require.NoError(t, err, in)
		require.Equal(t, want, v, in)
	}
	for in, want := range map[string]syscall.Errno{"": syscall.EINVAL, "G": syscall.EINVAL, "8X": syscall.EINVAL,
		"-1G": syscall.EINVAL, "8 G": syscall.EINVAL, "16E": syscall.ERANGE, "99999999999999999999": syscall.ERANGE} {
		_, err := Size(in)
		require.Equal(t, want, errnoOf(t, err), "%q", in)
	}
}

// proc_get_long's rules, through __do_proc_dointvec's loop.
func TestLongsAsProcGetLong(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want []Long
		err  syscall.Errno
	}{
		{"5\n", 1, []Long{{5, false}}, 0},
		{"  -3\t", 1, []Long{{3, true}}, 0},
		{"4 4 1 7", 4, []Long{{4, false}, {4, false}, {1, false}, {7, false}}, 0},
		{"1 2 3", 2, []Long{{1, false}, {2, false}}, 0}, // the rest is not read
		{"1 junk", 1, []Long{{1, false}}, 0},
		{"0x10 010", 2, []Long{{16, false}, {8, false}}, 0},
		{"", 1, nil, syscall.EINVAL}, {"\n", 1, nil, syscall.EINVAL}, {"abc", 1, nil, syscall.EINVAL},
		{"12abc", 1, nil, syscall.EINVAL}, {"+5", 1, nil, syscall.EINVAL}, {"-", 1, nil, syscall.EINVAL},
		{"1 x", 2, nil, syscall.EINVAL},
		{"99999999999999999999", 1, []Long{{99999999999999999999 % (1 << 64), false}}, syscall.EINVAL},
		{"123456789012345678901", 1, nil, syscall.EINVAL}, // 21 digits: too long to tell
		{"12345678901234567890", 1, []Long{{12345678901234567890, false}}, 0},
	} {
		got, err := Longs(tc.in, tc.max)
		require.Equal(t, tc.err, errnoOf(t, err), "%q", tc.in)
		if tc.err == 0 {
			require.Equal(t, tc.want, got, "%q", tc.in)
		}
	}
}

func FuzzParsersNeverPanicAndAlwaysCarryAnErrno(f *testing.F) {
	for _, s := range []string{"42", "-0x1f\n", "8G", "on", "1 2 3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, err := range []error{
			second(Uint(s, 0)), second(Int(s, 10)), second(Int32(s, 0)), second(Uint32(s, 16)),
			second(Bool(s)), second(Size(s)), second(Longs(s, 3)),
		} {
			if err != nil {
				if _, ok := errno.Of(err); !ok {
					t.Fatalf("%q: %v carries no errno", s, err)
				}
			}
		}
	})
}

func second[T any](_ T, err error) error { return err }

func TestMemparseIgnoresWhatFollows(t *testing.T) {
	for in, want := range map[string]uint64{"2048kB\n": 2 << 20, "2M": 2 << 20, "1G ": 1 << 30, "0x10": 16, "x": 0, "": 0, "4096": 4096} {
		require.Equal(t, want, Memparse(in), "%q", in)
	}
}

package cpu

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatMaskAsTheKernel(t *testing.T) {
	require.Equal(t, "f", FormatMask([]int{0, 1, 2, 3}, 4))
	require.Equal(t, "00,00000001", FormatMask([]int{0}, 40))
	require.Equal(t, "ffffffff,ffffffff", FormatMask(MaskAll(64).List(), 64))
	require.Equal(t, "0001", FormatMask([]int{0}, 16))
}

func TestFormatList(t *testing.T) {
	require.Equal(t, "0-3,6,8-9", FormatList([]int{0, 1, 2, 3, 6, 8, 9}))
	require.Equal(t, "", FormatList(nil))
}

func TestParseUserListRefuses(t *testing.T) {
	m, err := ParseUserList("0-1,3", 4)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 3}, m.List())
	for bad, want := range map[string]syscall.Errno{"4": syscall.ERANGE, "0-9": syscall.ERANGE,
		"2-1": syscall.EINVAL, "a": syscall.EINVAL, "-1": syscall.EINVAL} {
		_, err := ParseUserList(bad, 4)
		require.ErrorIs(t, err, want, bad)
	}
}

func TestParseMaskAsCpumaskParseUser(t *testing.T) {
	m, err := ParseMask("4\n", 4)
	require.NoError(t, err)
	require.Equal(t, []int{2}, m.List())
	m, err = ParseMask("1,00000003", 40)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 32}, m.List())
	_, err = ParseMask("xyz", 4)
	require.ErrorIs(t, err, ErrMaskSyntax)
	_, err = ParseMask("10", 4)
	require.ErrorIs(t, err, ErrMaskOverflow)
	m, err = ParseMask("0", 4)
	require.NoError(t, err)
	require.True(t, m.Empty())
}

func TestParseUserList(t *testing.T) {
	m, err := ParseUserList("0-1\n", 4)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1}, m.List())
	m, err = ParseUserList("0-7:2/4", 8)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 4, 5}, m.List())
	_, err = ParseUserList("5", 4)
	require.ErrorIs(t, err, ErrListRange)
	_, err = ParseUserList("a-b", 4)
	require.ErrorIs(t, err, ErrMaskSyntax)
}

// Whatever a user writes, the parsers either refuse it or return a mask
// that prints and parses back to itself; they never panic.
func FuzzParseAffinity(f *testing.F) {
	for _, s := range []string{"4", "0", "xyz", "ff,ffffffff", "0-3", "1-2,9", "0-7:2/4", "all", "", "\n", "-1", "3-1", "1,,2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		const n = 40
		if m, err := ParseMask(s, n); err == nil {
			again, err := ParseMask(FormatMask(m.List(), n), n)
			require.NoError(t, err)
			require.Equal(t, m.List(), again.List())
		}
		if m, err := ParseUserList(s, n); err == nil {
			for _, c := range m.List() {
				require.Less(t, c, n)
			}
			again, err := ParseUserList(FormatList(m.List()), n)
			require.NoError(t, err)
			require.Equal(t, m.List(), again.List())
		}
	})
}

package cpu

import (
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

func TestParseList(t *testing.T) {
	m, err := ParseList("0-1,3", 4)
	require.NoError(t, err)
	require.Equal(t, []int{0, 1, 3}, m.List())
	for _, bad := range []string{"", "4", "2-1", "a", "0-9", "-1"} {
		_, err := ParseList(bad, 4)
		require.Error(t, err, bad)
	}
}

package clock

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTicksAndTickTimesAgree(t *testing.T) {
	for _, hz := range []int{100, 250, 300, 1000} {
		c, err := New(hz, 0)
		require.NoError(t, err)
		for n := uint64(1); n < 5000; n++ {
			at := c.TickTime(n)
			require.NoError(t, c.Set(at))
			require.Equal(t, n, c.Ticks(), "hz %d: at tick %d's time", hz, n)
			if at > 0 {
				c2 := &Clock{hz: uint64(hz), nowNs: at - 1}
				require.Equal(t, n-1, c2.Ticks(), "hz %d: just before tick %d", hz, n)
			}
		}
	}
}

func TestTenSecondsAreExactlyTenSecondsOfTicks(t *testing.T) {
	c, err := New(300, 0)
	require.NoError(t, err)
	require.NoError(t, c.Set(1234567))
	before := c.Ticks()
	require.NoError(t, c.Set(c.Now()+10*NsecPerSec))
	require.Equal(t, uint64(3000), c.Ticks()-before)
}

func TestJiffiesStartFiveMinutesBeforeWrap(t *testing.T) {
	c, err := New(250, 0)
	require.NoError(t, err)
	// INITIAL_JIFFIES = (unsigned long)(unsigned int)(-300*HZ)
	require.Equal(t, uint64(1<<32-300*250), c.Jiffies())
	require.NoError(t, c.Set(NsecPerSec))
	require.Equal(t, uint64(1<<32-300*250+250), c.Jiffies())
}

func TestClockRefusesToGoBack(t *testing.T) {
	c, err := New(100, 0)
	require.NoError(t, err)
	require.NoError(t, c.Set(100))
	require.Error(t, c.Set(99))
	require.Equal(t, uint64(100), c.Now())
}

func TestHZRange(t *testing.T) {
	_, err := New(0, 0)
	require.Error(t, err)
}

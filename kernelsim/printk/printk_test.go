package printk

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/clock"
)

func TestRingDropsOldestAndReadersSeeEPIPE(t *testing.T) {
	clk, err := clock.New(100, 0)
	require.NoError(t, err)
	l := New(clk, 1024, nil)
	for i := range 100 {
		l.Printk(Info, "message %03d %s", i, strings.Repeat("x", 20))
	}
	require.Equal(t, uint64(100), l.NextSeq())
	first := l.FirstSeq()
	require.Greater(t, first, uint64(0), "old records were dropped")
	_, _, err = l.Read(0)
	require.ErrorIs(t, err, ErrOverwritten)
	r, ok, err := l.Read(first)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, first, r.Seq)
	_, ok, err = l.Read(100)
	require.NoError(t, err)
	require.False(t, ok, "end of log")
}

func TestConsoleGetsMessagesBelowConsoleLevel(t *testing.T) {
	clk, err := clock.New(100, 0)
	require.NoError(t, err)
	var got []string
	l := New(clk, DefaultBufLen, func(r Record) { got = append(got, r.Text) })
	l.Printk(Err, "disk on fire")
	l.Printk(Info, "all is well")
	require.Equal(t, []string{"disk on fire"}, got, "console_loglevel 4 shows levels 0..3")
	lv := l.Levels()
	lv.Console = 8
	l.SetLevels(lv)
	l.Printk(Debug, "chatty")
	require.Equal(t, []string{"disk on fire", "chatty"}, got)
}

func TestPrioIsFacilityAndLevel(t *testing.T) {
	r := Record{Facility: FacilityUser, Level: Err}
	require.Equal(t, 11, r.Prio())
}

package timer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/clock"
)

func newQueue(t *testing.T) (*Queue, *clock.Clock) {
	t.Helper()
	clk, err := clock.New(250, 0)
	require.NoError(t, err)
	return New(clk), clk
}

// Events run by time, then ordinary before late, then in posting order,
// and each sees the clock at its own time.
func TestOrder(t *testing.T) {
	q, clk := newQueue(t)
	var ran []string
	var kind Kind
	kind = q.Register("test", func(e Event) {
		require.Equal(t, e.At, clk.Now())
		ran = append(ran, e.Arg.(string))
		if e.Arg == "b" { // posted while running, at the same instant: after what is already due
			q.Post(Event{At: e.At, Kind: kind, Arg: "b2"})
		}
	})
	q.Post(Event{At: 20, Kind: kind, Arg: "late", Late: true})
	q.Post(Event{At: 30, Kind: kind, Arg: "c"})
	q.Post(Event{At: 20, Kind: kind, Arg: "b"})
	q.Post(Event{At: 10, Kind: kind, Arg: "a"})
	q.Post(Event{At: 20, Kind: kind, Arg: "b1"})
	q.RunUntil(25)
	require.Equal(t, []string{"a", "b", "b1", "b2", "late"}, ran)
	require.Equal(t, uint64(20), clk.Now(), "the clock stops at the last event run")
	next, ok := q.Next()
	require.True(t, ok)
	require.Equal(t, uint64(30), next)
}

func TestCancel(t *testing.T) {
	q, _ := newQueue(t)
	var ran []int
	kind := q.Register("test", func(e Event) { ran = append(ran, e.Arg.(int)) })
	q.Post(Event{At: 1, Kind: kind, Arg: 1})
	id := q.Post(Event{At: 2, Kind: kind, Arg: 2})
	q.Post(Event{At: 3, Kind: kind, Arg: 3})
	require.True(t, q.Cancel(id))
	require.False(t, q.Cancel(id), "once")
	q.RunUntil(10)
	require.Equal(t, []int{1, 3}, ran)
	require.False(t, q.Cancel(1), "an event that ran is not found")
	require.Zero(t, q.Len())
}

// The tick runs at every tick time, after the instant's other events.
func TestTick(t *testing.T) {
	q, clk := newQueue(t)
	var ticks []uint64
	var order []string
	kind := q.Register("test", func(Event) { order = append(order, "event") })
	q.Tick(func(n, at uint64) {
		require.Equal(t, clk.TickTime(n), at)
		ticks = append(ticks, n)
		order = append(order, "tick")
	})
	q.Post(Event{At: clk.TickTime(2), Kind: kind})
	q.RunUntil(clk.TickTime(3))
	require.Equal(t, []uint64{1, 2, 3}, ticks)
	require.Equal(t, []string{"tick", "event", "tick", "tick"}, order)
	q.RunUntil(clock.NsecPerSec)
	require.Len(t, ticks, 250, "a second at HZ 250")
}

func TestPostOfAnUnregisteredKindPanics(t *testing.T) {
	q, _ := newQueue(t)
	require.Panics(t, func() { q.Post(Event{Kind: 3}) })
}

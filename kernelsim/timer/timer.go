// Package timer is the kernel's one queue of timed events. Every timed
// thing in the simulation — a task's burst ending, a sleeper waking, a
// lifetime running out, the periodic tick and whatever the tick drives —
// is an event at a simulated time, run in a total order: by time, then
// ordinary events before late ones (the tick, which accounts for what the
// instant's events did), then in the order they were posted. So the same
// posts give the same run, on any host, however the run is sliced.
//
// Subsystems register a handler per kind of event and post events of that
// kind with an argument; they cancel either with Cancel or, cheaper, with a
// generation their handler checks. No subsystem keeps a loop or a notion
// of now of its own: the queue sets the clock to each event's time.
package timer

import (
	"container/heap"
	"fmt"

	"ksim/kernelsim/clock"
)

// Kind names a registered handler.
type Kind int

// Event is something that happens at a time.
type Event struct {
	At   uint64 // ns since boot
	Kind Kind
	// Late events run after the ordinary ones due at the same instant.
	Late bool
	// Arg and Gen are the handler's: what the event is about, and a
	// generation it may compare to cancel lazily.
	Arg any
	Gen uint64
}

// ID identifies a posted event, for Cancel.
type ID uint64

type entry struct {
	Event
	id ID // posting order: ties at one instant run in that order
}

type handler struct {
	name string
	fn   func(Event)
}

// Queue holds the pending events and runs them. It is not safe for
// concurrent use; the kernel's lock guards it.
type Queue struct {
	clk      *clock.Clock
	heap     entries
	lastID   ID
	handlers []handler
}

// New returns an empty queue that moves clk.
func New(clk *clock.Clock) *Queue {
	return &Queue{clk: clk}
}

// Register adds a handler for a kind of event; name is for diagnostics.
func (q *Queue) Register(name string, fn func(Event)) Kind {
	q.handlers = append(q.handlers, handler{name: name, fn: fn})
	return Kind(len(q.handlers) - 1)
}

// Post schedules an event. An event in the past runs at the next run,
// at its own time if the clock has not passed it.
func (q *Queue) Post(e Event) ID {
	if int(e.Kind) < 0 || int(e.Kind) >= len(q.handlers) {
		panic(fmt.Sprintf("timer: post of unregistered kind %d", e.Kind)) // a bug in a subsystem
	}
	q.lastID++
	heap.Push(&q.heap, entry{Event: e, id: q.lastID})
	return q.lastID
}

// Cancel drops a posted event that has not run, and says whether it found
// it. It searches the queue: for events cancelled often, a generation the
// handler checks is cheaper.
func (q *Queue) Cancel(id ID) bool {
	for i := range q.heap {
		if q.heap[i].id == id {
			heap.Remove(&q.heap, i)
			return true
		}
	}
	return false
}

// Len is how many events are pending.
func (q *Queue) Len() int { return len(q.heap) }

// Next is the time of the next pending event.
func (q *Queue) Next() (uint64, bool) {
	if len(q.heap) == 0 {
		return 0, false
	}
	return q.heap[0].At, true
}

// RunNext runs the next event if it is due at or before t, setting the
// clock to its time first, and returns what ran.
func (q *Queue) RunNext(t uint64) (Event, bool) {
	if len(q.heap) > 0 && q.heap[0].At <= t {
		e := heap.Pop(&q.heap).(entry)
		if e.At > q.clk.Now() {
			if err := q.clk.Set(e.At); err != nil {
				panic(err) // the clock only moves forward
			}
		}
		q.handlers[e.Kind].fn(e.Event)
		return e.Event, true
	}
	return Event{}, false
}

// RunUntil runs every event due at or before t, those that running them
// posts included, in order.
func (q *Queue) RunUntil(t uint64) {
	for {
		if _, ran := q.RunNext(t); !ran {
			return
		}
	}
}

// Name is the registered name of a kind.
func (q *Queue) Name(k Kind) string { return q.handlers[k].name }

// Tick starts the periodic tick and returns its kind: fn(n, at) runs for
// tick n at its time clk.TickTime(n), as a late event, from the tick
// after now. Tick n posts tick n+1, so the tick never stops or drifts.
func (q *Queue) Tick(fn func(n, at uint64)) Kind {
	var kind Kind
	kind = q.Register("tick", func(e Event) {
		n := e.Gen
		fn(n, e.At)
		q.Post(Event{At: q.clk.TickTime(n + 1), Kind: kind, Late: true, Gen: n + 1})
	})
	n := q.clk.Ticks() + 1
	q.Post(Event{At: q.clk.TickTime(n), Kind: kind, Late: true, Gen: n})
	return kind
}

// entries is a min-heap by (At, Late, id): a total order.
type entries []entry

func (h entries) Len() int { return len(h) }
func (h entries) Less(i, j int) bool {
	a, b := &h[i], &h[j]
	if a.At != b.At {
		return a.At < b.At
	}
	if a.Late != b.Late {
		return !a.Late
	}
	return a.id < b.id
}
func (h entries) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *entries) Push(x any)   { *h = append(*h, x.(entry)) }
func (h *entries) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

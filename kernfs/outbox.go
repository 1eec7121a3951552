package kernfs

import (
	"context"
	"sync"
)

// Change is something in a tree that the host may have cached: what Name
// means in Dir. (Content changes come with files whose pages the host
// caches.)
type Change struct {
	Dir  Dir
	Name string
}

// Outbox carries a tree's changes to the server that tells the host's
// caches about them. Posting never blocks, so a view may post under the
// kernel's lock; delivery happens on the server's own goroutine, because
// telling the host kernel (a FUSE notification) can wait on the host's
// locks, and a request handler or a lock holder that did it could
// deadlock (as go-fuse and libfuse warn). A writer that must not return
// before the host has forgotten what it changed calls Flush.
type Outbox struct {
	mu        sync.Mutex
	wake      chan struct{} // a change was posted or the outbox closed
	queue     []Change
	posted    uint64
	delivered uint64
	progress  chan struct{} // closed and replaced at each delivery
	serving   bool
	closed    bool
}

// NewOutbox returns an empty outbox; changes posted before a server
// serves it are dropped, as nothing can have cached them.
func NewOutbox() *Outbox {
	return &Outbox{wake: make(chan struct{}, 1), progress: make(chan struct{})}
}

// EntryChanged says what name means in dir has changed: it is new, gone
// or another node.
func (o *Outbox) EntryChanged(dir Dir, name string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.serving || o.closed {
		return
	}
	o.queue = append(o.queue, Change{Dir: dir, Name: name})
	o.posted++
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Serve delivers changes in the order they were posted until Close. The
// server runs it on a goroutine of its own.
func (o *Outbox) Serve(deliver func(Change)) {
	o.mu.Lock()
	o.serving = true
	o.mu.Unlock()
	for {
		<-o.wake
		o.mu.Lock()
		batch, closed := o.queue, o.closed
		o.queue = nil
		o.mu.Unlock()
		for _, c := range batch {
			deliver(c)
		}
		o.mu.Lock()
		o.delivered += uint64(len(batch))
		close(o.progress)
		o.progress = make(chan struct{})
		o.mu.Unlock()
		if closed {
			return
		}
	}
}

// Flush returns once every change posted before it has been delivered,
// or when ctx is done, or the outbox closed.
func (o *Outbox) Flush(ctx context.Context) error {
	if o == nil {
		return nil
	}
	o.mu.Lock()
	target := o.posted
	for o.delivered < target && !o.closed {
		progress := o.progress
		o.mu.Unlock()
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
		o.mu.Lock()
	}
	o.mu.Unlock()
	return nil
}

// Close ends Serve once what was posted is delivered; later posts are dropped.
func (o *Outbox) Close() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return
	}
	o.closed = true
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

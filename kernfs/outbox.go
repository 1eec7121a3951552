package kernfs

import (
	"context"
	"sync"
)

// Change is something in a tree that the host may have cached: what Name
// means in Dir (an entry change), or, when Node is set, Node's content
// and attributes (a content change, for nodes whose handles are
// PageCachers or whose directories cache entries).
type Change struct {
	Dir  Dir
	Name string
	Node Node
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
// starts it are dropped, as nothing can have cached them.
func NewOutbox() *Outbox {
	return &Outbox{wake: make(chan struct{}, 1), progress: make(chan struct{})}
}

// EntryChanged says what name means in dir has changed: it is new, gone
// or another node.
func (o *Outbox) EntryChanged(dir Dir, name string) {
	o.post(Change{Dir: dir, Name: name})
}

// ContentChanged says node's content or attributes (size, times, mode,
// link count) have changed, so the host must drop its cached pages and
// attributes of it. It reaches nodes that supply their own inode number
// (Attr.Ino): only they are content-cached.
func (o *Outbox) ContentChanged(node Node) {
	o.post(Change{Node: node})
}

func (o *Outbox) post(c Change) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.serving || o.closed {
		return
	}
	o.queue = append(o.queue, c)
	o.posted++
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Start keeps what is posted from now on for Serve to deliver. A server
// calls it before the host can cache anything, so that no change is lost
// while the goroutine that runs Serve has yet to start; Serve starts it too.
func (o *Outbox) Start() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.serving = true
}

// Serve delivers changes in the order they were posted until Close. The
// server runs it on a goroutine of its own.
func (o *Outbox) Serve(deliver func(Change)) {
	o.Start()
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

package kernfs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Changes arrive in order on the server's goroutine, and Flush returns
// only once what was posted before it has been delivered.
func TestOutboxDeliversInOrderAndFlushWaits(t *testing.T) {
	o := NewOutbox()
	dir := NewStaticDir(0o755)
	o.EntryChanged(dir, "before-serving") // nothing can have cached it: dropped

	var mu sync.Mutex
	var got []string
	gate := make(chan struct{})
	served := make(chan struct{})
	go func() {
		defer close(served)
		o.Serve(func(c Change) {
			<-gate // the host is slow to take it
			mu.Lock()
			got = append(got, c.Name)
			mu.Unlock()
		})
	}()
	for { // Serve has started when posts stop being dropped
		o.mu.Lock()
		s := o.serving
		o.mu.Unlock()
		if s {
			break
		}
		time.Sleep(time.Millisecond)
	}
	o.EntryChanged(dir, "a")
	o.EntryChanged(dir, "b")

	flushed := make(chan error, 1)
	go func() { flushed <- o.Flush(context.Background()) }()
	select {
	case <-flushed:
		t.Fatal("Flush returned before delivery")
	case <-time.After(20 * time.Millisecond):
	}
	close(gate)
	require.NoError(t, <-flushed)
	mu.Lock()
	require.Equal(t, []string{"a", "b"}, got)
	mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, o.Flush(ctx), "nothing pending")
	o.Close()
	<-served
	o.EntryChanged(dir, "after-close")
	require.NoError(t, o.Flush(context.Background()))
}

func TestNilOutboxIsANoOp(t *testing.T) {
	var o *Outbox
	o.EntryChanged(NewStaticDir(0o755), "x")
	require.NoError(t, o.Flush(context.Background()))
}

package fusemount

// Only a fatal signal cuts a request short.
//
// The host's kernel waits for our answer in request_wait_answer
// (fs/fuse/dev.c). It first waits interruptibly; on the first signal of
// any kind (one the process handles, or SIGURG, which the Go runtime
// sends its own threads to preempt goroutines) it queues FUSE_INTERRUPT
// once (queue_interrupt) and from then on waits only killably
// (wait_event_killable). Once a request has reached the server (it is no
// longer FR_PENDING), even a fatal signal does not end that wait: the
// thread waits the request out uninterruptibly (the final wait_event), so
// a killed writer dies only once we answer. The handled signal itself is
// delivered once the syscall returns.
//
// So an INTERRUPT means "a signal came", not "nobody waits any more". go-fuse
// closes the request's context on it, and a kernel model that stopped
// then would end an advance_ms part way: the writer gets EINTR (bash's
// echo fails; Go's os.File.Write retries the whole write and advances
// again), and the same seed and writes no longer give the same bytes.
//
// The kernel model therefore gets a context of its own for each request
// (requestContext), done only when
//   - the thread that waits can no longer take the answer: go-fuse's
//     context is done and the thread is dying or gone. Dying is SIGKILL
//     in its pending set, what fatal_signal_pending tests
//     (include/linux/sched/signal.h): complete_signal (kernel/signal.c)
//     puts it there for every fatal signal, zap_other_threads for
//     exit_group; or
//   - the server is stopping (Server.Unmount).
//
// The host sends one INTERRUPT per request, so a SIGKILL that follows a
// handled signal brings no second one: once go-fuse's context is done, the
// thread's status is checked again every fatalPollInterval for as long
// as the request runs.
//
// go-fuse (v2.12.1, fuse/protocol-server.go) closes the same channel for
// an INTERRUPT (interruptRequest) and for a connection the kernel has
// torn down (cancelAll, when reading /dev/fuse gives ENODEV), and keeps
// which one in the unexported connectionDead. A torn-down connection thus
// looks like an INTERRUPT of a live thread here, and its requests run to
// their end; nobody waits for them then (fuse_abort_conn has already
// answered every waiting thread with ECONNABORTED), and Server.Unmount,
// which `ksim mount` calls on SIGTERM, still stops them.
//
// A request with pid 0 comes from no thread we can see: the kernel's own
// (FUSE_RELEASE and the other requests fuse_simple_request sends with
// args->nocreds, whose header it leaves without a pid; they are FR_FORCE,
// so the kernel waits them out whatever signal comes) or a thread outside
// the server's pid namespace (pid_nr_ns gives 0). Whether such a waiter is
// dying cannot be told, and cutting its write short on a handled signal
// would bring back the nondeterminism, so its INTERRUPTs are ignored: only
// Server.Unmount stops it. A killed waiter of that kind waits at most
// until the request ends, as it would for any server that ignores
// INTERRUPT.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// fatalPollInterval is how often the waiting thread's status is read,
// once go-fuse's context of its request is done, for a SIGKILL that came
// after the INTERRUPT.
const fatalPollInterval = 20 * time.Millisecond

// sigkillMask is SIGKILL's bit in the pending masks of /proc/PID/status
// (render_sigset_t in fs/proc/array.c: signal n is bit n-1).
const sigkillMask = uint64(1) << (syscall.SIGKILL - 1)

// errServerStopping is why a request's context ends when the server stops.
var errServerStopping = errors.New("the server is stopping")

// requestContext is the context the kernel model gets for one request:
// done only when its thread is dying or gone after go-fuse's context is
// done, or when the server stops. Nothing runs for it until go-fuse's
// context is done or someone waits on Done: Err looks at the channels
// when asked (Advance asks once a slice), and Done starts one goroutine,
// which release ends.
type requestContext struct {
	// request is go-fuse's context of the request: the values (the FUSE
	// caller) come from it.
	request context.Context
	// interrupted is request's Done: closed on an INTERRUPT or a dead
	// connection. Nil for a request of pid 0, which it never ends.
	interrupted <-chan struct{}
	// stopping closes when the server stops.
	stopping <-chan struct{}
	// fate says why the waiting thread can no longer take an answer, ""
	// while it can (threadFate).
	fate func() (string, error)
	// finished closes when the handler returns (release).
	finished chan struct{}

	mu sync.Mutex
	// err is context.Canceled once done; cause says why.
	err, cause error
	// done is Done's channel, made on the first call.
	done chan struct{}
	// lastLook is when fate was last asked; zero before.
	lastLook time.Time
	released bool
}

var _ context.Context = (*requestContext)(nil)

// newRequestContext derives the kernel model's context for a request
// whose go-fuse context is request, from thread tid (0: none we can see).
func newRequestContext(request context.Context, tid int, stopping <-chan struct{}) *requestContext {
	r := &requestContext{request: request, stopping: stopping, finished: make(chan struct{})}
	if tid > 0 {
		r.interrupted = request.Done()
		r.fate = func() (string, error) { return threadFate(hostProc, tid) }
	}
	return r
}

// Deadline implements context.Context: go-fuse's requests have none.
func (r *requestContext) Deadline() (time.Time, bool) { return r.request.Deadline() }

// Value implements context.Context with go-fuse's values.
func (r *requestContext) Value(key any) any { return r.request.Value(key) }

// Err implements context.Context. After go-fuse's context is done, it
// reads the thread's status at most once per fatalPollInterval.
func (r *requestContext) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookLocked(false)
	return r.err
}

// Done implements context.Context. The first call starts the goroutine
// that closes the channel; it ends when the context is done or released.
func (r *requestContext) Done() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done == nil {
		r.done = make(chan struct{})
		if r.err != nil {
			close(r.done)
		} else if !r.released {
			go r.watch()
		}
	}
	return r.done
}

// watch waits for go-fuse's context to be done, then looks at the thread
// every fatalPollInterval, until the context is done or released.
func (r *requestContext) watch() {
	select {
	case <-r.interrupted: // nil for pid 0: only the other two
	case <-r.stopping:
	case <-r.finished:
		return
	}
	tick := time.NewTicker(fatalPollInterval)
	defer tick.Stop()
	for {
		r.mu.Lock()
		r.lookLocked(true)
		ended := r.err != nil
		r.mu.Unlock()
		if ended {
			return
		}
		select {
		case <-tick.C:
		case <-r.stopping:
		case <-r.finished:
			return
		}
	}
}

// lookLocked ends the context if the server stops, or if go-fuse's
// context is done and the thread can no longer wait; the thread's status
// is read at most once per fatalPollInterval unless always says so.
// Callers hold mu.
func (r *requestContext) lookLocked(always bool) {
	if r.err != nil {
		return
	}
	select {
	case <-r.stopping:
		r.cancelLocked(errServerStopping)
		return
	default:
	}
	select {
	case <-r.interrupted:
	default:
		return // not interrupted (or pid 0): nothing to look at
	}
	now := time.Now()
	if !always && !r.lastLook.IsZero() && now.Sub(r.lastLook) < fatalPollInterval {
		return
	}
	r.lastLook = now
	why, err := r.fate()
	if err != nil || why == "" {
		// A status we cannot read or parse says nothing of a fatal
		// signal: run on, as the host waits on.
		return
	}
	r.cancelLocked(errors.New(why))
}

func (r *requestContext) cancelLocked(cause error) {
	r.err, r.cause = context.Canceled, cause
	if r.done != nil {
		close(r.done)
	}
}

// release ends what the context runs: the handler has returned.
func (r *requestContext) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.released {
		r.released = true
		close(r.finished)
	}
}

// threadFate says why thread tid, as procDir shows it, can no longer take
// the answer to a request: it is gone, or dying. "" while it can wait.
// /proc/TID works for any thread id, listed or not.
func threadFate(procDir string, tid int) (string, error) {
	status, err := os.ReadFile(procDir + "/" + strconv.Itoa(tid) + "/status")
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
		return fmt.Sprintf("thread %d is gone", tid), nil
	}
	if err != nil {
		return "", fmt.Errorf("thread %d: %w", tid, err)
	}
	why, err := fateInStatus(status)
	if err != nil {
		return "", fmt.Errorf("thread %d: %w", tid, err)
	}
	if why != "" {
		why = fmt.Sprintf("thread %d %s", tid, why)
	}
	return why, nil
}

// fateInStatus reads a /proc/TID/status (proc_pid_status in
// fs/proc/array.c) for what ends a thread's wait: State Z or X (it has
// exited), or SIGKILL pending for the thread (SigPnd) or its process
// (ShdPnd). "" if none.
func fateInStatus(status []byte) (string, error) {
	var sawPending bool
	for line := range bytes.Lines(status) {
		key, val, ok := strings.Cut(strings.TrimSpace(string(line)), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "State":
			// get_task_state: "Z (zombie)", "X (dead)".
			if strings.HasPrefix(val, "Z") || strings.HasPrefix(val, "X") {
				return "has exited (State " + val + ")", nil
			}
		case "SigPnd", "ShdPnd":
			sawPending = true
			// render_sigset_t prints the highest signals first; SIGKILL is
			// in the last 64 bits on every architecture.
			if len(val) > 16 {
				val = val[len(val)-16:]
			}
			mask, err := strconv.ParseUint(val, 16, 64)
			if err != nil {
				return "", fmt.Errorf("status %s %q: %w", key, val, err)
			}
			if mask&sigkillMask != 0 {
				return "has SIGKILL pending (" + key + ")", nil
			}
		}
	}
	if !sawPending {
		return "", errors.New("status has no SigPnd or ShdPnd line")
	}
	return "", nil
}

// stopSignal tells the contexts of requests that the server stops.
type stopSignal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newStopSignal() *stopSignal { return &stopSignal{ch: make(chan struct{})} }

// channel closes when the server stops.
func (s *stopSignal) channel() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

// stop ends the contexts of requests in flight and of those to come.
func (s *stopSignal) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.ch:
	default:
		close(s.ch)
	}
}

// resume says the server goes on after all (its unmount failed): requests
// from now on run to their end again.
func (s *stopSignal) resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.ch:
		s.ch = make(chan struct{})
	default:
	}
}

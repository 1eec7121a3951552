package fusemount

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/stretchr/testify/require"
)

// statusText is a /proc/TID/status as proc_pid_status writes it, cut to
// the lines fateInStatus reads and a few around them.
func statusText(state, sigPnd, shdPnd string) string {
	return fmt.Sprintf("Name:\tbash\nUmask:\t0022\nState:\t%s\nTgid:\t4242\nPid:\t4243\n"+
		"Threads:\t2\nSigQ:\t1/63432\nSigPnd:\t%s\nShdPnd:\t%s\nSigBlk:\t0000000000010000\n"+
		"SigIgn:\t0000000000000004\nSigCgt:\t000000004b817efb\n", state, sigPnd, shdPnd)
}

func TestFateInStatusFindsFatalSignalsAndExitedThreads(t *testing.T) {
	const none = "0000000000000000"
	for _, tc := range []struct {
		name, status, want string
	}{
		{"sleeping, a handled USR1 pending", statusText("S (sleeping)", "0000000000000200", none), ""},
		{"waiting the request out, SIGURG pending", statusText("D (disk sleep)", "0000000000800000", "0000000000800000"), ""},
		{"SIGKILL pending for the thread", statusText("D (disk sleep)", "0000000000000100", none), "has SIGKILL pending (SigPnd)"},
		{"SIGKILL pending for the process", statusText("S (sleeping)", none, "0000000000000300"), "has SIGKILL pending (ShdPnd)"},
		{"SIGKILL among others", statusText("R (running)", "8000000000004101", none), "has SIGKILL pending (SigPnd)"},
		{"a zombie", statusText("Z (zombie)", none, none), "has exited (State Z (zombie))"},
		{"dead", statusText("X (dead)", none, none), "has exited (State X (dead))"},
		{"a 128-signal mask (MIPS)", statusText("S (sleeping)", "00000000000000000000000000000100", none), "has SIGKILL pending (SigPnd)"},
		{"SIGKILL only above bit 64 of a wide mask", statusText("S (sleeping)", "00000000000001000000000000000000", none), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := fateInStatus([]byte(tc.status))
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}

	_, err := fateInStatus([]byte(statusText("S (sleeping)", "zz", "0000000000000000")))
	require.ErrorContains(t, err, `SigPnd "zz"`)
	_, err = fateInStatus([]byte("Name:\tbash\nState:\tS (sleeping)\n"))
	require.ErrorContains(t, err, "no SigPnd or ShdPnd")
}

func TestThreadFateReadsTheHostsProc(t *testing.T) {
	why, err := threadFate(hostProc, syscall.Gettid())
	require.NoError(t, err)
	require.Empty(t, why, "this thread is alive and not killed")

	why, err = threadFate(hostProc, 1<<30) // above any pid_max (PID_MAX_LIMIT is 1<<22)
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("thread %d is gone", 1<<30), why)
}

// fakeFate stands for a thread's status: fatal says what threadFate
// would; looks counts how often it was asked.
type fakeFate struct {
	fatal atomic.Value // string
	looks atomic.Int64
}

func (f *fakeFate) fate() (string, error) {
	f.looks.Add(1)
	why, _ := f.fatal.Load().(string)
	return why, nil
}

// newFakeRequest is a request of thread tid whose go-fuse context closes
// with interrupt, and the kernel model's context of it, which reads the
// thread's status from the returned fakeFate.
func newFakeRequest(t *testing.T, tid int, stopping <-chan struct{}) (rc *requestContext, interrupt func(), thread *fakeFate) {
	t.Helper()
	cancel := make(chan struct{})
	request := &fuse.Context{Caller: fuse.Caller{Pid: uint32(tid)}, Cancel: cancel}
	rc = newRequestContext(request, tid, stopping)
	thread = &fakeFate{}
	thread.fatal.Store("")
	if rc.fate != nil {
		rc.fate = thread.fate
	}
	t.Cleanup(rc.release)
	return rc, func() { close(cancel) }, thread
}

// requireOpen checks that ctx stays not done for a while: several of the
// intervals at which the thread is looked at.
func requireOpen(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
		t.Fatalf("context done: %v", context.Cause(ctx))
	case <-time.After(5 * fatalPollInterval):
	}
	require.NoError(t, ctx.Err())
}

// requireDone checks that ctx becomes done, within a generous bound.
func requireDone(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("context not done")
	}
	require.ErrorIs(t, ctx.Err(), context.Canceled)
}

func TestRequestContextIgnoresAnInterruptOfALiveThread(t *testing.T) {
	rc, interrupt, thread := newFakeRequest(t, 4243, nil)
	require.NoError(t, rc.Err())
	require.Zero(t, thread.looks.Load(), "nothing is read before an INTERRUPT")

	caller, ok := fuse.FromContext(rc)
	require.True(t, ok, "go-fuse's values pass through")
	require.EqualValues(t, 4243, caller.Pid)

	interrupt() // a handled signal: SIGUSR1, SIGURG
	requireOpen(t, rc)
	require.Positive(t, thread.looks.Load(), "the thread was looked at")

	// Err, which Advance asks once a slice, reads the status at most once
	// per interval however often it is asked; so does the watcher that
	// requireOpen's Done started.
	before, start := thread.looks.Load(), time.Now()
	for range 1000 {
		require.NoError(t, rc.Err())
	}
	perLooker := 1 + int64(time.Since(start)/fatalPollInterval)
	require.LessOrEqual(t, thread.looks.Load()-before, 2*perLooker)
}

func TestRequestContextEndsWhenTheThreadIsKilledLater(t *testing.T) {
	rc, interrupt, thread := newFakeRequest(t, 4243, nil)
	done := rc.Done() // a writer waiting for its turn
	interrupt()
	requireOpen(t, rc)
	// The SIGKILL after the handled signal brings no second INTERRUPT:
	// only the poll sees it.
	thread.fatal.Store("thread 4243 has SIGKILL pending (SigPnd)")
	requireDone(t, rc)
	require.EqualError(t, rc.cause, "thread 4243 has SIGKILL pending (SigPnd)")
	select {
	case <-done:
	default:
		t.Fatal("the first Done channel is not closed")
	}
}

func TestRequestContextEndsAtOnceForAThreadAlreadyKilled(t *testing.T) {
	rc, interrupt, thread := newFakeRequest(t, 4243, nil)
	thread.fatal.Store("thread 4243 has exited (State Z (zombie))")
	require.NoError(t, rc.Err(), "no INTERRUPT yet: nobody looks")
	interrupt()
	require.ErrorIs(t, rc.Err(), context.Canceled, "Err looks as soon as the INTERRUPT is there")
	select {
	case <-rc.Done():
	default:
		t.Fatal("Done after Err said canceled is not closed")
	}
}

func TestRequestContextOfPidZeroEndsOnlyWhenTheServerStops(t *testing.T) {
	stop := newStopSignal()
	rc, interrupt, thread := newFakeRequest(t, 0, stop.channel())
	require.Nil(t, rc.fate, "no thread to look at")
	interrupt()
	requireOpen(t, rc)
	require.Zero(t, thread.looks.Load())
	stop.stop()
	requireDone(t, rc)
	require.ErrorIs(t, rc.cause, errServerStopping)
}

func TestRequestContextEndsWhenTheServerStops(t *testing.T) {
	stop := newStopSignal()
	rc, _, _ := newFakeRequest(t, 4243, stop.channel())
	rc.Done()
	stop.stop()
	requireDone(t, rc)
	require.ErrorIs(t, rc.cause, errServerStopping)

	// An unmount that failed: later requests run to their end again.
	stop.resume()
	later, _, _ := newFakeRequest(t, 4243, stop.channel())
	requireOpen(t, later)
}

// watchers counts the goroutines running requestContext.watch.
func watchers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "(*requestContext).watch(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestRequestContextRunsNothingAfterRelease(t *testing.T) {
	noWatchers := func() bool { return watchers() == 0 }
	require.Eventually(t, noWatchers, 5*time.Second, 10*time.Millisecond, "watchers of earlier tests")
	var contexts []*requestContext
	for range 50 {
		rc, _, _ := newFakeRequest(t, 4243, nil)
		require.NoError(t, rc.Err())
		contexts = append(contexts, rc)
	}
	require.Zero(t, watchers(), "Err starts nothing")
	for range 50 {
		rc, interrupt, _ := newFakeRequest(t, 4243, nil)
		rc.Done()
		interrupt() // its watcher now polls
		contexts = append(contexts, rc)
	}
	for range 50 {
		rc, _, _ := newFakeRequest(t, 4243, nil)
		rc.Done() // its watcher waits for an INTERRUPT
		contexts = append(contexts, rc)
	}
	require.Eventually(t, func() bool { return watchers() == 100 }, 5*time.Second, 10*time.Millisecond,
		"one watcher for each Done")
	for _, rc := range contexts {
		rc.release()
	}
	require.Eventually(t, noWatchers, 5*time.Second, 10*time.Millisecond, "watchers left running")
	for _, rc := range contexts {
		require.NoError(t, rc.Err())
	}
}

// A real process, as the server sees the threads of its callers: alive
// after an INTERRUPT, then SIGKILLed.
func TestRequestContextWatchesARealProcess(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	require.NoError(t, cmd.Start())
	reaped := false
	t.Cleanup(func() {
		if !reaped {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	cancel := make(chan struct{})
	request := &fuse.Context{Caller: fuse.Caller{Pid: uint32(cmd.Process.Pid)}, Cancel: cancel}
	rc := newRequestContext(request, cmd.Process.Pid, nil)
	t.Cleanup(rc.release)
	rc.Done()
	close(cancel)
	requireOpen(t, rc)

	require.NoError(t, cmd.Process.Kill())
	requireDone(t, rc) // a zombie (State Z) until reaped, or gone
	require.ErrorContains(t, rc.cause, fmt.Sprintf("thread %d", cmd.Process.Pid))
	_ = cmd.Wait()
	reaped = true
}

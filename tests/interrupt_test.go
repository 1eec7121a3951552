package tests

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A signal that reaches a writer blocked in a FUSE request makes the host
// send FUSE_INTERRUPT, once, whatever the signal (fs/fuse/dev.c,
// request_wait_answer). On 512 CPUs at HZ 1000 a simulated second takes
// about 0.1 s of host time, so the advances here run long enough for
// signals to come in the middle of them.
var slowMachine = []string{"--clock", "manual", "--cpus", "512", "--hz", "1000"}

// clockNs is the manual clock's uptime in nanoseconds.
func clockNs(t *testing.T, m *mounted) uint64 {
	t.Helper()
	return atoi(t, strings.TrimSpace(m.read("sys/kernel/ksim/clock/uptime_ns")))
}

// shellRun is a bash running a script.
type shellRun struct {
	cmd         *exec.Cmd
	out, errOut bytes.Buffer
	// exited closes when bash has exited and been reaped; err is then Wait's.
	exited chan struct{}
	err    error
}

// startShell starts bash with script. When the test ends, bash is killed
// if it still runs, and reaped.
func startShell(t *testing.T, script string) *shellRun {
	t.Helper()
	sh := &shellRun{cmd: exec.Command("bash", "-c", script), exited: make(chan struct{})}
	sh.cmd.Stdout, sh.cmd.Stderr = &sh.out, &sh.errOut
	require.NoError(t, sh.cmd.Start())
	go func() {
		sh.err = sh.cmd.Wait()
		close(sh.exited)
	}()
	t.Cleanup(func() {
		_ = sh.cmd.Process.Kill() // an error once it has exited
		<-sh.exited
	})
	return sh
}

// waitUnderway waits until the clock has moved past from: an advance runs.
func waitUnderway(t *testing.T, m *mounted, from uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for clockNs(t, m) == from {
		require.True(t, time.Now().Before(deadline), "the advance never started")
		time.Sleep(time.Millisecond)
	}
}

// A signal the writer handles is no reason to stop: the advance runs to
// its end, the write succeeds, and the clock moves by exactly what was
// written, so the same writes still give the same machine.
func TestHandledSignalsDoNotCutAnAdvanceShort(t *testing.T) {
	m := mount(t, slowMachine...)
	const advanceMs = 20000
	before := clockNs(t, m)
	shell := startShell(t, `trap 'traps=$((traps+1))' USR1
echo `+strconv.Itoa(advanceMs)+` > `+m.path("sys/kernel/ksim/clock/advance_ms")+`
echo "status=$? traps=$traps"`)
	waitUnderway(t, m, before)

	// Signal it until it is done; count the signals that surely came while
	// the advance ran: the clock had not reached its end after them.
	var during int
signalling:
	for {
		select {
		case <-shell.exited:
			break signalling
		case <-time.After(50 * time.Millisecond):
		}
		require.NoError(t, shell.cmd.Process.Signal(syscall.SIGUSR1))
		if clockNs(t, m) < before+advanceMs*1e6 {
			during++
		}
	}
	require.NoError(t, shell.err, "stdout: %s, stderr: %s", &shell.out, &shell.errOut)
	require.Positive(t, during, "no signal came during the advance")
	require.Empty(t, shell.errOut.String())
	require.Regexp(t, `^status=0 traps=[1-9]`, shell.out.String(), "the write succeeded and the trap ran")
	require.Equal(t, before+advanceMs*1e6, clockNs(t, m), "exactly %d ms later (%d signals during the write)", advanceMs, during)
	require.NotContains(t, m.readLog(), "write interrupted")
}

// SIGKILL still ends a long advance at once, also after a handled signal
// has used up the request's one INTERRUPT; the mount goes on working.
func TestSIGKILLEndsALongAdvance(t *testing.T) {
	m := mount(t, slowMachine...)
	const advanceMs = 600000 // a minute of host time or more
	before := clockNs(t, m)
	shell := startShell(t, `trap 'true' USR1
echo `+strconv.Itoa(advanceMs)+` > `+m.path("sys/kernel/ksim/clock/advance_ms"))
	waitUnderway(t, m, before)
	for range 3 {
		require.NoError(t, shell.cmd.Process.Signal(syscall.SIGUSR1))
		time.Sleep(50 * time.Millisecond)
	}
	require.Less(t, clockNs(t, m), before+advanceMs*1e6, "the advance still runs")

	require.NoError(t, shell.cmd.Process.Signal(syscall.SIGKILL))
	select {
	case <-shell.exited:
		var exit *exec.ExitError
		require.ErrorAs(t, shell.err, &exit)
		require.Equal(t, syscall.SIGKILL, exit.Sys().(syscall.WaitStatus).Signal())
	case <-time.After(10 * time.Second):
		t.Fatal("the killed writer waited for the advance")
	}

	stopped := clockNs(t, m)
	require.Less(t, stopped, before+advanceMs*1e6, "the advance stopped part way")
	require.Contains(t, m.readLog(), `msg="write interrupted" file=sys/kernel/ksim/clock/advance_ms errno=EINTR`)
	require.NoError(t, m.write("sys/kernel/ksim/clock/advance_ms", "1000\n"))
	require.Equal(t, stopped+1e9, clockNs(t, m), "a later advance runs whole")
	require.NotEmpty(t, m.read("proc/uptime"))
	m.unmount()
	require.False(t, isMounted(m.dir))
}

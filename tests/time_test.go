package tests

import (
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A long advance runs in slices: reads are answered while it runs, at
// slice boundaries, and the advance still moves the clock by exactly
// what was written. (BenchmarkReadDuringAdvance in kernelsim measures how
// long such a read waits.)
func TestReadsAnswerDuringALongAdvance(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "64", "--numa", "2", "--mem", "64G")
	start := uptimeHundredths(t, m.read("proc/uptime"))
	done := make(chan error, 1)
	go func() { done <- m.write("sys/kernel/ksim/clock/advance_ms", "600000\n") }()

	var during []uint64
	for running := true; running; {
		select {
		case err := <-done:
			require.NoError(t, err)
			running = false
		default:
			during = append(during, uptimeHundredths(t, m.read("proc/uptime")))
		}
	}
	var between int
	for _, up := range during {
		require.GreaterOrEqual(t, up, start)
		require.LessOrEqual(t, up, start+60000)
		if up > start && up < start+60000 {
			between++
		}
	}
	require.Positive(t, between, "reads answered in the middle of the advance: %d reads", len(during))
	require.Equal(t, start+60000, uptimeHundredths(t, m.read("proc/uptime")), "exactly 600.00 s later")
}

// Same seed, same writes, same bytes: whether or not a reader hammers the
// tree during the advances, and with a spawn written while an advance
// runs, which applies after it in both runs alike.
func TestSameBytesWithAReaderHammering(t *testing.T) {
	files := []string{"proc/stat", "proc/meminfo", "proc/uptime", "proc/loadavg", "proc/interrupts",
		"proc/softirqs", "proc/vmstat", "proc/300/stat", "proc/301/status", "proc/302/stat"}
	run := func(hammer bool) map[string]string {
		m := mount(t, "--clock", "manual", "--seed", "11", "--cpus", "8")
		require.NoError(t, m.write("proc/sys/kernel/ns_last_pid", "299"))
		require.NoError(t, m.write("sys/kernel/ksim/tasks/spawn", "comm=io cpu=20% io=30% pattern=bursty"))
		require.NoError(t, m.write("sys/kernel/ksim/tasks/spawn", "comm=pool threads=3 cpu=60% pattern=bursty"))
		require.NoError(t, m.write("sys/kernel/ksim/net/eth0/rx_pps", "20000"))

		var stop atomic.Bool
		var wg sync.WaitGroup
		if hammer {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for !stop.Load() {
					for _, f := range append(files, "proc/1/status", "sys/devices/system/cpu/online", "proc/buddyinfo") {
						_, _ = os.ReadFile(m.path(f))
					}
					_, _ = readDirNames(m.path("proc"))
				}
			}()
		}
		before := m.read("proc/uptime")
		done := make(chan error, 1)
		go func() { done <- m.write("sys/kernel/ksim/clock/advance_ms", "20000\n") }()
		for m.read("proc/uptime") == before { // the advance is under way
			time.Sleep(time.Millisecond)
		}
		require.NoError(t, m.write("sys/kernel/ksim/tasks/spawn", "comm=late cpu=50%"))
		late := strings.TrimSpace(m.read("sys/kernel/ksim/tasks/last_pid"))
		require.NoError(t, <-done)
		require.NoError(t, m.write("sys/kernel/ksim/clock/advance_ms", "5000\n"))
		stop.Store(true)
		wg.Wait()

		out := map[string]string{}
		for _, f := range append(files, "proc/"+late+"/stat", "proc/"+late+"/sched") {
			out[f] = m.read(f)
		}
		// The spawn written during the first advance applied after it.
		stat := strings.Fields(out["proc/"+late+"/stat"])
		require.Equal(t, "(late)", stat[1])
		require.GreaterOrEqual(t, atoi(t, stat[21]), uptimeHundredths(t, before)+2000, "starttime, in USER_HZ since boot")
		m.unmount()
		return out
	}
	quiet, hammered := run(false), run(true)
	require.Equal(t, quiet, hammered)
}

// A write waiting behind an advance goes away when its writer is killed,
// without waiting for the advance, and changes nothing.
func TestAWaitingWriteGoesAwayWhenKilled(t *testing.T) {
	m := mount(t, "--clock", "manual", "--cpus", "64", "--numa", "2", "--mem", "64G")
	before := m.read("proc/uptime")
	done := make(chan error, 1)
	go func() { done <- m.write("sys/kernel/ksim/clock/advance_ms", "600000\n") }()
	for m.read("proc/uptime") == before {
		time.Sleep(time.Millisecond)
	}
	_, _, err := runHost("timeout", "-s", "KILL", "0.2", "sh", "-c", "echo comm=killed > "+m.path("sys/kernel/ksim/tasks/spawn"))
	require.Error(t, err, "killed while it waited")
	select {
	case <-done:
		t.Fatal("the killed writer waited for the whole advance")
	default:
	}
	require.NoError(t, <-done)
	out, _, err := m.exec("pgrep", "-x", "killed")
	require.Error(t, err, "no such process was made: %s", out)
	require.Contains(t, m.readLog(), `msg="write interrupted" file=sys/kernel/ksim/tasks/spawn errno=EINTR`)
}

// The host caches a CPU's entries; taking the CPU down or up invalidates
// the groups that go with it before the write returns.
func TestHotplugInvalidatesCachedEntries(t *testing.T) {
	m := mount(t, "--clock", "manual")
	topo := m.path("sys/devices/system/cpu/cpu1/topology")
	for range 3 {
		_, err := os.Stat(topo) // cached for a second from here
		require.NoError(t, err)
		require.NoError(t, m.write("sys/devices/system/cpu/cpu1/online", "0\n"))
		_, err = os.Stat(topo)
		require.ErrorIs(t, err, os.ErrNotExist)
		_, err = os.Stat(m.path("sys/devices/system/cpu/cpu1/node0"))
		require.ErrorIs(t, err, os.ErrNotExist)
		require.NoError(t, m.write("sys/devices/system/cpu/cpu1/online", "1\n"))
		_, err = os.Stat(topo)
		require.NoError(t, err)
	}
}

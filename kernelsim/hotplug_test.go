package kernelsim

import (
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/irq"
	"ksim/kernelsim/sched"
)

// nicQueue0 is the IRQ of eth0's first queue.
func nicQueue0(t *testing.T, k *testKernel) *irq.Desc {
	t.Helper()
	for _, d := range k.IRQ.Descs() {
		if len(d.Actions) == 1 && d.Actions[0] == "eth0-TxRx-0" {
			return d
		}
	}
	t.Fatal("no eth0-TxRx-0")
	return nil
}

func counts(k *testKernel, d *irq.Desc) []uint64 {
	out := make([]uint64, k.CPUs.Possible())
	for c := range out {
		out[c] = d.Count(c)
	}
	return out
}

// The seed experiment: after smp_affinity 4 only CPU2's count grows.
func TestAffinityMovesCounts(t *testing.T) {
	k := manualKernel(t)
	d := nicQueue0(t, k)
	require.NoError(t, k.Advance(1000))
	before := counts(k, d)
	require.Greater(t, before[0], uint64(0), "default affinity lands on CPU0")
	require.NoError(t, k.Do(func() error { return k.IRQ.SetAffinity(d.IRQ, cpu.MaskOf(2)) }))
	require.NoError(t, k.Advance(2000))
	after := counts(k, d)
	for c := range after {
		if c == 2 {
			require.Greater(t, after[c], before[c])
		} else {
			require.Equal(t, before[c], after[c], "cpu%d", c)
		}
	}
	require.Equal(t, 2, d.Effective())
}

func TestOfflineCPUMovesTasksAndInterrupts(t *testing.T) {
	k := manualKernel(t)
	d := nicQueue0(t, k)
	require.NoError(t, k.Do(func() error { return k.IRQ.SetAffinity(d.IRQ, cpu.MaskOf(1)) }))
	var hog *sched.Task
	require.NoError(t, k.Do(func() error {
		var err error
		hog, err = k.Spawn(SpawnRequest{Spec: sched.Spec{Comm: "hog", PPid: 1, Allowed: cpu.MaskOf(1),
			Profile: sched.Profile{SharePPM: 1_000_000}}})
		return err
	}))
	require.NoError(t, k.Advance(500))
	require.Equal(t, 1, hog.CPU)
	idle1 := k.Sched.CPUTimes(1).Ns(sched.TimeIdle)
	busy1 := k.Sched.CPUTimes(1).Ns(sched.TimeUser)

	require.NoError(t, k.Do(func() error { return k.SetCPUOnline(1, false) }))
	require.Equal(t, []int{0, 2, 3}, k.CPUs.OnlineList())
	// The IRQ's only CPU left: it gets every online CPU and keeps counting.
	require.Equal(t, []int{0, 2, 3}, d.Affinity().List())
	require.Equal(t, 0, d.Effective())
	// The pinned task lost its affinity, as select_fallback_rq logs.
	require.Equal(t, []int{0, 2, 3}, hog.Allowed.List())
	before := counts(k, d)
	require.NoError(t, k.Advance(1000))
	require.NotEqual(t, 1, hog.CPU)
	require.Greater(t, d.Count(0), before[0])
	require.Equal(t, before[1], d.Count(1))
	// CPU1's clock stopped.
	require.Equal(t, idle1, k.Sched.CPUTimes(1).Ns(sched.TimeIdle))
	require.Equal(t, busy1, k.Sched.CPUTimes(1).Ns(sched.TimeUser))
	ks := k.Sched.Task(k.ksoftirqdPids[1])
	require.Equal(t, sched.Parked, ks.State)
	joined := logText(k)
	require.Contains(t, joined, "smpboot: CPU 1 is now offline")
	require.Contains(t, joined, "no longer affine to cpu1")

	// The boot CPU and the last online CPU stay.
	require.ErrorIs(t, k.Do(func() error { return k.SetCPUOnline(0, false) }), syscall.EBUSY)
	require.NoError(t, k.Do(func() error { return k.SetCPUOnline(2, false) }))
	require.ErrorIs(t, k.Do(func() error { return k.SetCPUOnline(3, false) }), nil)
	require.ErrorIs(t, k.Do(func() error { return k.SetCPUOnline(0, false) }), syscall.EBUSY)

	for _, c := range []int{1, 2, 3} {
		require.NoError(t, k.Do(func() error { return k.SetCPUOnline(c, true) }))
	}
	require.Equal(t, []int{0, 1, 2, 3}, k.CPUs.OnlineList())
	require.NotEqual(t, sched.Parked, ks.State)
	require.NoError(t, k.Advance(1000))
	require.Greater(t, k.Sched.CPUTimes(1).Ns(sched.TimeIdle)+k.Sched.CPUTimes(1).Ns(sched.TimeUser), idle1+busy1)
	require.True(t, strings.HasSuffix(logText(k), "smpboot: Booting Node 0 Processor 3 APIC 0x3\n"))
}

// Heavy receive traffic on a queue whose CPU cannot keep up: softirq time
// in /proc/stat, the overflow in a busy ksoftirqd, and the interrupt rate
// held at the moderation's limit.
func TestNetworkLoadRunsKsoftirqd(t *testing.T) {
	k := manualKernel(t)
	q0 := nicQueue0(t, k)
	require.NoError(t, k.Do(func() error {
		// Every NIC queue on CPU2: 2 Mpps is four times what it can handle.
		for _, d := range k.IRQ.Descs() {
			if strings.HasPrefix(strings.Join(d.Actions, ""), "eth0-TxRx-") {
				if err := k.IRQ.SetAffinity(d.IRQ, cpu.MaskOf(2)); err != nil {
					return err
				}
			}
		}
		return k.IRQ.NIC().SetTraffic(2_000_000, 0)
	}))
	before := q0.Count(2)
	times := k.Sched.CPUTimes(2)
	soft0, hard0 := times.Ns(sched.TimeSoftIRQ), times.Ns(sched.TimeIRQ)
	require.NoError(t, k.Advance(5000))
	soft, hard := times.Ns(sched.TimeSoftIRQ)-soft0, times.Ns(sched.TimeIRQ)-hard0
	require.Greater(t, soft+hard, uint64(4_900_000_000), "cpu2 spends nearly all of 5 s handling packets")
	require.Greater(t, hard, uint64(100_000_000))
	ks := k.Sched.Task(k.ksoftirqdPids[2])
	require.Greater(t, ks.Stime, uint64(1_500_000_000), "ksoftirqd/2 does the overflow")
	require.Less(t, k.Sched.CPUTimes(0).Ns(sched.TimeSoftIRQ), uint64(50_000_000))
	require.Equal(t, uint64(irq.DefaultITR*5), q0.Count(2)-before, "one queue raises at most its moderation rate")
	require.Greater(t, k.IRQ.SoftirqCount(2, irq.NetRX), 100*k.IRQ.SoftirqCount(0, irq.NetRX))
}

// A multi-threaded process that ends shoots down the TLBs of the other
// CPUs its threads ran on.
func TestExitShootsDownTLBs(t *testing.T) {
	k := manualKernel(t)
	tlbs := func() (n uint64) {
		for c := range k.CPUs.Possible() {
			n += k.IRQ.ArchCount(irq.TLB, c)
		}
		return n
	}
	before := tlbs()
	require.NoError(t, k.Do(func() error {
		_, err := k.Spawn(SpawnRequest{Spec: sched.Spec{Comm: "workers", PPid: 1, Threads: 4,
			Profile: sched.Profile{SharePPM: 1_000_000, LifetimeNs: 500_000_000}}})
		return err
	}))
	require.NoError(t, k.Advance(1000))
	require.Equal(t, before+3, tlbs(), "four threads on four CPUs: three remote flushes")
}

// Each kernel message after boot wakes the log's readers with an irq_work.
func TestPrintkRaisesIRQWork(t *testing.T) {
	k := manualKernel(t)
	before := k.IRQ.ArchCount(irq.IWI, 0)
	require.NoError(t, k.Do(func() error { return k.SetCPUOnline(3, false) }))
	require.Equal(t, before+1, k.IRQ.ArchCount(irq.IWI, 0))
}

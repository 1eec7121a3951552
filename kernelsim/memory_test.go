package kernelsim

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/sched"
)

func bootKernel(t *testing.T, memBytes uint64, nodes int) *testKernel {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Clock, cfg.MemBytes, cfg.NUMANodes = clock.Manual, memBytes, nodes
	k, err := New(cfg)
	require.NoError(t, err)
	return &testKernel{Kernel: k, Machine: k.m}
}

func logText(k *testKernel) string {
	var b strings.Builder
	for seq := k.Log.FirstSeq(); seq < k.Log.NextSeq(); seq++ {
		r, _, _ := k.Log.Read(seq)
		b.WriteString(r.Text + "\n")
	}
	return b.String()
}

// The scenario: a task growing 40 MB/s on a 1 GiB machine makes
// kswapd reclaim page cache, then the OOM killer kills it, and not the
// task that asked never to be killed.
func TestOOMKillsTheGrowingTask(t *testing.T) {
	k := bootKernel(t, 1<<30, 1)
	var grower, protected *sched.Task
	require.NoError(t, k.Do(func() error {
		var err error
		protected, err = k.Spawn(SpawnRequest{Spec: sched.Spec{Comm: "precious", PPid: 1, OOMScoreAdj: -1000}, RSSBytes: 300 << 20})
		if err != nil {
			return err
		}
		grower, err = k.Spawn(SpawnRequest{Spec: sched.Spec{Comm: "leaky", PPid: 1,
			Profile: sched.Profile{SharePPM: 100_000, RSSRate: 40 << 20}}})
		return err
	}))
	freeBefore := k.Mem.FreePages()
	for i := 0; i < 60 && k.Mem.Events.OOMKill == 0; i++ {
		require.NoError(t, k.Advance(1000))
	}
	require.Equal(t, uint64(1), k.Mem.Events.OOMKill)
	require.Positive(t, k.Mem.Events.PgStealKswapd, "kswapd reclaimed page cache first")
	require.Nil(t, k.Sched.Task(grower.Pid), "the leaking task is gone")
	require.NotNil(t, k.Sched.Task(protected.Pid), "oom_score_adj -1000 is never chosen")
	log := logText(k)
	require.Contains(t, log, "leaky invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0")
	require.Regexp(t, `Out of memory: Killed process \d+ \(leaky\) total-vm:\d+kB, anon-rss:\d+kB`, log)
	require.Contains(t, log, "oom-kill:constraint=CONSTRAINT_NONE")
	require.Greater(t, k.Mem.FreePages(), freeBefore/2, "MemFree recovers")
	checkMemoryInvariants(t, k)
}

// checkMemoryInvariants holds at any moment: free pages are the buddy
// lists' pages; node totals add up; consumers fit in MemTotal.
func checkMemoryInvariants(t *testing.T, k *testKernel) {
	t.Helper()
	in := k.Mem.Info()
	var buddy, nodeTotal, nodeFree uint64
	for _, z := range k.Mem.Zones() {
		for o, byType := range z.FreeBlocks() {
			for _, n := range byType {
				buddy += n << o
			}
		}
	}
	for _, n := range k.Mem.Nodes() {
		ni := k.Mem.NodeInfo(n.ID)
		nodeTotal += ni.Total
		nodeFree += ni.Free
	}
	require.Equal(t, in.Free, buddy, "MemFree is what the free lists hold")
	require.Equal(t, in.Total, nodeTotal)
	require.Equal(t, in.Free, nodeFree)
	used := in.Free + in.Buffers + in.Cached - in.Shmem + in.AnonPages + in.Shmem + in.SReclaimable + in.SUnreclaim +
		in.KernelStackKB/4 + in.PageTables + in.Percpu + in.HugetlbPages + in.HardwareCorrupted
	require.LessOrEqual(t, used, in.Total)
	require.LessOrEqual(t, in.Free, in.Available)
	require.LessOrEqual(t, in.Available, in.Total)
	_ = mm.PageSize
}

func TestMemoryInvariantsOverALongRun(t *testing.T) {
	k := bootKernel(t, 2<<30, 2)
	require.NoError(t, k.Do(func() error {
		for _, spec := range []sched.Spec{
			{Comm: "reader", PPid: 1, Profile: sched.Profile{SharePPM: 100_000, IOPPM: 500_000, Bursty: true}},
			{Comm: "grow", PPid: 1, Profile: sched.Profile{SharePPM: 50_000, RSSRate: 5 << 20}},
			{Comm: "pool", PPid: 1, Threads: 4, Profile: sched.Profile{SharePPM: 300_000, Bursty: true}},
		} {
			if _, err := k.Spawn(SpawnRequest{Spec: spec, RSSBytes: 20 << 20}); err != nil {
				return err
			}
		}
		return nil
	}))
	for range 40 {
		require.NoError(t, k.Advance(3000))
		require.NoError(t, k.Do(func() error { checkMemoryInvariants(t, k); return nil }))
	}
}

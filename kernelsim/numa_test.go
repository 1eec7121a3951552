package kernelsim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/sched"
)

// nodeCPUs is the mask of a node's CPUs.
func nodeCPUs(k *testKernel, node int) cpu.Mask {
	var cpus []int
	for c := range k.CPUs.Possible() {
		if k.CPUs.Node(c) == node {
			cpus = append(cpus, c)
		}
	}
	return cpu.MaskOf(cpus...)
}

// spawnNuma starts a process of rss bytes pinned to cpus with a policy,
// and returns the pages it took on each node.
func spawnNuma(t *testing.T, k *testKernel, cpus cpu.Mask, policy string, rss uint64) []uint64 {
	t.Helper()
	p, err := mm.ParseMemPolicy(policy, k.CPUs.Nodes())
	require.NoError(t, err)
	var as *mm.AddressSpace
	require.NoError(t, k.Do(func() error {
		task, err := k.Spawn(SpawnRequest{Spec: sched.Spec{Comm: "numa", PPid: 1, Threads: 1, Allowed: cpus},
			RSSBytes: rss, MemPolicy: p})
		if err == nil {
			as = task.Process().MM
		}
		return err
	}))
	anon := k.Mem.NodePages(as, mm.Anon)
	require.Equal(t, p.String(), as.Policy.String())
	return anon
}

// Anonymous memory of a task pinned to node 1 lands on node 1: its node's
// MemUsed grows by it and its numastat counts local hits, as
// `numactl --cpunodebind=1` shows on a two-socket machine.
func TestFirstTouchOnTheTasksNode(t *testing.T) {
	k := bootKernel(t, 8<<30, 2)
	used := func(n int) uint64 { in := k.Mem.NodeInfo(n); return in.Total - in.Free }
	before0, before1 := used(0), used(1)
	require.Positive(t, before1, "node 1's CPUs have their per-CPU areas there")
	hits := k.Mem.NodeNuma(1)
	anon := spawnNuma(t, k, nodeCPUs(k, 1), "default", 1<<30)
	require.Zero(t, anon[0])
	require.GreaterOrEqual(t, anon[1], uint64(1<<30/mm.PageSize))
	require.GreaterOrEqual(t, (used(1)-before1)*mm.PageSize, uint64(1<<30))
	require.Less(t, (used(0)-before0)*mm.PageSize, uint64(64<<20), "node 0 pays only for what its own CPUs allocate")
	after := k.Mem.NodeNuma(1)
	require.GreaterOrEqual(t, after.Hit-hits.Hit, uint64(1<<30/mm.PageSize))
	require.GreaterOrEqual(t, after.Local-hits.Local, uint64(1<<30/mm.PageSize))
	require.Equal(t, hits.Miss, after.Miss)
	checkMemoryInvariants(t, k)
}

// interleave spreads pages one a node in turn; the counters say so.
func TestInterleaveSplitsEvenly(t *testing.T) {
	k := bootKernel(t, 8<<30, 2)
	il0, il1 := k.Mem.NodeNuma(0).Interleave, k.Mem.NodeNuma(1).Interleave
	anon := spawnNuma(t, k, nodeCPUs(k, 0), "interleave:0-1", 512<<20)
	require.InDelta(t, anon[0], anon[1], 1)
	require.GreaterOrEqual(t, anon[0]+anon[1], uint64(512<<20/mm.PageSize))
	require.GreaterOrEqual(t, k.Mem.NodeNuma(0).Interleave-il0, anon[0])
	require.GreaterOrEqual(t, k.Mem.NodeNuma(1).Interleave-il1, anon[1])
	checkMemoryInvariants(t, k)
}

// bind:1 from a CPU of node 0 allocates only on node 1: hits there (the
// policy's node is the preferred one) but not local ones.
func TestBindTakesOnlyTheBoundNodes(t *testing.T) {
	k := bootKernel(t, 8<<30, 2)
	before := k.Mem.NodeNuma(1)
	anon := spawnNuma(t, k, nodeCPUs(k, 0), "bind:1", 256<<20)
	require.Zero(t, anon[0])
	require.GreaterOrEqual(t, anon[1], uint64(256<<20/mm.PageSize))
	after := k.Mem.NodeNuma(1)
	require.GreaterOrEqual(t, after.Hit-before.Hit, anon[1])
	require.GreaterOrEqual(t, after.Other-before.Other, anon[1])
}

// A preferred node that is full spills to the other one: misses on the
// node that gave, foreign allocations on the node that was asked.
func TestPreferredFallsBackWhenFull(t *testing.T) {
	k := bootKernel(t, 2<<30, 2)
	n1 := k.Mem.NodeInfo(1)
	b0, b1 := k.Mem.NodeNuma(0), k.Mem.NodeNuma(1)
	anon := spawnNuma(t, k, nodeCPUs(k, 0), "preferred:1", (n1.Total+n1.Total/4)*mm.PageSize)
	require.Positive(t, anon[0], "what node 1 could not hold came from node 0")
	require.Positive(t, anon[1])
	require.GreaterOrEqual(t, k.Mem.NodeNuma(0).Miss-b0.Miss, anon[0])
	require.GreaterOrEqual(t, k.Mem.NodeNuma(1).Foreign-b1.Foreign, anon[0])
	checkMemoryInvariants(t, k)
}

func TestParseMemPolicy(t *testing.T) {
	for in, want := range map[string]string{
		"default": "default", "local": "local", "preferred:1": "prefer:1", "prefer:0": "prefer:0",
		"bind:0-1": "bind:0-1", "interleave:0,1": "interleave:0-1", "interleave": "interleave:0-1",
	} {
		p, err := mm.ParseMemPolicy(in, 2)
		require.NoError(t, err, in)
		require.Equal(t, want, p.String(), in)
	}
	for _, in := range []string{"bind:2", "bind", "preferred:0-1", "local:0", "interleave:1-0", "often:0", "bind:x"} {
		_, err := mm.ParseMemPolicy(in, 2)
		require.Error(t, err, in)
	}
}

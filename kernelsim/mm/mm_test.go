package mm

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestVMAsAddUpToTotalVM(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, err := New(Config{MemBytes: 1 << 30, Nodes: 1}, rng)
	require.NoError(t, err)
	as, err := m.NewAddressSpace(Image{Text: 900 << 10, Data: 48 << 10, Libs: 4 << 20, Heap: 1 << 20, Stack: 132 << 10,
		OtherVM: 8 << 20, RSSAnon: 2 << 20, RSSFile: 3 << 20, Path: "/usr/bin/bash"}, rng)
	require.NoError(t, err)
	check := func() {
		var pages uint64
		vmas := as.VMAs()
		for i, v := range vmas {
			require.Less(t, v.Start, v.End)
			require.Zero(t, v.Start%PageSize)
			if i > 0 {
				require.LessOrEqual(t, vmas[i-1].End, v.Start, "in order, not overlapping")
			}
			pages += (v.End - v.Start) / PageSize
		}
		require.Equal(t, as.TotalVM(), pages)
	}
	check()
	free := m.FreePages()
	require.NoError(t, m.GrowAnon(as, 256))
	require.Equal(t, free-256, m.FreePages())
	check()
	m.ReleaseAddressSpace(as)
}

func TestMeminfoFitsInTotal(t *testing.T) {
	m, err := New(Config{MemBytes: 8 << 30, Nodes: 1}, rand.New(rand.NewPCG(1, 1)))
	require.NoError(t, err)
	in := m.Info()
	require.Greater(t, in.Total, uint64(7_500_000_000/PageSize))
	require.LessOrEqual(t, in.Free, in.Total)
	require.GreaterOrEqual(t, in.Available, in.Free)
	require.LessOrEqual(t, in.Available, in.Total)
}

func TestParseSizeAsMemparse(t *testing.T) {
	for in, want := range map[string]uint64{"8G": 8 << 30, "512m": 512 << 20, "4096": 4096, "1T": 1 << 40, "0x10K": 16 << 10, "010": 8} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "G", "1X", "-1G", "1.5G", "99999999999E"} {
		_, err := ParseSize(bad)
		require.Error(t, err, bad)
	}
}

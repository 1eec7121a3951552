package mm

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveBlocks decomposes free frames of a page-by-page model as a buddy
// allocator would: a block is free when all its frames are and its
// parent is not wholly free.
func naiveBlocks(pages []Owner, base uint64) (counts [NrOrders][NrMigrateTypes]uint64) {
	n := uint64(len(pages))
	freeRun := func(s, size uint64) (bool, MigrateType) {
		if s < base || s+size > base+n {
			return false, 0
		}
		mt := pages[s-base].MT
		for p := s; p < s+size; p++ {
			if pages[p-base].Kind != Free || pages[p-base].MT != mt {
				return false, 0
			}
		}
		return true, mt
	}
	for order := 0; order <= MaxOrder; order++ {
		size := uint64(1) << order
		for s := (base + size - 1) / size * size; s+size <= base+n; s += size {
			ok, mt := freeRun(s, size)
			if !ok {
				continue
			}
			if order < MaxOrder {
				parent := s &^ (2*size - 1)
				if pok, _ := freeRun(parent, 2*size); pok {
					continue
				}
			}
			counts[order][mt]++
		}
	}
	return counts
}

func TestRangeMapMatchesAPageByPageModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const base, size = 4096, 8192
	m := newRangeMap(base, base+size)
	pages := make([]Owner, size)
	owners := []Owner{{Kind: Free, MT: Movable}, {Kind: Free, MT: Unmovable}, {Kind: Anon, ID: 7}, {Kind: Anon, ID: 8}, {Kind: FileCache}, {Kind: Hole}}
	for step := range 3000 {
		s := base + rng.Uint64N(size)
		e := min(s+1+rng.Uint64N(uint64(1)<<rng.IntN(12)), base+size)
		o := owners[rng.IntN(len(owners))]
		m.assign(s, e, o)
		for p := s; p < e; p++ {
			pages[p-base] = o
		}
		if step%50 == 0 {
			for p := uint64(base); p < base+size; p += 1 + rng.Uint64N(64) {
				require.Equal(t, pages[p-base], m.Owner(p), "pfn %d", p)
			}
			for i := 1; i < len(m.runs); i++ {
				require.NotEqual(t, m.runs[i-1].owner, m.runs[i].owner, "runs merge")
				require.Less(t, m.runs[i-1].start, m.runs[i].start)
			}
			require.Equal(t, naiveBlocks(pages, base), m.freeCount, "step %d", step)
			var free uint64
			for _, p := range pages {
				if p.Kind == Free {
					free++
				}
			}
			require.Equal(t, free, m.freePages)
		}
	}
}

func TestForEachBlockOfALargeRange(t *testing.T) {
	var counts [NrOrders]uint64
	var total uint64
	forEachBlock(1, 1<<32, func(o int, n uint64) { counts[o] += n; total += n << o })
	require.Equal(t, uint64(1<<32-1), total)
	require.Equal(t, uint64(1<<22-1), counts[MaxOrder])
}

func TestAssignManyMatchesAssign(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const base, size = 0, 20000
	owners := []Owner{{Kind: Free, MT: Movable}, {Kind: Free, MT: Unmovable}, {Kind: Anon, ID: 1}, {Kind: FileCache}}
	for trial := range 50 {
		a, b := newRangeMap(base, size), newRangeMap(base, size)
		for range 200 { // the same random start for both
			s := rng.Uint64N(size)
			e := min(s+1+rng.Uint64N(300), size)
			o := owners[rng.IntN(len(owners))]
			a.assign(s, e, o)
			b.assign(s, e, o)
		}
		var ops []runOp
		for p := rng.Uint64N(50); p < size; p += 1 + rng.Uint64N(400) {
			e := min(p+1+rng.Uint64N(200), size)
			ops = append(ops, runOp{p, e, owners[rng.IntN(len(owners))]})
			p = e
		}
		for _, op := range ops {
			a.assign(op.start, op.end, op.owner)
		}
		b.assignMany(ops)
		require.Equal(t, a.runs, b.runs, "trial %d", trial)
		require.Equal(t, a.freeCount, b.freeCount)
		require.Equal(t, a.freePages, b.freePages)
	}
}

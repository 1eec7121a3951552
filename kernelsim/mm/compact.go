package mm

// movable says whether compaction may migrate a frame's contents.
func movable(o Owner) bool { return o.Kind == Anon || o.Kind == FileCache || o.Kind == Shmem }

// Compact is a write to vm.compact_memory: every zone is compacted as
// compact_zone does, a migrate scanner walking up from the zone's start
// moving movable pages to free frames a free scanner finds walking down
// from its end, until they meet. Free memory gathers in large blocks at
// the start of each zone; buddyinfo's high orders grow.
func (m *Memory) Compact() {
	m.Events.CompactStall++
	for _, z := range m.zones {
		if z.frames != nil {
			m.compactZone(z)
		}
	}
	m.Events.CompactSuccess++
}

func (m *Memory) compactZone(z *Zone) {
	type piece struct {
		s, e  uint64
		owner Owner
	}
	var pieces []piece
	z.frames.each(z.Start, z.End, func(s, e uint64, o Owner) bool {
		pieces = append(pieces, piece{s, e, o})
		return true
	})
	var ops []runOp
	lo, hi := 0, len(pieces)-1
	for {
		for lo < len(pieces) && !movable(pieces[lo].owner) {
			lo++
		}
		for hi >= 0 && pieces[hi].owner.Kind != Free {
			hi--
		}
		if lo >= len(pieces) || hi < 0 || pieces[lo].s >= pieces[hi].e || lo > hi {
			break
		}
		src, dst := &pieces[lo], &pieces[hi]
		k := min(src.e-src.s, dst.e-dst.s)
		if lo == hi || src.s+k > dst.e-k {
			break // the scanners met
		}
		ops = append(ops,
			runOp{dst.e - k, dst.e, src.owner},
			runOp{src.s, src.s + k, Owner{Kind: Free, MT: dst.owner.MT}})
		src.s += k
		dst.e -= k
		if src.s == src.e {
			lo++
		}
		if dst.s == dst.e {
			hi--
		}
		m.Events.CompactMigrateScanned += k
		m.Events.CompactFreeScanned += k
		m.Events.CompactIsolated += 2 * k
		m.Events.PgMigrateSuccess += k
	}
	z.frames.assignMany(ops)
}

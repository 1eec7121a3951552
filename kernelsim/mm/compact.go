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
	migrate, freeTop := z.Start, z.End
	for migrate < freeTop {
		// The next movable run from the bottom.
		var a, b uint64
		var owner Owner
		z.frames.each(migrate, freeTop, func(s, e uint64, o Owner) bool {
			if movable(o) {
				a, b, owner = s, e, o
				return false
			}
			return true
		})
		if b == 0 {
			return
		}
		// The highest free run above it.
		var c, d uint64
		for pfn := freeTop; pfn > b; {
			i := z.frames.find(pfn - 1)
			s, o := max(z.frames.runs[i].start, b), z.frames.runs[i].owner
			if o.Kind == Free {
				c, d = s, pfn
				break
			}
			pfn = s
		}
		if d == 0 {
			return
		}
		k := min(b-a, d-c)
		m.Events.CompactMigrateScanned += k
		m.Events.CompactFreeScanned += k
		m.Events.CompactIsolated += 2 * k
		m.Events.PgMigrateSuccess += k
		dst := z.frames.Owner(d - 1).MT
		z.frames.assign(d-k, d, owner)
		z.frames.assign(a, a+k, Owner{Kind: Free, MT: dst})
		migrate, freeTop = a+k, d-k
	}
}

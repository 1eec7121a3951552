package mm

// THP is the transparent huge page settings (mm/huge_memory.c,
// mm/khugepaged.c). ksim maps no transparent huge pages yet, so they
// change nothing but what their files say.
type THP struct {
	Enabled, Defrag, ShmemEnabled string
	UseZeroPage, ShrinkUnderused  bool
	Khugepaged                    Khugepaged
	// Sizes are the multi-size THP controls, hugepages-<KB>kB, smallest first.
	Sizes []MTHP
}

// Khugepaged is the collapse daemon's knobs and counters.
type Khugepaged struct {
	Defrag                                  bool
	PagesToScan, ScanSleepMs, AllocSleepMs  uint64
	MaxPtesNone, MaxPtesSwap, MaxPtesShared uint64
	FullScans, PagesCollapsed               uint64
}

// MTHP is one size's controls. Anon is "" for a size anonymous memory
// cannot use (order 1: THP_ORDERS_ALL_ANON starts at order 2).
type MTHP struct {
	KB          uint64
	Anon, Shmem string
}

// MaxPtes is HPAGE_PMD_NR-1: the most a max_ptes_* knob takes.
const MaxPtes = 1<<9 - 1

// defaultTHP is what a Debian 6.18 kernel boots with (measured): THP on
// madvise, the PMD size inheriting it and the smaller sizes off.
func defaultTHP() THP {
	t := THP{
		Enabled: "madvise", Defrag: "madvise", ShmemEnabled: "never", UseZeroPage: true, ShrinkUnderused: true,
		Khugepaged: Khugepaged{Defrag: true, PagesToScan: 8 * (1 << 9), ScanSleepMs: 10000, AllocSleepMs: 60000,
			MaxPtesNone: MaxPtes, MaxPtesSwap: (1 << 9) / 8, MaxPtesShared: (1 << 9) / 2},
	}
	for order := 1; order <= 9; order++ {
		s := MTHP{KB: PageSize << order >> 10, Anon: "never", Shmem: "never"}
		if order == 1 {
			s.Anon = ""
		}
		if order == 9 {
			s.Anon, s.Shmem = "inherit", "inherit"
		}
		t.Sizes = append(t.Sizes, s)
	}
	return t
}

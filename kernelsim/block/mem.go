package block

import (
	"fmt"
	"sync"
)

// memPageSize is the unit a Mem device stores; pages never written read as zeros.
const memPageSize = 4096

// Mem is a device in memory, for tests: sparse, so a device of terabytes
// costs what is written to it.
type Mem struct {
	mu      sync.Mutex
	sectors uint64
	pages   map[uint64]*[memPageSize]byte
}

// NewMem returns a zeroed device of the given size in sectors.
func NewMem(sectors uint64) *Mem {
	return &Mem{sectors: sectors, pages: map[uint64]*[memPageSize]byte{}}
}

func (d *Mem) name() string { return fmt.Sprintf("mem(%d sectors)", d.sectors) }

func (d *Mem) Sectors() uint64 { return d.sectors }

func (d *Mem) ReadAt(p []byte, sector uint64, kind Kind) error {
	if err := check(d.name(), "read "+kind.String(), d.sectors, p, sector); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.each(sector*SectorSize, uint64(len(p)), func(pg uint64, off, n, at uint64) {
		if page := d.pages[pg]; page != nil {
			copy(p[at:at+n], page[off:off+n])
		} else {
			clear(p[at : at+n])
		}
	})
	return nil
}

func (d *Mem) WriteAt(p []byte, sector uint64, kind Kind) error {
	if err := check(d.name(), "write "+kind.String(), d.sectors, p, sector); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.each(sector*SectorSize, uint64(len(p)), func(pg uint64, off, n, at uint64) {
		page := d.pages[pg]
		if page == nil {
			page = new([memPageSize]byte)
			d.pages[pg] = page
		}
		copy(page[off:off+n], p[at:at+n])
	})
	return nil
}

// Discard forgets whole pages and zeroes the parts of pages at its ends.
// A range wider than what is stored walks the stored pages instead, so
// discarding a whole terabyte device costs what it holds.
func (d *Mem) Discard(sector, count uint64) error {
	if err := checkRange(d.name(), "discard", d.sectors, sector, count); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	start, end := sector*SectorSize, (sector+count)*SectorSize
	first, last := start/memPageSize, (end+memPageSize-1)/memPageSize // pages touched: [first, last)
	if last-first > uint64(len(d.pages)) {
		for pg := range d.pages { // deleting in any order leaves the same device
			if pg > first && pg+1 < last {
				delete(d.pages, pg)
			}
		}
		d.each(start, min(end-start, (first+1)*memPageSize-start), d.zero)
		if last-1 > first {
			d.each((last-1)*memPageSize, end-(last-1)*memPageSize, d.zero)
		}
		return nil
	}
	d.each(start, end-start, d.zero)
	return nil
}

// zero drops a page wholly discarded and clears the discarded part of one partly so.
func (d *Mem) zero(pg, off, n, _ uint64) {
	page := d.pages[pg]
	switch {
	case page == nil:
	case n == memPageSize:
		delete(d.pages, pg)
	default:
		clear(page[off : off+n])
	}
}

func (d *Mem) Flush() error { return nil }

// each calls f for each page the byte range [start, start+length)
// touches: the page, the range's offset and length in it, and how far
// into the range that piece begins.
func (d *Mem) each(start, length uint64, f func(pg, off, n, at uint64)) {
	for at := uint64(0); at < length; {
		pos := start + at
		off := pos % memPageSize
		n := min(memPageSize-off, length-at)
		f(pos/memPageSize, off, n, at)
		at += n
	}
}

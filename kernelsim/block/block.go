// Package block is the block layer as a file system sees it: a device of
// 512-byte sectors that takes read, write, discard and flush requests, as
// a bio addresses a gendisk (include/linux/blk_types.h). Each read and
// write says whether it carries metadata or file data, so that the layer a
// later issue puts beneath (the page cache, an I/O scheduler,
// /proc/diskstats) can count the first as Buffers and the second as page
// cache, as Linux does.
package block

import (
	"syscall"

	"ksim/kernelsim/errno"
)

// SectorSize is the unit of every request: Linux addresses block devices
// in 512-byte sectors whatever their logical block size (SECTOR_SHIFT).
const (
	SectorShift = 9
	SectorSize  = 1 << SectorShift
)

// Kind is what a request carries.
type Kind uint8

const (
	// Meta is file system metadata: superblocks, group descriptors,
	// bitmaps, inode tables, directories, extent blocks (REQ_META; the
	// buffer cache, "Buffers" in /proc/meminfo).
	Meta Kind = iota
	// Data is the contents of regular files (the page cache, "Cached").
	Data
)

var kindNames = [...]string{Meta: "meta", Data: "data"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind?"
}

// Device is a block device. Requests are whole sectors: p's length is a
// multiple of SectorSize and the range lies inside the device.
type Device interface {
	// Sectors is the device's size in sectors.
	Sectors() uint64
	// ReadAt fills p from the sectors starting at sector.
	ReadAt(p []byte, sector uint64, kind Kind) error
	// WriteAt writes p to the sectors starting at sector.
	WriteAt(p []byte, sector uint64, kind Kind) error
	// Discard tells the device that count sectors from sector on hold
	// nothing; they read as zeros afterwards, as after BLKDISCARD on a
	// device whose discard zeroes data (mke2fs then skips zeroing inode
	// tables) or after BLKZEROOUT.
	Discard(sector, count uint64) error
	// Flush makes what was written durable (REQ_PREFLUSH; fsync for an image).
	Flush() error
}

// checkRange refuses a request that is not whole sectors (EINVAL) or that
// reaches past the end of the device (EIO, as the block layer fails a bio
// after "attempt to access beyond end of device").
func checkRange(name, op string, size, sector, count uint64) error {
	if count > size || sector > size-count {
		return errno.Errorf(syscall.EIO, "%s: %s of sectors %d+%d beyond the end of the device (%d sectors)",
			name, op, sector, count, size)
	}
	return nil
}

// sectorsOf returns how many sectors p holds, or EINVAL if it is not whole sectors.
func sectorsOf(name, op string, p []byte) (uint64, error) {
	if len(p)%SectorSize != 0 {
		return 0, errno.Errorf(syscall.EINVAL, "%s: %s of %d bytes: not a multiple of the %d-byte sector",
			name, op, len(p), SectorSize)
	}
	return uint64(len(p)) / SectorSize, nil
}

// check validates a read or write of p at sector.
func check(name, op string, size uint64, p []byte, sector uint64) error {
	n, err := sectorsOf(name, op, p)
	if err != nil {
		return err
	}
	return checkRange(name, op, size, sector, n)
}

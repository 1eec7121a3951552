package block

import (
	"errors"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"ksim/kernelsim/errno"
)

// File is a device backed by an image file (or a host block device): the
// loop driver's view of its backing file.
type File struct {
	f       *os.File
	sectors uint64
}

// Open opens an image for reading and writing. Its size in whole sectors
// is the device's size; a partial sector at the end is not part of it, as
// losetup leaves it out.
func Open(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, errno.Errorf(errnoOf(err, syscall.EIO), "block: open %s: %w", path, err)
	}
	end, err := f.Seek(0, io.SeekEnd) // also sizes a host block device, whose Stat size is 0
	if err != nil {
		f.Close()
		return nil, errno.Errorf(errnoOf(err, syscall.EIO), "block: size of %s: %w", path, err)
	}
	return &File{f: f, sectors: uint64(end) / SectorSize}, nil
}

// Name is the image's path.
func (d *File) Name() string { return d.f.Name() }

func (d *File) Sectors() uint64 { return d.sectors }

func (d *File) ReadAt(p []byte, sector uint64, kind Kind) error {
	if err := check(d.Name(), "read", d.sectors, p, sector); err != nil {
		return err
	}
	if _, err := d.f.ReadAt(p, int64(sector*SectorSize)); err != nil {
		return errno.Errorf(errnoOf(err, syscall.EIO), "block: %s: read %s sectors %d+%d: %w",
			d.Name(), kind, sector, len(p)/SectorSize, err)
	}
	return nil
}

func (d *File) WriteAt(p []byte, sector uint64, kind Kind) error {
	if err := check(d.Name(), "write", d.sectors, p, sector); err != nil {
		return err
	}
	if _, err := d.f.WriteAt(p, int64(sector*SectorSize)); err != nil {
		return errno.Errorf(errnoOf(err, syscall.EIO), "block: %s: write %s sectors %d+%d: %w",
			d.Name(), kind, sector, len(p)/SectorSize, err)
	}
	return nil
}

// zeroChunk bounds the writes of a Discard that cannot punch holes.
const zeroChunk = 1 << 20

// Discard punches a hole, which keeps an image sparse and reads back as
// zeros (what mke2fs's discard does to a regular file); where the host
// cannot punch holes it writes zeros.
func (d *File) Discard(sector, count uint64) error {
	if err := checkRange(d.Name(), "discard", d.sectors, sector, count); err != nil {
		return err
	}
	if count == 0 {
		return nil
	}
	off, n := int64(sector*SectorSize), int64(count*SectorSize)
	err := unix.Fallocate(int(d.f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EOPNOTSUPP) && !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.ENODEV) {
		return errno.Errorf(errnoOf(err, syscall.EIO), "block: %s: discard sectors %d+%d: %w", d.Name(), sector, count, err)
	}
	zeros := make([]byte, min(n, zeroChunk))
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := d.f.WriteAt(zeros[:k], off); err != nil {
			return errno.Errorf(errnoOf(err, syscall.EIO), "block: %s: zero sectors %d+%d: %w",
				d.Name(), off/SectorSize, k/SectorSize, err)
		}
		off, n = off+k, n-k
	}
	return nil
}

// Flush is fsync, as mke2fs ends with.
func (d *File) Flush() error {
	if err := d.f.Sync(); err != nil {
		return errno.Errorf(errnoOf(err, syscall.EIO), "block: %s: flush: %w", d.Name(), err)
	}
	return nil
}

// Close closes the image; it does not flush.
func (d *File) Close() error {
	if err := d.f.Close(); err != nil {
		return errno.Errorf(errnoOf(err, syscall.EIO), "block: close %s: %w", d.Name(), err)
	}
	return nil
}

// errnoOf is the host's errno of err, or def when it has none (a short
// read, which is an I/O error to the block layer).
func errnoOf(err error, def syscall.Errno) syscall.Errno {
	if e, ok := errno.Of(err); ok {
		return e
	}
	return def
}

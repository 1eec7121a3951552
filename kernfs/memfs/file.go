package memfs

import (
	"fmt"
	"io"
	"math"
	"syscall"

	"golang.org/x/sys/unix"

	"ksim/kernfs"
)

// File is a regular file. Its data is kept in pages allocated where it
// was written, so a truncate that grows it, or a write past its end,
// leaves a hole that takes no capacity, as in tmpfs.
type File struct {
	inode
	size  int64
	pages map[int64]*[pageSize]byte // by index: offset / pageSize
	opens int                       // handles not yet released
}

var (
	_ kernfs.File      = (*File)(nil)
	_ kernfs.Setattrer = (*File)(nil)
	_ kernfs.Statfser  = (*File)(nil)
)

// Attr implements kernfs.Node.
func (f *File) Attr() kernfs.Attr {
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	a := f.attr()
	a.Size = f.size
	a.Blocks = int64(len(f.pages)) * sectorsPerPage
	return a
}

// Setattr implements kernfs.Setattrer.
func (f *File) Setattr(c *kernfs.Caller, change kernfs.AttrChange) error {
	var ch changes
	defer f.fsys.post(c, &ch)
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	return f.fsys.setattr(f, change, &ch)
}

// Open implements kernfs.File. An unlinked file can still be opened (by
// /proc/PID/fd/N), as on Linux.
func (f *File) Open(c *kernfs.Caller, flags int) (kernfs.Handle, error) {
	var ch changes
	defer f.fsys.post(c, &ch)
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	return f.open(flags, &ch)
}

// open opens the file, truncating it for O_TRUNC with write access (the
// mount truncates with a setattr first; in-process callers rely on
// this); f.mu is held.
func (f *File) open(flags int, ch *changes) (*handle, error) {
	mode := flags & syscall.O_ACCMODE
	if flags&syscall.O_TRUNC != 0 && mode != syscall.O_RDONLY {
		// do_truncate with ATTR_MTIME|ATTR_CTIME: the times move even
		// if the file was empty.
		f.truncate(0)
		now := f.fsys.now()
		f.mtime, f.ctime = now, now
		ch.node(f)
	}
	f.opens++
	return &handle{file: f, read: mode != syscall.O_WRONLY, write: mode != syscall.O_RDONLY, append: flags&syscall.O_APPEND != 0}, nil
}

// truncate sets the size, freeing the pages past it and zeroing the
// tail of the last one; f.mu is held.
func (f *File) truncate(size int64) {
	if size < f.size {
		last := (size + pageSize - 1) / pageSize // first index wholly past size
		for i := range f.pages {
			if i >= last {
				delete(f.pages, i)
				f.fsys.usedPages--
			}
		}
		if p, ok := f.pages[size/pageSize]; ok && size%pageSize != 0 {
			clear(p[size%pageSize:])
		}
	}
	f.size = size
}

// handle is an open file.
type handle struct {
	file                *File
	read, write, append bool
	released            bool
}

var (
	_ kernfs.Handle     = (*handle)(nil)
	_ kernfs.Seeker     = (*handle)(nil)
	_ kernfs.Releaser   = (*handle)(nil)
	_ kernfs.Fsyncer    = (*handle)(nil)
	_ kernfs.PageCacher = (*handle)(nil)
)

// CachesPages implements kernfs.PageCacher: the content changes only by
// writes through the mount, which the host sees, or with a post to the
// outbox.
func (h *handle) CachesPages() bool { return true }

// Read implements kernfs.Handle; holes read as zeros.
func (h *handle) Read(_ *kernfs.Caller, dst []byte, off int64) (int, error) {
	f := h.file
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	switch {
	case !h.read:
		return 0, fmt.Errorf("not open for reading: %w", syscall.EBADF)
	case off < 0:
		return 0, fmt.Errorf("offset %d: %w", off, syscall.EINVAL)
	}
	f.fsys.touchAtime(&f.inode)
	if off >= f.size {
		return 0, nil
	}
	dst = dst[:min(int64(len(dst)), f.size-off)]
	for done := 0; done < len(dst); {
		pos := off + int64(done)
		in := pos % pageSize
		n := min(len(dst)-done, int(pageSize-in))
		if p, ok := f.pages[pos/pageSize]; ok {
			copy(dst[done:done+n], p[in:])
		} else {
			clear(dst[done : done+n])
		}
		done += n
	}
	return len(dst), nil
}

// Write implements kernfs.Handle. It takes what fits: a write that finds
// no free page for its first byte fails with ENOSPC, a later page ends
// it short, as a full tmpfs does.
func (h *handle) Write(c *kernfs.Caller, data []byte, off int64) (int, error) {
	f := h.file
	var ch changes
	defer f.fsys.post(c, &ch)
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	if h.append {
		off = f.size
	}
	switch {
	case !h.write:
		return 0, fmt.Errorf("not open for writing: %w", syscall.EBADF)
	case off < 0:
		return 0, fmt.Errorf("offset %d: %w", off, syscall.EINVAL)
	case int64(len(data)) > math.MaxInt64-off:
		return 0, fmt.Errorf("write past the largest file: %w", syscall.EFBIG)
	}
	if len(data) == 0 {
		return 0, nil
	}
	if f.pages == nil {
		f.pages = map[int64]*[pageSize]byte{}
	}
	done := 0
	for done < len(data) {
		pos := off + int64(done)
		p, ok := f.pages[pos/pageSize]
		if !ok {
			if err := f.fsys.allocPage(); err != nil {
				if done == 0 {
					return 0, err
				}
				break
			}
			p = new([pageSize]byte)
			f.pages[pos/pageSize] = p
		}
		done += copy(p[pos%pageSize:], data[done:])
	}
	f.size = max(f.size, off+int64(done))
	now := f.fsys.now() // file_update_time
	f.mtime, f.ctime = now, now
	ch.node(f)
	return done, nil
}

// Seek implements kernfs.Seeker for SEEK_DATA and SEEK_HOLE, the only
// whences the host asks the file system about, as shmem_file_llseek
// answers them: data is where pages are.
func (h *handle) Seek(_ *kernfs.Caller, off int64, whence int) (int64, error) {
	f := h.file
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	switch whence {
	case io.SeekStart:
		return off, nil
	case io.SeekEnd:
		return f.size + off, nil
	case unix.SEEK_DATA, unix.SEEK_HOLE:
	default:
		return 0, fmt.Errorf("whence %d: %w", whence, syscall.EINVAL)
	}
	if off < 0 || off >= f.size {
		return 0, fmt.Errorf("offset %d of %d: %w", off, f.size, syscall.ENXIO)
	}
	wantData := whence == unix.SEEK_DATA
	for i := off / pageSize; i*pageSize < f.size; i++ {
		if _, ok := f.pages[i]; ok == wantData {
			return max(off, i*pageSize), nil
		}
	}
	if wantData {
		return 0, fmt.Errorf("no data past %d: %w", off, syscall.ENXIO)
	}
	return f.size, nil // the implicit hole at the end
}

// Fsync implements kernfs.Fsyncer: memory is as durable as it gets.
func (h *handle) Fsync(*kernfs.Caller, bool) error { return nil }

// Release implements kernfs.Releaser: an unlinked file's pages and inode
// go back to the file system with its last handle.
func (h *handle) Release(*kernfs.Caller) {
	f := h.file
	f.fsys.mu.Lock()
	defer f.fsys.mu.Unlock()
	if h.released {
		return
	}
	h.released = true
	f.opens--
	f.fsys.forget(f)
}

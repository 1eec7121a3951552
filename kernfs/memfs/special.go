package memfs

import (
	"ksim/kernfs"
)

// Symlink is a symbolic link.
type Symlink struct {
	inode
	target string
	// page says the target is too long for the inode and takes a page
	// of the capacity, as tmpfs stores it.
	page bool
}

var (
	_ kernfs.Symlink   = (*Symlink)(nil)
	_ kernfs.Setattrer = (*Symlink)(nil)
	_ kernfs.Statfser  = (*Symlink)(nil)
)

// Attr implements kernfs.Node: the size is the target's length.
func (l *Symlink) Attr() kernfs.Attr {
	l.fsys.mu.Lock()
	defer l.fsys.mu.Unlock()
	a := l.attr()
	a.Size = int64(len(l.target))
	if l.page {
		a.Blocks = sectorsPerPage
	}
	return a
}

// Readlink implements kernfs.Symlink.
func (l *Symlink) Readlink(*kernfs.Caller) (string, error) {
	return l.target, nil // never changes
}

// Setattr implements kernfs.Setattrer (lchown, utimensat with AT_SYMLINK_NOFOLLOW).
func (l *Symlink) Setattr(c *kernfs.Caller, change kernfs.AttrChange) error {
	var ch changes
	defer l.fsys.post(c, &ch)
	l.fsys.mu.Lock()
	defer l.fsys.mu.Unlock()
	return l.fsys.setattr(l, change, &ch)
}

// Special is a device node, FIFO or socket: the host's kernel opens
// those itself, so it has only attributes.
type Special struct {
	inode
	rdev uint64
}

var (
	_ kernfs.Node      = (*Special)(nil)
	_ kernfs.Setattrer = (*Special)(nil)
	_ kernfs.Statfser  = (*Special)(nil)
)

// Attr implements kernfs.Node.
func (s *Special) Attr() kernfs.Attr {
	s.fsys.mu.Lock()
	defer s.fsys.mu.Unlock()
	a := s.attr()
	a.Rdev = s.rdev
	return a
}

// Setattr implements kernfs.Setattrer.
func (s *Special) Setattr(c *kernfs.Caller, change kernfs.AttrChange) error {
	var ch changes
	defer s.fsys.post(c, &ch)
	s.fsys.mu.Lock()
	defer s.fsys.mu.Unlock()
	return s.fsys.setattr(s, change, &ch)
}

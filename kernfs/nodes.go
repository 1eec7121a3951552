package kernfs

import (
	"fmt"
	"io/fs"
	"sync"
	"syscall"
)

// Entry names a child of a static directory.
type Entry struct {
	Name string
	Node Node
	// LookupOnly makes the entry resolve but not be listed: a path
	// reaches it, ls does not show it, as Linux's magic links may be.
	LookupOnly bool
}

// StaticDir is a directory whose children are fixed when it is built: a
// table, read top to bottom.
type StaticDir struct {
	attr    Attr
	entries []Entry
	byName  map[string]Node
}

// WithOwner returns a copy of the directory owned by uid and gid.
func (d *StaticDir) WithOwner(uid, gid uint32) *StaticDir {
	e := *d
	e.attr.Uid, e.attr.Gid = uid, gid
	return &e
}

// NewStaticDir builds a directory with permissions perm, owned by root.
func NewStaticDir(perm fs.FileMode, entries ...Entry) *StaticDir {
	d := &StaticDir{attr: Attr{Mode: fs.ModeDir | perm}, entries: entries, byName: make(map[string]Node, len(entries))}
	for _, e := range entries {
		if _, dup := d.byName[e.Name]; dup {
			panic(fmt.Sprintf("kernfs: duplicate entry %q", e.Name)) // a bug in a view's table
		}
		d.byName[e.Name] = e.Node
	}
	return d
}

// Attr implements Node.
func (d *StaticDir) Attr() Attr { return d.attr }

// Lookup implements Dir.
func (d *StaticDir) Lookup(_ *Caller, name string) (Node, error) {
	if n, ok := d.byName[name]; ok {
		return n, nil
	}
	return nil, ErrNotExist
}

// ReadDir implements Dir: the table without its lookup-only entries.
func (d *StaticDir) ReadDir(*Caller) ([]Dirent, error) {
	out := make([]Dirent, 0, len(d.entries))
	for _, e := range d.entries {
		if !e.LookupOnly {
			out = append(out, Dirent{Name: e.Name, Node: e.Node})
		}
	}
	return out, nil
}

// Entries returns the table, lookup-only entries included, for
// directories that add dynamic children after it.
func (d *StaticDir) Entries() []Entry { return d.entries }

// LinkFunc is a symlink computed per caller.
type LinkFunc struct {
	attr   Attr
	target func(c *Caller) (string, error)
}

// NewLink returns a symlink (mode 0777, root's) whose target target computes.
func NewLink(target func(c *Caller) (string, error)) *LinkFunc {
	return &LinkFunc{attr: Attr{Mode: fs.ModeSymlink | 0o777}, target: target}
}

// NewLinkAttr returns a symlink with its own permissions and owner, as
// /proc/PID/fd/N shows the open mode of the file.
func NewLinkAttr(perm fs.FileMode, uid, gid uint32, target func(c *Caller) (string, error)) *LinkFunc {
	return &LinkFunc{attr: Attr{Mode: fs.ModeSymlink | perm, Uid: uid, Gid: gid}, target: target}
}

// Attr implements Node.
func (l *LinkFunc) Attr() Attr { return l.attr }

// Readlink implements Symlink.
func (l *LinkFunc) Readlink(c *Caller) (string, error) { return l.target(c) }

// Render produces a generated file's content for a caller.
type Render func(c *Caller) ([]byte, error)

// Store takes what was written to a generated file at an offset.
type Store func(c *Caller, data []byte, off int64) error

// GenFile is a generated file: its content is rendered from kernel state
// when it is opened, and rendered again whenever a read starts over at
// offset 0, so a monitor that keeps the file open and rereads it from the
// start sees fresh numbers. Writes go to store; a file without one fails
// writes with EIO, as Linux's read-only proc files do for root.
type GenFile struct {
	attr   Attr
	render Render
	store  Store
	open   openPolicy
}

// openPolicy is how a file treats an open for an access it does not allow.
type openPolicy int

const (
	// procOpen lets the open through; the read or write fails (EIO for a
	// proc file without a write method).
	procOpen openPolicy = iota
	// sysfsOpen fails an open for an access the file cannot serve
	// (kernfs_fop_open: EACCES), even for root.
	sysfsOpen
	// sysctlOpen fails an open its mode bits do not allow, for root too:
	// root is held to the owner bits (kernel/sysctl.c test_perm).
	sysctlOpen
)

// NewFile returns a generated file. render may be nil for a write-only file.
func NewFile(perm fs.FileMode, render Render, store Store) *GenFile {
	return &GenFile{attr: Attr{Mode: perm}, render: render, store: store}
}

// WithOwner returns a copy of the file owned by uid and gid.
func (f *GenFile) WithOwner(uid, gid uint32) *GenFile {
	g := *f
	g.attr.Uid, g.attr.Gid = uid, gid
	return &g
}

// RefuseUnsupportedOpen returns a copy of the file whose open fails with
// EACCES, even for root, when it asks to read a file that cannot be read
// or write one that cannot be written: sysfs semantics.
func (f *GenFile) RefuseUnsupportedOpen() *GenFile {
	g := *f
	g.open = sysfsOpen
	return &g
}

// SysctlPermissions returns a copy of the file that holds root to its
// owner permission bits, as /proc/sys files do: root cannot write a 0444
// sysctl or read a 0200 one (EACCES).
func (f *GenFile) SysctlPermissions() *GenFile {
	g := *f
	g.open = sysctlOpen
	return &g
}

// Attr implements Node.
func (f *GenFile) Attr() Attr { return f.attr }

// Open implements File. It renders the snapshot that reads will return.
func (f *GenFile) Open(c *Caller, flags int) (Handle, error) {
	h := &genHandle{file: f}
	mode := flags & syscall.O_ACCMODE
	wantRead, wantWrite := mode != syscall.O_WRONLY, mode != syscall.O_RDONLY
	switch f.open {
	case sysfsOpen:
		if wantRead && f.render == nil {
			return nil, fmt.Errorf("not readable: %w", syscall.EACCES)
		}
		if wantWrite && f.store == nil {
			return nil, fmt.Errorf("read-only: %w", syscall.EACCES)
		}
	case sysctlOpen:
		owner := f.attr.Mode.Perm() >> 6
		if c.IsRoot() && (wantRead && owner&4 == 0 || wantWrite && owner&2 == 0) {
			return nil, fmt.Errorf("mode %04o holds root to its owner bits: %w", f.attr.Mode.Perm(), syscall.EACCES)
		}
	}
	if mode != syscall.O_WRONLY && f.render != nil {
		if err := h.renderNow(c); err != nil {
			return nil, err
		}
		h.fresh = true
	}
	return h, nil
}

type genHandle struct {
	file  *GenFile
	mu    sync.Mutex // reads of one open file may come concurrently
	data  []byte
	fresh bool // rendered by Open and not yet read from the start
}

func (h *genHandle) renderNow(c *Caller) error {
	data, err := h.file.render(c)
	if err != nil {
		return err
	}
	h.data = data
	return nil
}

// Read implements Handle.
func (h *genHandle) Read(c *Caller, dst []byte, off int64) (int, error) {
	if h.file.render == nil {
		return 0, syscall.EINVAL // write-only file, as Linux's sysfs store-only attributes
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if off == 0 && !h.fresh {
		if err := h.renderNow(c); err != nil {
			return 0, err
		}
	}
	h.fresh = false
	if off < 0 {
		return 0, syscall.EINVAL
	}
	if off >= int64(len(h.data)) {
		return 0, nil
	}
	return copy(dst, h.data[off:]), nil
}

// Write implements Handle.
func (h *genHandle) Write(c *Caller, data []byte, off int64) (int, error) {
	if h.file.store == nil {
		return 0, fmt.Errorf("read-only: %w", syscall.EIO)
	}
	if err := h.file.store(c, data, off); err != nil {
		return 0, err
	}
	return len(data), nil
}

// EntryCacher is a directory whose entries the host may cache for a
// while, because they change only when its tree's Outbox says so.
type EntryCacher interface {
	Dir
	CachesEntries() bool
}

// CachesEntries implements EntryCacher: a static table never changes.
func (d *StaticDir) CachesEntries() bool { return true }

// FilteredDir is a table whose entries come and go with the state they
// describe, as sysfs groups of a CPU vanish while it is offline.
type FilteredDir struct {
	*StaticDir
	present  func(name string) bool
	notified bool
}

// NewFilteredDir shows d's entries for which present holds at the time of
// each lookup or listing. Its children are not cached by the mount.
func NewFilteredDir(d *StaticDir, present func(name string) bool) *FilteredDir {
	return &FilteredDir{StaticDir: d, present: present}
}

// Notified returns a copy whose entries the host may cache: its view posts
// an EntryChanged whenever present changes its answer for a name.
func (d *FilteredDir) Notified() *FilteredDir {
	e := *d
	e.notified = true
	return &e
}

// CachesEntries implements EntryCacher.
func (d *FilteredDir) CachesEntries() bool { return d.notified }

// Lookup implements Dir.
func (d *FilteredDir) Lookup(c *Caller, name string) (Node, error) {
	if !d.present(name) {
		return nil, ErrNotExist
	}
	return d.StaticDir.Lookup(c, name)
}

// ReadDir implements Dir.
func (d *FilteredDir) ReadDir(c *Caller) ([]Dirent, error) {
	all, err := d.StaticDir.ReadDir(c)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, e := range all {
		if d.present(e.Name) {
			out = append(out, e)
		}
	}
	return out, nil
}

// Package memfs is a file system kept in memory, as tmpfs keeps one
// (mm/shmem.c): regular files with data in pages, directories, symbolic
// links, device nodes, FIFOs and sockets; hard links with real link
// counts; files unlinked while open that live until their last handle is
// released; rename with renameat2's flags; a capacity in pages and
// inodes that statfs shows and writes run out of (ENOSPC). It is a
// kernfs tree: fusemount serves it, tests walk it.
//
// Times come from an injected clock, so the tree can run on simulated
// time, and move as POSIX and tmpfs move them.
//
// Permission checks are the host kernel's (fusemount mounts with
// default_permissions, which also enforces the sticky bit on removal and
// renaming). memfs sets the caller's uid and gid on what it creates and,
// as inode_init_owner does, gives a setgid directory's group to what is
// made in it and its setgid bit to directories made in it. Not modelled:
// clearing setgid on chmod by a caller outside the file's group (FUSE
// tells only the primary group), supplementary groups, extended
// attributes and ACLs, quotas, huge pages, swap, O_TMPFILE, file locks,
// mmap coherence beyond what the host's page cache gives, and atime of
// reads the host serves from its page cache.
package memfs

import (
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"syscall"

	"ksim/kernfs"
)

// Sizes tmpfs uses.
const (
	// pageSize is PAGE_SIZE: tmpfs's block size and unit of allocation.
	pageSize = 4096
	// sectorsPerPage is st_blocks per page, in 512-byte units (BLOCKS_PER_PAGE).
	sectorsPerPage = pageSize / 512
	// bogoDirentSize is what each entry, . and .. included, adds to a
	// directory's size (mm/shmem.c BOGO_DIRENT_SIZE).
	bogoDirentSize = 20
	// shortSymlinkLen is the longest target, its NUL included, that
	// tmpfs keeps in the inode; a longer one takes a page
	// (mm/shmem.c SHORT_SYMLINK_LEN).
	shortSymlinkLen = 128
	// nameMax is NAME_MAX, the longest name (include/uapi/linux/limits.h).
	nameMax = 255
	// relatimeWindow is how old an access time relatime lets grow before
	// a read refreshes it anyway (fs/inode.c relatime_need_update).
	relatimeWindow = 24 * 60 * 60 * 1e9
)

// Options configure a file system.
type Options struct {
	// Now is the clock, in ns since the epoch. It is required: times are
	// never read from the host inside the tree.
	Now func() int64
	// Outbox carries changes made other than through a mount (a caller
	// without ThroughMount) to the host's caches. Nil: none are posted.
	Outbox *kernfs.Outbox
	// SizeBytes is the capacity, tmpfs's size=; zero means 1 GiB (tmpfs
	// takes half of RAM, which memfs does not know).
	SizeBytes int64
	// MaxInodes is tmpfs's nr_inodes; zero means one per page of capacity,
	// as tmpfs's defaults make it.
	MaxInodes int64
	// FirstIno is the root's inode number; every later node takes the
	// next, and none is reused. Zero means 2. File systems served in one
	// tree need disjoint ranges.
	FirstIno uint64
	// RootMode is the root's permission bits; zero means 01777, tmpfs's default.
	RootMode         fs.FileMode
	RootUid, RootGid uint32
}

// FS is one file system. Its lock guards every node; it is never held
// while anything outside the tree is called.
type FS struct {
	now    func() int64
	outbox *kernfs.Outbox

	mu                    sync.Mutex
	nextIno               uint64
	maxPages, usedPages   int64
	maxInodes, usedInodes int64
	root                  *Dir
}

// New makes an empty file system: a root directory.
func New(opt Options) *FS {
	if opt.Now == nil {
		panic("memfs: Options.Now is required") // a bug in the caller
	}
	f := &FS{now: opt.Now, outbox: opt.Outbox, nextIno: opt.FirstIno}
	if f.nextIno == 0 {
		f.nextIno = 2
	}
	size := opt.SizeBytes
	if size <= 0 {
		size = 1 << 30
	}
	f.maxPages = (size + pageSize - 1) / pageSize
	f.maxInodes = opt.MaxInodes
	if f.maxInodes <= 0 {
		f.maxInodes = f.maxPages
	}
	mode := opt.RootMode.Perm() | opt.RootMode&kernfs.SpecialBits
	if opt.RootMode == 0 {
		mode = fs.ModeSticky | 0o777
	}
	f.usedInodes = 1
	f.root = &Dir{entries: map[string]*dirent{}}
	f.root.parent = f.root
	f.initInode(&f.root.inode, fs.ModeDir|mode, opt.RootUid, opt.RootGid)
	f.root.nlink = 2
	return f
}

// Root returns the root directory.
func (f *FS) Root() *Dir { return f.root }

// Statfs is what statfs(2) shows of the file system (shmem_statfs).
func (f *FS) Statfs() kernfs.Statfs {
	f.mu.Lock()
	defer f.mu.Unlock()
	return kernfs.Statfs{
		BlockSize:   pageSize,
		Blocks:      uint64(f.maxPages),
		BlocksFree:  uint64(f.maxPages - f.usedPages),
		BlocksAvail: uint64(f.maxPages - f.usedPages),
		Files:       uint64(f.maxInodes),
		FilesFree:   uint64(f.maxInodes - f.usedInodes),
		NameMax:     nameMax,
	}
}

// node is what every memfs node is.
type node interface {
	kernfs.Node
	meta() *inode
}

// inode is what every node has, as struct inode has it.
type inode struct {
	fsys                *FS
	ino                 uint64
	mode                fs.FileMode
	uid, gid            uint32
	nlink               uint32
	atime, mtime, ctime int64
	freed               bool // its inode and pages went back to the file system
}

func (n *inode) meta() *inode { return n }

// Statfs implements kernfs.Statfser for every node.
func (n *inode) Statfs(*kernfs.Caller) (kernfs.Statfs, error) { return n.fsys.Statfs(), nil }

// attr is the part of stat every node shares; f.mu is held.
func (n *inode) attr() kernfs.Attr {
	return kernfs.Attr{
		Mode: n.mode, Uid: n.uid, Gid: n.gid, Nlink: n.nlink, Ino: n.ino,
		AtimeNs: n.atime, MtimeNs: n.mtime, CtimeNs: n.ctime, BlockSize: pageSize,
	}
}

// initInode gives n an inode number, owner and the present as its times.
func (f *FS) initInode(n *inode, mode fs.FileMode, uid, gid uint32) {
	now := f.now()
	*n = inode{fsys: f, ino: f.nextIno, mode: mode, uid: uid, gid: gid, nlink: 1, atime: now, mtime: now, ctime: now}
	f.nextIno++
}

// newInode reserves an inode for a node the caller makes in dir, owned
// as inode_init_owner (fs/inode.c) owns it: by the caller, but with a
// setgid directory's group, and a directory made there inherits setgid.
func (f *FS) newInode(n *inode, c *kernfs.Caller, dir *Dir, mode fs.FileMode) error {
	if err := f.reserveInode(); err != nil {
		return err
	}
	uid, gid := uint32(0), uint32(0)
	if c != nil {
		uid, gid = c.Uid, c.Gid
	}
	if dir.mode&fs.ModeSetgid != 0 {
		gid = dir.gid
		if mode&fs.ModeDir != 0 {
			mode |= fs.ModeSetgid
		}
	}
	f.initInode(n, mode, uid, gid)
	return nil
}

// reserveInode counts an inode, or a further hard link, against
// nr_inodes, as shmem_reserve_inode does.
func (f *FS) reserveInode() error {
	if f.usedInodes >= f.maxInodes {
		return fmt.Errorf("all %d inodes in use: %w", f.maxInodes, syscall.ENOSPC)
	}
	f.usedInodes++
	return nil
}

func (f *FS) releaseInode() { f.usedInodes-- }

// allocPage takes a page of the capacity.
func (f *FS) allocPage() error {
	if f.usedPages >= f.maxPages {
		return fmt.Errorf("all %d pages in use: %w", f.maxPages, syscall.ENOSPC)
	}
	f.usedPages++
	return nil
}

// changes are what an operation changed that the host may have cached,
// each once; they are posted once the lock is released.
type changes []kernfs.Change

func (ch *changes) entry(d *Dir, name string) { ch.add(kernfs.Change{Dir: d, Name: name}) }

func (ch *changes) node(n kernfs.Node) { ch.add(kernfs.Change{Node: n}) }

func (ch *changes) add(c kernfs.Change) {
	if !slices.Contains(*ch, c) { // memfs's nodes are pointers: comparable
		*ch = append(*ch, c)
	}
}

// post tells the outbox what changed, unless the change came through the
// mount, whose host kernel has seen it (and may be waiting on a page
// lock the notification would need).
func (f *FS) post(c *kernfs.Caller, ch *changes) {
	if f.outbox == nil || (c != nil && c.ThroughMount) {
		return
	}
	for _, x := range *ch {
		if x.Node != nil {
			f.outbox.ContentChanged(x.Node)
		} else {
			f.outbox.EntryChanged(x.Dir, x.Name)
		}
	}
}

// checkName refuses names no directory entry can have.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("name %q: %w", name, syscall.EINVAL)
	case len(name) > nameMax:
		return fmt.Errorf("name of %d bytes: %w", len(name), syscall.ENAMETOOLONG)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' || name[i] == 0 {
			return fmt.Errorf("name %q: %w", name, syscall.EINVAL)
		}
	}
	return nil
}

// setattr changes n's attributes as shmem_setattr does; f.mu is held.
func (f *FS) setattr(n node, change kernfs.AttrChange, ch *changes) error {
	m := n.meta()
	updateCtime := true
	updateMtime := false
	if change.Valid&kernfs.ChangeSize != 0 {
		file, ok := n.(*File)
		switch {
		case m.mode.IsDir():
			return fmt.Errorf("truncate a directory: %w", syscall.EISDIR)
		case !ok:
			return fmt.Errorf("truncate a %v: %w", m.mode.Type(), syscall.EINVAL)
		case change.Size < 0:
			return fmt.Errorf("size %d: %w", change.Size, syscall.EINVAL)
		}
		if change.Size != file.size {
			file.truncate(change.Size)
			updateMtime = true
		} else {
			updateCtime = false
		}
	}
	now := f.now()
	if change.Valid&kernfs.ChangeMode != 0 {
		m.mode = m.mode.Type() | change.Mode.Perm() | change.Mode&kernfs.SpecialBits
	}
	if change.Valid&kernfs.ChangeUid != 0 {
		m.uid = change.Uid
	}
	if change.Valid&kernfs.ChangeGid != 0 {
		m.gid = change.Gid
	}
	if change.Valid&kernfs.ChangeAtime != 0 {
		m.atime = change.AtimeNs
		if change.Valid&kernfs.AtimeNow != 0 {
			m.atime = now
		}
	}
	if change.Valid&kernfs.ChangeMtime != 0 {
		m.mtime = change.MtimeNs
		if change.Valid&kernfs.MtimeNow != 0 {
			m.mtime = now
		}
	}
	if updateCtime {
		m.ctime = now
		if updateMtime {
			m.mtime = now
		}
	}
	ch.node(n)
	return nil
}

// touchAtime refreshes n's access time after a read as relatime does:
// only when it is not newer than the modification or change time, or a
// day old (fs/inode.c relatime_need_update); f.mu is held.
func (f *FS) touchAtime(m *inode) {
	now := f.now()
	if m.atime <= m.mtime || m.atime <= m.ctime || now-m.atime >= relatimeWindow {
		m.atime = now
	}
}

// changed stamps a directory whose entries changed; f.mu is held.
func (f *FS) changed(d *Dir, now int64, ch *changes) {
	d.mtime, d.ctime = now, now
	ch.node(d)
}

// forget frees what an unreachable node holds, once nothing holds it: no
// name, and for a file no open handle. f.mu is held.
func (f *FS) forget(n node) {
	m := n.meta()
	if m.freed || m.nlink > 0 {
		return
	}
	switch n := n.(type) {
	case *File:
		if n.opens > 0 {
			return
		}
		f.usedPages -= int64(len(n.pages))
		n.pages = nil
	case *Symlink:
		if n.page {
			f.usedPages--
		}
	}
	m.freed = true
	f.releaseInode()
}

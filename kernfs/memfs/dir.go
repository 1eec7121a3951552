package memfs

import (
	"cmp"
	"fmt"
	"io/fs"
	"slices"
	"syscall"

	"ksim/kernfs"
)

// Dir is a directory.
type Dir struct {
	inode
	// parent is the directory holding this one (the root's is itself):
	// a directory has one name, so rename can refuse to move one into
	// its own subtree.
	parent  *Dir
	entries map[string]*dirent
	nextSeq uint64
}

// dirent is a name in a directory; seq orders a listing by when the name
// was made, as tmpfs's stable offsets do (fs/libfs.c simple_offset_add).
type dirent struct {
	node node
	seq  uint64
}

var (
	_ kernfs.Dir         = (*Dir)(nil)
	_ kernfs.EntryCacher = (*Dir)(nil)
	_ kernfs.Creator     = (*Dir)(nil)
	_ kernfs.Mkdirer     = (*Dir)(nil)
	_ kernfs.Mknoder     = (*Dir)(nil)
	_ kernfs.Unlinker    = (*Dir)(nil)
	_ kernfs.Rmdirer     = (*Dir)(nil)
	_ kernfs.Renamer     = (*Dir)(nil)
	_ kernfs.Linker      = (*Dir)(nil)
	_ kernfs.Symlinker   = (*Dir)(nil)
	_ kernfs.Setattrer   = (*Dir)(nil)
	_ kernfs.Statfser    = (*Dir)(nil)
	_ kernfs.Fsyncer     = (*Dir)(nil)
)

// Attr implements kernfs.Node: a directory's size counts its entries,
// . and .. included, at BOGO_DIRENT_SIZE each, as tmpfs's does.
func (d *Dir) Attr() kernfs.Attr {
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	a := d.attr()
	a.Size = int64(bogoDirentSize * (2 + len(d.entries)))
	return a
}

// CachesEntries implements kernfs.EntryCacher: names change only through
// the mount, which the host sees, or with a post to the outbox.
func (d *Dir) CachesEntries() bool { return true }

// alive says the directory has not been removed; one that has takes no
// new names and finds none (IS_DEADDIR).
func (d *Dir) alive() bool { return d.nlink > 0 }

// Lookup implements kernfs.Dir.
func (d *Dir) Lookup(_ *kernfs.Caller, name string) (kernfs.Node, error) {
	if len(name) > nameMax {
		return nil, fmt.Errorf("name of %d bytes: %w", len(name), syscall.ENAMETOOLONG)
	}
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	if e, ok := d.entries[name]; ok {
		return e.node, nil
	}
	return nil, kernfs.ErrNotExist
}

// ReadDir implements kernfs.Dir, oldest name first.
func (d *Dir) ReadDir(*kernfs.Caller) ([]kernfs.Dirent, error) {
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	ents := make([]*dirent, 0, len(d.entries))
	names := make(map[*dirent]string, len(d.entries))
	for name, e := range d.entries {
		ents = append(ents, e)
		names[e] = name
	}
	slices.SortFunc(ents, func(a, b *dirent) int { return cmp.Compare(a.seq, b.seq) })
	out := make([]kernfs.Dirent, len(ents))
	for i, e := range ents {
		out[i] = kernfs.Dirent{Name: names[e], Node: e.node}
	}
	d.fsys.touchAtime(&d.inode)
	return out, nil
}

// Setattr implements kernfs.Setattrer.
func (d *Dir) Setattr(c *kernfs.Caller, change kernfs.AttrChange) error {
	var ch changes
	defer d.fsys.post(c, &ch)
	d.fsys.mu.Lock()
	defer d.fsys.mu.Unlock()
	return d.fsys.setattr(d, change, &ch)
}

// Fsync implements kernfs.Fsyncer: memory is as durable as it gets.
func (d *Dir) Fsync(*kernfs.Caller, bool) error { return nil }

// add names n in d and stamps d with now; f.mu is held.
func (d *Dir) add(name string, n node, now int64, ch *changes) {
	d.nextSeq++
	d.entries[name] = &dirent{node: n, seq: d.nextSeq}
	if _, ok := n.(*Dir); ok {
		d.nlink++ // the new directory's ..
	}
	d.fsys.changed(d, now, ch)
	ch.entry(d, name)
}

// prepare checks that name can be made in d; f.mu is held.
func (d *Dir) prepare(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if !d.alive() {
		return fmt.Errorf("directory removed: %w", syscall.ENOENT)
	}
	if _, ok := d.entries[name]; ok {
		return fmt.Errorf("%s: %w", name, syscall.EEXIST)
	}
	return nil
}

// Create implements kernfs.Creator.
func (d *Dir) Create(c *kernfs.Caller, name string, mode fs.FileMode, flags int) (kernfs.Node, kernfs.Handle, error) {
	f := d.fsys
	var ch changes
	defer f.post(c, &ch)
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := d.entries[name]; ok && flags&syscall.O_EXCL == 0 {
		switch n := e.node.(type) {
		case *File:
			h, err := n.open(flags, &ch)
			return n, h, err
		case *Dir:
			return nil, nil, fmt.Errorf("%s: %w", name, syscall.EISDIR)
		}
	}
	if err := d.prepare(name); err != nil {
		return nil, nil, err
	}
	file := &File{}
	if err := f.newInode(&file.inode, c, d, mode.Perm()|mode&kernfs.SpecialBits); err != nil {
		return nil, nil, err
	}
	d.add(name, file, file.ctime, &ch)
	h, err := file.open(flags&^syscall.O_TRUNC, &ch)
	return file, h, err
}

// Mkdir implements kernfs.Mkdirer.
func (d *Dir) Mkdir(c *kernfs.Caller, name string, mode fs.FileMode) (kernfs.Node, error) {
	f := d.fsys
	var ch changes
	defer f.post(c, &ch)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := d.prepare(name); err != nil {
		return nil, err
	}
	sub := &Dir{parent: d, entries: map[string]*dirent{}}
	if err := f.newInode(&sub.inode, c, d, fs.ModeDir|mode.Perm()|mode&kernfs.SpecialBits); err != nil {
		return nil, err
	}
	sub.nlink = 2
	d.add(name, sub, sub.ctime, &ch)
	return sub, nil
}

// Mknod implements kernfs.Mknoder, as mknodat(2) sorts the types.
func (d *Dir) Mknod(c *kernfs.Caller, name string, mode fs.FileMode, rdev uint64) (kernfs.Node, error) {
	f := d.fsys
	var ch changes
	defer f.post(c, &ch)
	f.mu.Lock()
	defer f.mu.Unlock()
	return d.mknod(c, name, mode, rdev, &ch)
}

func (d *Dir) mknod(c *kernfs.Caller, name string, mode fs.FileMode, rdev uint64, ch *changes) (node, error) {
	var n node
	switch mode.Type() {
	case 0:
		n = &File{}
		rdev = 0
	case fs.ModeDevice, fs.ModeDevice | fs.ModeCharDevice:
		n = &Special{rdev: rdev}
	case fs.ModeNamedPipe, fs.ModeSocket:
		n = &Special{}
	case fs.ModeDir:
		return nil, fmt.Errorf("mknod a directory: %w", syscall.EPERM)
	default:
		return nil, fmt.Errorf("mknod of type %v: %w", mode.Type(), syscall.EINVAL)
	}
	if err := d.prepare(name); err != nil {
		return nil, err
	}
	if err := d.fsys.newInode(n.meta(), c, d, mode.Type()|mode.Perm()|mode&kernfs.SpecialBits); err != nil {
		return nil, err
	}
	d.add(name, n, n.meta().ctime, ch)
	return n, nil
}

// Symlink implements kernfs.Symlinker.
func (d *Dir) Symlink(c *kernfs.Caller, name, target string) (kernfs.Node, error) {
	f := d.fsys
	var ch changes
	defer f.post(c, &ch)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case target == "":
		return nil, fmt.Errorf("empty target: %w", syscall.ENOENT)
	case len(target)+1 > pageSize:
		return nil, fmt.Errorf("target of %d bytes: %w", len(target), syscall.ENAMETOOLONG)
	}
	if err := d.prepare(name); err != nil {
		return nil, err
	}
	l := &Symlink{target: target, page: len(target)+1 > shortSymlinkLen}
	if l.page {
		if err := f.allocPage(); err != nil {
			return nil, err
		}
	}
	if err := f.newInode(&l.inode, c, d, fs.ModeSymlink|0o777); err != nil {
		if l.page {
			f.usedPages--
		}
		return nil, err
	}
	d.add(name, l, l.ctime, &ch)
	return l, nil
}

// Link implements kernfs.Linker.
func (d *Dir) Link(c *kernfs.Caller, name string, target kernfs.Node) error {
	f := d.fsys
	var ch changes
	defer f.post(c, &ch)
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := target.(node)
	if !ok || n.meta().fsys != f {
		return fmt.Errorf("link across file systems: %w", syscall.EXDEV)
	}
	m := n.meta()
	switch {
	case m.mode.IsDir():
		return fmt.Errorf("hard link to a directory: %w", syscall.EPERM)
	case m.nlink == 0:
		return fmt.Errorf("link to an unlinked file: %w", syscall.ENOENT) // vfs_link
	}
	if err := d.prepare(name); err != nil {
		return err
	}
	if err := f.reserveInode(); err != nil { // shmem_link counts links as inodes
		return err
	}
	m.nlink++
	m.ctime = f.now()
	ch.node(n)
	d.add(name, n, m.ctime, &ch)
	return nil
}

// Unlink implements kernfs.Unlinker.
func (d *Dir) Unlink(c *kernfs.Caller, name string) error {
	f := d.fsys
	var ch changes
	defer f.post(c, &ch)
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := d.entries[name]
	if !ok {
		return fmt.Errorf("%s: %w", name, syscall.ENOENT)
	}
	if _, ok := e.node.(*Dir); ok {
		return fmt.Errorf("%s is a directory: %w", name, syscall.EISDIR)
	}
	d.remove(name, e.node, f.now(), &ch)
	return nil
}

// Rmdir implements kernfs.Rmdirer.
func (d *Dir) Rmdir(c *kernfs.Caller, name string) error {
	f := d.fsys
	var ch changes
	defer f.post(c, &ch)
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := d.entries[name]
	if !ok {
		return fmt.Errorf("%s: %w", name, syscall.ENOENT)
	}
	sub, ok := e.node.(*Dir)
	switch {
	case !ok:
		return fmt.Errorf("%s: %w", name, syscall.ENOTDIR)
	case len(sub.entries) > 0:
		return fmt.Errorf("%s: %w", name, syscall.ENOTEMPTY)
	}
	d.remove(name, sub, f.now(), &ch)
	return nil
}

// remove takes name, naming n, out of d as shmem_unlink and shmem_rmdir
// do: the node loses a link (a directory all of them, and its parent the
// one its .. held) and its change time moves; f.mu is held.
func (d *Dir) remove(name string, n node, now int64, ch *changes) {
	delete(d.entries, name)
	m := n.meta()
	if _, ok := n.(*Dir); ok {
		m.nlink = 0
		d.nlink--
	} else {
		if m.nlink > 1 {
			d.fsys.releaseInode() // the link's share of nr_inodes
		}
		m.nlink--
	}
	m.ctime = now
	ch.node(n)
	d.fsys.changed(d, now, ch)
	ch.entry(d, name)
	d.fsys.forget(n)
}

// isAncestorOf says d is dir or holds it somewhere below; f.mu is held.
func (d *Dir) isAncestorOf(dir *Dir) bool {
	for {
		if dir == d {
			return true
		}
		if dir.parent == dir {
			return false
		}
		dir = dir.parent
	}
}

// Rename implements kernfs.Renamer as vfs_rename and shmem_rename2 do.
func (d *Dir) Rename(c *kernfs.Caller, oldName string, newDir kernfs.Dir, newName string, flags kernfs.RenameFlags) error {
	f := d.fsys
	var ch changes
	defer f.post(c, &ch)
	f.mu.Lock()
	defer f.mu.Unlock()

	const known = kernfs.RenameNoReplace | kernfs.RenameExchange | kernfs.RenameWhiteout
	switch {
	case flags&^known != 0:
		return fmt.Errorf("rename flags %#x: %w", uint32(flags), syscall.EINVAL)
	case flags&kernfs.RenameExchange != 0 && flags&(kernfs.RenameNoReplace|kernfs.RenameWhiteout) != 0:
		return fmt.Errorf("RENAME_EXCHANGE with other flags: %w", syscall.EINVAL)
	}
	nd, ok := newDir.(*Dir)
	if !ok || nd.fsys != f {
		return fmt.Errorf("rename across file systems: %w", syscall.EXDEV)
	}
	if err := checkName(newName); err != nil {
		return err
	}
	src, ok := d.entries[oldName]
	if !ok {
		return fmt.Errorf("%s: %w", oldName, syscall.ENOENT)
	}
	dst, exists := nd.entries[newName]
	exchange := flags&kernfs.RenameExchange != 0
	switch {
	case exchange && !exists:
		return fmt.Errorf("%s: %w", newName, syscall.ENOENT)
	case flags&kernfs.RenameNoReplace != 0 && exists:
		return fmt.Errorf("%s: %w", newName, syscall.EEXIST)
	case exists && dst.node == src.node:
		return nil // two names of one inode: rename(2) does nothing
	}
	srcDir, srcIsDir := src.node.(*Dir)
	if srcIsDir && srcDir.isAncestorOf(nd) {
		return fmt.Errorf("move %s into itself: %w", oldName, syscall.EINVAL)
	}
	var dstDir *Dir
	dstIsDir := false
	if exists {
		dstDir, dstIsDir = dst.node.(*Dir)
		if dstIsDir && dstDir.isAncestorOf(d) {
			if exchange {
				return fmt.Errorf("exchange %s with its ancestor: %w", oldName, syscall.EINVAL)
			}
			return fmt.Errorf("%s holds %s: %w", newName, oldName, syscall.ENOTEMPTY)
		}
	}
	now := f.now()
	if exchange {
		d.entries[oldName], nd.entries[newName] = dst, src
		if srcIsDir != dstIsDir && d != nd { // a directory's .. moves from one to the other
			if srcIsDir {
				d.nlink--
				nd.nlink++
			} else {
				nd.nlink--
				d.nlink++
			}
		}
		if srcIsDir {
			srcDir.parent = nd
		}
		if dstIsDir {
			dstDir.parent = d
		}
		for _, n := range []node{src.node, dst.node} {
			n.meta().ctime = now
			ch.node(n)
		}
		f.changed(d, now, &ch)
		f.changed(nd, now, &ch)
		ch.entry(d, oldName)
		ch.entry(nd, newName)
		return nil
	}
	if exists {
		switch {
		case srcIsDir && !dstIsDir:
			return fmt.Errorf("%s is not a directory: %w", newName, syscall.ENOTDIR)
		case !srcIsDir && dstIsDir:
			return fmt.Errorf("%s is a directory: %w", newName, syscall.EISDIR)
		case dstIsDir && len(dstDir.entries) > 0:
			return fmt.Errorf("%s: %w", newName, syscall.ENOTEMPTY)
		}
	}
	var whiteout *Special
	if flags&kernfs.RenameWhiteout != 0 {
		// A 0:0 character device takes the old name (shmem_whiteout).
		whiteout = &Special{}
		if err := f.newInode(&whiteout.inode, c, d, fs.ModeDevice|fs.ModeCharDevice); err != nil {
			return err
		}
	}
	if exists {
		nd.remove(newName, dst.node, now, &ch)
	}
	delete(d.entries, oldName)
	if srcIsDir {
		d.nlink--
		srcDir.parent = nd
	}
	src.node.meta().ctime = now
	ch.node(src.node)
	nd.add(newName, src.node, now, &ch)
	f.changed(d, now, &ch)
	f.changed(nd, now, &ch)
	ch.entry(d, oldName)
	if whiteout != nil {
		d.add(oldName, whiteout, now, &ch)
	}
	return nil
}

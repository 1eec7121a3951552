package fusemount

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"ksim/kernfs"
)

// The operations that change a tree go to the kernfs interfaces a node
// implements. A node without one fails as generated trees always have:
// their shape is the kernel's, and vfs_* return EPERM where an inode
// lacks the operation (EACCES for create, as an open with O_CREAT of a
// new name in /proc gets).

// Setattr implements gofs.NodeSetattrer. A kernfs.Setattrer takes the
// change; any other node accepts the truncation and time changes that
// `echo x > file` (O_TRUNC) sends before writing, and refuses the rest.
func (n *node) Setattr(ctx context.Context, _ gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if sa, ok := n.kn.(kernfs.Setattrer); ok {
		if change := attrChange(in); change.Valid != 0 {
			c, release := n.s.caller(ctx)
			defer release()
			if err := sa.Setattr(c, change); err != nil {
				return n.errno(err)
			}
		}
	} else if in.Valid&^(fuse.FATTR_SIZE|fuse.FATTR_FH|fuse.FATTR_LOCKOWNER|fuse.FATTR_ATIME|fuse.FATTR_MTIME|
		fuse.FATTR_ATIME_NOW|fuse.FATTR_MTIME_NOW|fuse.FATTR_CTIME) != 0 {
		return syscall.EPERM
	}
	n.fillAttr(&out.Attr)
	out.SetTimeout(n.timeout())
	return 0
}

// attrChange is a FUSE setattr as kernfs says it. The status change time
// the kernel may send (FATTR_CTIME) is the tree's to set.
func attrChange(in *fuse.SetAttrIn) kernfs.AttrChange {
	var c kernfs.AttrChange
	if in.Valid&fuse.FATTR_MODE != 0 {
		c.Valid |= kernfs.ChangeMode
		c.Mode = kernfs.FileMode(in.Mode)
	}
	if in.Valid&fuse.FATTR_UID != 0 {
		c.Valid |= kernfs.ChangeUid
		c.Uid = in.Uid
	}
	if in.Valid&fuse.FATTR_GID != 0 {
		c.Valid |= kernfs.ChangeGid
		c.Gid = in.Gid
	}
	if in.Valid&fuse.FATTR_SIZE != 0 {
		c.Valid |= kernfs.ChangeSize
		c.Size = int64(in.Size)
	}
	if in.Valid&fuse.FATTR_ATIME != 0 {
		c.Valid |= kernfs.ChangeAtime
		c.AtimeNs = int64(in.Atime)*1e9 + int64(in.Atimensec)
		if in.Valid&fuse.FATTR_ATIME_NOW != 0 {
			c.Valid |= kernfs.AtimeNow
		}
	}
	if in.Valid&fuse.FATTR_MTIME != 0 {
		c.Valid |= kernfs.ChangeMtime
		c.MtimeNs = int64(in.Mtime)*1e9 + int64(in.Mtimensec)
		if in.Valid&fuse.FATTR_MTIME_NOW != 0 {
			c.Valid |= kernfs.MtimeNow
		}
	}
	return c
}

// Create implements gofs.NodeCreater.
func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	cr, ok := n.kn.(kernfs.Creator)
	if !ok {
		return nil, nil, 0, syscall.EACCES
	}
	c, release := n.s.caller(ctx)
	defer release()
	kn, h, err := cr.Create(c, name, kernfs.FileMode(mode), int(flags))
	if err != nil {
		return nil, nil, 0, n.errno(err)
	}
	cn := n.child(ctx, name, kn)
	cn.entryOut(out)
	fh, fuseFlags := cn.handleFor(h)
	return cn.EmbeddedInode(), fh, fuseFlags, 0
}

// made answers an operation that made a node named name in n.
func (n *node) made(ctx context.Context, name string, kn kernfs.Node, err error, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if err != nil {
		return nil, n.errno(err)
	}
	cn := n.child(ctx, name, kn)
	cn.entryOut(out)
	return cn.EmbeddedInode(), 0
}

// Mkdir implements gofs.NodeMkdirer.
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	mk, ok := n.kn.(kernfs.Mkdirer)
	if !ok {
		return nil, syscall.EPERM
	}
	c, release := n.s.caller(ctx)
	defer release()
	kn, err := mk.Mkdir(c, name, kernfs.FileMode(mode|syscall.S_IFDIR))
	return n.made(ctx, name, kn, err, out)
}

// Mknod implements gofs.NodeMknoder.
func (n *node) Mknod(ctx context.Context, name string, mode uint32, rdev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	mk, ok := n.kn.(kernfs.Mknoder)
	if !ok {
		return nil, syscall.EPERM
	}
	c, release := n.s.caller(ctx)
	defer release()
	kn, err := mk.Mknod(c, name, kernfs.FileMode(mode), decodeDev(rdev))
	return n.made(ctx, name, kn, err, out)
}

// Symlink implements gofs.NodeSymlinker.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	sl, ok := n.kn.(kernfs.Symlinker)
	if !ok {
		return nil, syscall.EPERM
	}
	c, release := n.s.caller(ctx)
	defer release()
	kn, err := sl.Symlink(c, name, target)
	return n.made(ctx, name, kn, err, out)
}

// Link implements gofs.NodeLinker: the new name is another name of the
// target's inode.
func (n *node) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ln, ok := n.kn.(kernfs.Linker)
	if !ok {
		return nil, syscall.EPERM
	}
	kn := opsOf(target.EmbeddedInode()).kn
	c, release := n.s.caller(ctx)
	defer release()
	return n.made(ctx, name, kn, ln.Link(c, name, kn), out)
}

// Unlink implements gofs.NodeUnlinker.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	u, ok := n.kn.(kernfs.Unlinker)
	if !ok {
		return syscall.EPERM
	}
	c, release := n.s.caller(ctx)
	defer release()
	return n.errno(u.Unlink(c, name))
}

// Rmdir implements gofs.NodeRmdirer.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	r, ok := n.kn.(kernfs.Rmdirer)
	if !ok {
		return syscall.EPERM
	}
	c, release := n.s.caller(ctx)
	defer release()
	return n.errno(r.Rmdir(c, name))
}

// Rename implements gofs.NodeRenamer; flags are renameat2's.
func (n *node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	r, ok := n.kn.(kernfs.Renamer)
	if !ok {
		return syscall.EPERM
	}
	newDir, ok := opsOf(newParent.EmbeddedInode()).kn.(kernfs.Dir)
	if !ok {
		return syscall.ENOTDIR
	}
	c, release := n.s.caller(ctx)
	defer release()
	return n.errno(r.Rename(c, name, newDir, newName, kernfs.RenameFlags(flags)))
}

// Statfs implements gofs.NodeStatfser: the nearest node up the tree that
// knows its file system answers; without one, zeros, as generated trees
// have always shown.
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	for in := n.EmbeddedInode(); in != nil; {
		if sf, ok := opsOf(in).kn.(kernfs.Statfser); ok {
			c, release := n.s.caller(ctx)
			defer release()
			st, err := sf.Statfs(c)
			if err != nil {
				return n.errno(err)
			}
			*out = fuse.StatfsOut{
				Blocks: st.Blocks, Bfree: st.BlocksFree, Bavail: st.BlocksAvail,
				Files: st.Files, Ffree: st.FilesFree,
				Bsize: st.BlockSize, Frsize: st.BlockSize, NameLen: st.NameMax,
			}
			return 0
		}
		_, in = in.Parent()
	}
	return 0
}

// Fsync implements gofs.NodeFsyncer for files (f is their handle) and
// directories (f is go-fuse's own); a node that is no kernfs.Fsyncer
// fails with EOPNOTSUPP, as it always has.
func (n *node) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	var target any = n.kn
	if h, ok := f.(*handle); ok {
		target = h.h
	}
	s, ok := target.(kernfs.Fsyncer)
	if !ok {
		return syscall.ENOTSUP
	}
	const fdatasync = 1 // FUSE_FSYNC_FDATASYNC
	c, release := n.s.caller(ctx)
	defer release()
	return n.errno(s.Fsync(c, flags&fdatasync != 0))
}

// Setxattr implements gofs.NodeSetxattrer. No tree holds extended
// attributes yet. A file system's node (one with its own inode number)
// refuses them as a Linux file system without xattr handlers does
// (EOPNOTSUPP from xattr_resolve_name), so that cp -a and setfacl fall
// back to the mode bits; a generated node keeps go-fuse's answer, ENODATA.
func (n *node) Setxattr(context.Context, string, []byte, uint32) syscall.Errno {
	return n.noXattrs()
}

// Removexattr implements gofs.NodeRemovexattrer, as Setxattr.
func (n *node) Removexattr(context.Context, string) syscall.Errno {
	return n.noXattrs()
}

func (n *node) noXattrs() syscall.Errno {
	if n.kn.Attr().Ino != 0 {
		return syscall.EOPNOTSUPP
	}
	return syscall.ENODATA
}

// handle is an open file of node n.
type handle struct {
	n *node
	h kernfs.Handle
	// cachesPages says the host keeps the file's pages (FOPEN_KEEP_CACHE).
	cachesPages bool
}

var (
	_ gofs.FileReader   = (*handle)(nil)
	_ gofs.FileWriter   = (*handle)(nil)
	_ gofs.FileLseeker  = (*handle)(nil)
	_ gofs.FileFlusher  = (*handle)(nil)
	_ gofs.FileReleaser = (*handle)(nil)
)

// Read implements gofs.FileReader: never more than the read asked for.
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	c, release := h.n.s.caller(ctx)
	defer release()
	k, err := h.h.Read(c, dest, off)
	if err != nil {
		return nil, h.n.errno(err)
	}
	return fuse.ReadResultData(dest[:k]), 0
}

// Write implements gofs.FileWriter.
func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	c, release := h.n.s.caller(ctx)
	defer release()
	k, err := h.h.Write(c, data, off)
	if !h.cachesPages {
		// What the write changed leaves the host's caches before it
		// returns, so a script that writes and then looks never sees the
		// old entries. Not for a page-cached file: the host holds the
		// pages being written locked until we answer, and dropping pages
		// would wait for them. A handled signal does not cut this wait
		// short either: only a fatal one (c's context).
		_ = h.n.s.outbox.Flush(c.Context())
	}
	if err != nil {
		h.n.s.refused(ctx, h.n, "write", err)
		return 0, h.n.errno(err)
	}
	return uint32(k), 0
}

// Lseek implements gofs.FileLseeker. The kernel handles SEEK_SET, SEEK_CUR
// and SEEK_END itself; SEEK_DATA and SEEK_HOLE come here.
func (h *handle) Lseek(ctx context.Context, off uint64, whence uint32) (uint64, syscall.Errno) {
	s, ok := h.h.(kernfs.Seeker)
	if !ok {
		return off, 0 // SEEK_DATA: all of a generated file is data
	}
	c, release := h.n.s.caller(ctx)
	defer release()
	pos, err := s.Seek(c, int64(off), int(whence))
	if err != nil {
		return 0, h.n.errno(err)
	}
	return uint64(pos), 0
}

// Flush implements gofs.FileFlusher: each close(2) of a descriptor.
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	if f, ok := h.h.(kernfs.Flusher); ok {
		c, release := h.n.s.caller(ctx)
		defer release()
		return h.n.errno(f.Flush(c))
	}
	return 0
}

// Release implements gofs.FileReleaser: the last descriptor is closed.
func (h *handle) Release(ctx context.Context) syscall.Errno {
	if r, ok := h.h.(kernfs.Releaser); ok {
		c, release := h.n.s.caller(ctx)
		defer release()
		r.Release(c)
	}
	return 0
}

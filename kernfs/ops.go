package kernfs

import (
	"io/fs"
	"syscall"
)

// A tree that holds a real file system (tmpfs-like memory, an ext4 image)
// changes through the operations below. Each is a small interface a node
// may implement; the server calls it where the host asks for the
// operation and, for a node without it, fails as Linux does where an
// inode lacks the operation (EPERM, or EACCES for create, as today's
// generated trees answer). Names are single path components; the host's
// kernel has checked permissions (default_permissions) and that the
// names are not "." or "..".

// Creator is a directory in which regular files can be created and
// opened at once (open with O_CREAT; FUSE_CREATE).
type Creator interface {
	// Create makes a regular file with the permission bits of mode
	// (fs.ModeSetuid and the like included) owned by the caller, and
	// opens it with flags. With O_EXCL an existing name fails with
	// EEXIST; without, an existing regular file is opened.
	Create(c *Caller, name string, mode fs.FileMode, flags int) (Node, Handle, error)
}

// Mkdirer is a directory in which directories can be made.
type Mkdirer interface {
	// Mkdir makes a directory with the permission bits of mode.
	Mkdir(c *Caller, name string, mode fs.FileMode) (Node, error)
}

// Mknoder is a directory in which device nodes, FIFOs, sockets and
// regular files can be made (mknod(2)).
type Mknoder interface {
	// Mknod makes a node of mode's type; rdev is the device number of a
	// device node as unix.Mkdev makes it.
	Mknod(c *Caller, name string, mode fs.FileMode, rdev uint64) (Node, error)
}

// Unlinker is a directory whose non-directory entries can be removed.
type Unlinker interface {
	// Unlink removes name; the node lives on while it has other names
	// or open handles.
	Unlink(c *Caller, name string) error
}

// Rmdirer is a directory whose empty subdirectories can be removed.
type Rmdirer interface {
	Rmdir(c *Caller, name string) error
}

// RenameFlags are renameat2(2)'s flags, with Linux's values.
type RenameFlags uint32

const (
	// RenameNoReplace fails with EEXIST if newName exists.
	RenameNoReplace RenameFlags = 1 << 0
	// RenameExchange swaps the two names, both of which must exist.
	RenameExchange RenameFlags = 1 << 1
	// RenameWhiteout leaves a whiteout (a 0:0 character device) at
	// oldName, for overlayfs.
	RenameWhiteout RenameFlags = 1 << 2
)

// Renamer is a directory whose entries can be moved, within it or to
// another directory of the same file system (EXDEV otherwise).
type Renamer interface {
	// Rename moves oldName to newName in newDir, replacing what is there
	// as rename(2) does unless flags say otherwise.
	Rename(c *Caller, oldName string, newDir Dir, newName string, flags RenameFlags) error
}

// Linker is a directory in which a hard link to an existing node of the
// same file system can be made.
type Linker interface {
	// Link gives target the further name name; target is a node the
	// directory's file system handed out (EXDEV otherwise).
	Link(c *Caller, name string, target Node) error
}

// Symlinker is a directory in which symbolic links can be made.
type Symlinker interface {
	Symlink(c *Caller, name, target string) (Node, error)
}

// AttrMask says which fields of an AttrChange apply.
type AttrMask uint32

const (
	ChangeMode AttrMask = 1 << iota
	ChangeUid
	ChangeGid
	ChangeSize
	ChangeAtime
	ChangeMtime
	// AtimeNow, with ChangeAtime, sets the access time to the tree's
	// present rather than AtimeNs (utimensat's UTIME_NOW); so does
	// MtimeNow for the modification time.
	AtimeNow
	MtimeNow
)

// AttrChange is what a setattr (chmod, chown, truncate, utimensat)
// changes: the fields whose bits are in Valid. The status change time
// is the tree's to set.
type AttrChange struct {
	Valid AttrMask
	// Mode holds the permission bits and fs.ModeSetuid, fs.ModeSetgid
	// and fs.ModeSticky; its type bits are ignored.
	Mode             fs.FileMode
	Uid, Gid         uint32
	Size             int64
	AtimeNs, MtimeNs int64
}

// Setattrer is a node whose attributes can be changed. A node without it
// accepts the truncation and time changes that `echo x > file` sends
// (O_TRUNC) and refuses the rest with EPERM, as generated files do.
type Setattrer interface {
	Setattr(c *Caller, change AttrChange) error
}

// Statfs is what statfs(2) shows of the file system holding a node.
type Statfs struct {
	// BlockSize is f_bsize and f_frsize; the counts are in its units.
	BlockSize                       uint32
	Blocks, BlocksFree, BlocksAvail uint64
	Files, FilesFree                uint64
	// NameMax is f_namelen, the longest name the file system takes.
	NameMax uint32
}

// Statfser is a node that knows the file system it belongs to. A statfs
// of any node asks the nearest node up the tree that is one; a tree
// without any shows zeros, as generated trees always have.
type Statfser interface {
	Statfs(c *Caller) (Statfs, error)
}

// Flusher is a handle that acts on each close(2) of a descriptor for it
// (FUSE_FLUSH); a close may fail with what Flush returns.
type Flusher interface {
	Flush(c *Caller) error
}

// Fsyncer is a handle, or a directory (whose handles the server keeps),
// that can be synced: fsync(2), or fdatasync(2) when dataOnly. A node
// that is neither fails fsync with EOPNOTSUPP, as generated files do.
type Fsyncer interface {
	Fsync(c *Caller, dataOnly bool) error
}

// Releaser is a handle that learns when its last descriptor is closed.
// An unlinked file's content lives until then.
type Releaser interface {
	Release(c *Caller)
}

// PageCacher is a handle whose content the host may keep in its page
// cache across reads and opens, because the tree posts ContentChanged to
// its Outbox whenever the content changes other than through the mount.
// A handle that is not one, or says false, is direct I/O: every read
// reaches it, as generated files need.
type PageCacher interface {
	CachesPages() bool
}

// UnixMode is m as stat's st_mode encodes it: the S_IFMT type, the
// setuid, setgid and sticky bits, and the permission bits.
func UnixMode(m fs.FileMode) uint32 {
	mode := uint32(m.Perm())
	switch {
	case m&fs.ModeDir != 0:
		mode |= syscall.S_IFDIR
	case m&fs.ModeSymlink != 0:
		mode |= syscall.S_IFLNK
	case m&fs.ModeNamedPipe != 0:
		mode |= syscall.S_IFIFO
	case m&fs.ModeSocket != 0:
		mode |= syscall.S_IFSOCK
	case m&fs.ModeCharDevice != 0:
		mode |= syscall.S_IFCHR
	case m&fs.ModeDevice != 0:
		mode |= syscall.S_IFBLK
	default:
		mode |= syscall.S_IFREG
	}
	if m&fs.ModeSetuid != 0 {
		mode |= syscall.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		mode |= syscall.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		mode |= syscall.S_ISVTX
	}
	return mode
}

// FileMode is the fs.FileMode of an st_mode, UnixMode's inverse.
func FileMode(mode uint32) fs.FileMode {
	m := fs.FileMode(mode & 0o777)
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		m |= fs.ModeDir
	case syscall.S_IFLNK:
		m |= fs.ModeSymlink
	case syscall.S_IFIFO:
		m |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		m |= fs.ModeSocket
	case syscall.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		m |= fs.ModeDevice
	}
	if mode&syscall.S_ISUID != 0 {
		m |= fs.ModeSetuid
	}
	if mode&syscall.S_ISGID != 0 {
		m |= fs.ModeSetgid
	}
	if mode&syscall.S_ISVTX != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// SpecialBits are the mode bits besides the permissions that chmod sets.
const SpecialBits = fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky

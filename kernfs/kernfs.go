// Package kernfs is the shape of ksim's file trees, free of FUSE: a tree of
// directories, generated files and symlinks, each answering for the caller
// that asks. The views (procfs, sysfs, devfs) build trees of these nodes;
// package fusemount serves a tree over FUSE, and tests walk it directly.
//
// A tree may also hold a real file system, one that keeps what is
// written to it (package memfs; ext4 images later): its nodes have their
// own inode numbers and link counts (Attr), change through the small
// interfaces of ops.go (Creator, Renamer, Setattrer...), and let the host
// cache their pages (PageCacher), posting to the Outbox what changes
// other than through the mount.
package kernfs

import (
	"context"
	"io/fs"
	"sync"
	"syscall"

	"ksim/kernelsim/errno"
)

// Attr is what stat shows of a node. A node that supplies its own inode
// number (Ino) is a file system's node and every field is taken as it
// is: an unlinked file still open has 0 links, a file touched to the
// epoch has time 0. For a generated node (Ino zero), a zero field means
// what generated files show: size 0 (they are sized by reading them, as
// in /proc), one link (two for a directory), no blocks, the tree's time.
type Attr struct {
	// Mode holds the type bits (fs.ModeDir, fs.ModeSymlink,
	// fs.ModeNamedPipe, fs.ModeSocket, fs.ModeDevice for a block device
	// and fs.ModeDevice|fs.ModeCharDevice for a character device, none for
	// a regular file), fs.ModeSetuid, fs.ModeSetgid, fs.ModeSticky and the
	// permission bits.
	Mode     fs.FileMode
	Uid, Gid uint32
	// MtimeNs is the node's time in ns since the epoch; zero means the tree's time.
	MtimeNs int64
	// AtimeNs and CtimeNs are the access and status change times; zero
	// means the modification time.
	AtimeNs, CtimeNs int64
	// Size is st_size: bytes of a regular file, the target's length for a
	// symlink, what the file system says for a directory.
	Size int64
	// Nlink is the number of names the node has; zero means 1, or 2 for a
	// directory.
	Nlink uint32
	// Blocks is st_blocks, in 512-byte units whatever BlockSize is.
	Blocks int64
	// BlockSize is st_blksize, the preferred I/O size; zero means 1024,
	// what procfs shows, for every node.
	BlockSize uint32
	// Ino is the node's own inode number, as a file system that stores
	// its nodes has one (ext4's, tmpfs's counter). It must be stable for
	// the node's life and unique among the live nodes of the whole tree a
	// server serves (file systems composed into one tree take disjoint
	// ranges; one that reuses a number gives the new node another
	// Generation), so that every name of a hard link shows the same
	// inode. Zero: the server hashes the node's path and generation.
	// FUSE reserves 1 and 2^64-1: below the root they are hashed too.
	Ino uint64
	// Rdev is a device node's device number as unix.Mkdev makes it.
	Rdev uint64
}

// Node is a file, directory or symlink.
type Node interface {
	Attr() Attr
}

// Generationer is a node whose identity can change while its path stays,
// such as /proc/PID when a pid is reused. Nodes with different generations
// get different inodes.
type Generationer interface {
	Generation() uint64
}

// Dir is a directory.
type Dir interface {
	Node
	// Lookup finds a child; it fails with ErrNotExist.
	Lookup(c *Caller, name string) (Node, error)
	// ReadDir lists the children in the order ls -f shows them. A name
	// Lookup resolves may be missing here: a lookup-only entry, as a
	// visitor's /proc/PID is, or a magic link that a path reaches but a
	// listing does not show (see Entry.LookupOnly).
	ReadDir(c *Caller) ([]Dirent, error)
}

// Dirent is one entry of a directory listing.
type Dirent struct {
	Name string
	Node Node
}

// Symlink is a symbolic link whose target may depend on the caller.
type Symlink interface {
	Node
	Readlink(c *Caller) (string, error)
}

// File is a file that can be opened.
type File interface {
	Node
	Open(c *Caller, flags int) (Handle, error)
}

// Handle is an open file.
type Handle interface {
	// Read fills dst from offset off and returns how many bytes it filled;
	// 0 means end of file.
	Read(c *Caller, dst []byte, off int64) (int, error)
	// Write stores data written at offset off and returns how much it took.
	Write(c *Caller, data []byte, off int64) (int, error)
}

// Seeker is a handle with its own idea of file position, like /dev/kmsg.
type Seeker interface {
	Seek(c *Caller, off int64, whence int) (int64, error)
}

// Errors a view returns; the server passes a wrapped syscall.Errno through as is.
var (
	ErrNotExist = syscall.ENOENT
)

// Errno is the errno a request fails with: the one err carries
// (errno.Of, the one mapping), or EIO for an error that carries none —
// a bug in the view or the kernel, which the server logs as one.
func Errno(err error) syscall.Errno {
	if e, ok := errno.Of(err); ok || err == nil {
		return e
	}
	return syscall.EIO
}

// Caller is who makes a request: its credentials and, found out only when
// a view asks, which process it is as the process sees itself.
type Caller struct {
	Uid, Gid uint32
	// HostPid is the calling thread's id in the server's pid namespace, 0 if unknown.
	HostPid int
	// Ctx is done when the caller can no longer take the answer (it was
	// killed) or the server stops; nil for none.
	Ctx context.Context
	// ThroughMount says the request came through the mount, so the host's
	// kernel has seen what it changes: a tree posts to its Outbox only
	// what changes otherwise (the simulation writing a file), never this.
	ThroughMount bool

	identify func() Identity
	once     sync.Once
	id       Identity
}

// Identity is a calling process as it sees itself: its pid and thread id
// in its own (innermost) pid namespace, and what it runs.
type Identity struct {
	Pid, Tid int
	Comm     string
	Cmdline  []string
	// Start tells apart two processes that had the same host pid.
	Start uint64
}

// NewCaller returns a caller whose identity is known.
func NewCaller(uid, gid uint32, id Identity) *Caller {
	c := &Caller{Uid: uid, Gid: gid, identify: func() Identity { return id }}
	return c
}

// NewLazyCaller returns a caller whose identity is looked up by identify the first time a view needs it.
func NewLazyCaller(uid, gid uint32, hostPid int, identify func() Identity) *Caller {
	return &Caller{Uid: uid, Gid: gid, HostPid: hostPid, identify: identify}
}

// Identity returns who the caller is.
func (c *Caller) Identity() Identity {
	c.once.Do(func() {
		if c.identify != nil {
			c.id = c.identify()
		}
	})
	return c.id
}

// Context is done when the caller was killed or the server stops: a
// write that waits for its turn gives up then.
func (c *Caller) Context() context.Context {
	if c == nil || c.Ctx == nil {
		return context.Background()
	}
	return c.Ctx
}

// IsRoot says whether the caller has uid 0.
func (c *Caller) IsRoot() bool { return c.Uid == 0 }

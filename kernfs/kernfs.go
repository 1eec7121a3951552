// Package kernfs is the shape of ksim's file trees, free of FUSE: a tree of
// directories, generated files and symlinks, each answering for the caller
// that asks. The views (procfs, sysfs, devfs) build trees of these nodes;
// package fusemount serves a tree over FUSE, and tests walk it directly.
package kernfs

import (
	"context"
	"errors"
	"io/fs"
	"sync"
	"syscall"
)

// Attr is what stat shows of a node.
type Attr struct {
	// Mode holds the type bits (fs.ModeDir, fs.ModeSymlink, none for a
	// regular file) and the permission bits.
	Mode     fs.FileMode
	Uid, Gid uint32
	// MtimeNs is the node's time in ns since the epoch; zero means the tree's time.
	MtimeNs int64
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
	// ReadDir lists the children in the order ls -f shows them.
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

// Errno finds the errno an error stands for: a wrapped syscall.Errno, or EIO.
func Errno(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	var e syscall.Errno
	if errors.As(err, &e) {
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
	// Ctx is done when the request is interrupted (FUSE INTERRUPT); nil for none.
	Ctx context.Context

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

// Context is done when the request is interrupted: a write that waits
// for its turn gives up then.
func (c *Caller) Context() context.Context {
	if c == nil || c.Ctx == nil {
		return context.Background()
	}
	return c.Ctx
}

// IsRoot says whether the caller has uid 0.
func (c *Caller) IsRoot() bool { return c.Uid == 0 }

// Package fusemount serves a kernfs tree over FUSE with go-fuse. It is the
// only FUSE code in ksim: the views never see it.
package fusemount

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"

	"ksim/kernfs"
)

// Options configure a mount.
type Options struct {
	// AllowOther lets users other than the mounter in (the allow_other option).
	AllowOther bool
	// TimeNs is the time files show when their node has none (boot time).
	TimeNs int64
	// Debug logs every FUSE request.
	Debug bool
}

// cacheFor is how long the kernel may keep entries and attributes of a
// static table; dynamic directories (/proc itself, per-task ones) are
// never cached, because what a name means there changes with the caller
// and with time.
const cacheFor = time.Second

// Server is a mounted tree.
type Server struct {
	dir    string
	server *fuse.Server
}

// Mount serves root at dir. A stale mount left at dir by a killed server
// is detached first.
func Mount(dir string, root kernfs.Dir, opt Options) (*Server, error) {
	if err := DetachStale(dir); err != nil {
		return nil, err
	}
	s := &state{timeNs: opt.TimeNs}
	rootNode := &node{s: s, kn: root, cacheable: true}
	mo := fuse.MountOptions{
		AllowOther:  opt.AllowOther,
		Name:        "ksim",
		FsName:      "ksim",
		DirectMount: true,
		Debug:       opt.Debug,
		// The kernel checks permissions from the modes and owners we report,
		// so non-root users get EACCES as on Linux.
		Options: []string{"default_permissions"},
	}
	srv, err := gofs.Mount(dir, rootNode, &gofs.Options{MountOptions: mo})
	if err != nil {
		msg := strings.TrimSpace(err.Error()) // fusermount's message ends in a newline
		if os.Geteuid() != 0 && syscall.Access("/dev/fuse", 6 /* R_OK|W_OK */) != nil {
			msg += " (this user cannot open /dev/fuse; mount as root)"
		}
		return nil, fmt.Errorf("mount %s: %s", dir, msg)
	}
	return &Server{dir: dir, server: srv}, nil
}

// Wait blocks until the file system is unmounted.
func (s *Server) Wait() { s.server.Wait() }

// Unmount detaches the mount; if it is busy, it detaches lazily (MNT_DETACH).
func (s *Server) Unmount() error {
	if err := s.server.Unmount(); err != nil {
		if derr := syscall.Unmount(s.dir, syscall.MNT_DETACH); derr != nil {
			return fmt.Errorf("unmount %s: %w (lazy detach: %v)", s.dir, err, derr)
		}
	}
	return nil
}

// DetachStale detaches dead FUSE mounts at dir, those whose server is
// gone so that any request fails with ENOTCONN (ECONNABORTED while the
// kernel is still tearing the connection down), as a killed daemon leaves
// them. A live FUSE mount at dir is an error: one server per mount point.
func DetachStale(dir string) error {
	for range 16 { // stale mounts may be stacked
		if !fuseMountedAt(dir) {
			return nil
		}
		// Attributes may be cached, so ask for something only the server can answer.
		f, err := os.Open(dir)
		if err == nil {
			_, err = f.Readdirnames(1)
			f.Close()
		}
		if !errors.Is(err, syscall.ENOTCONN) && !errors.Is(err, syscall.ECONNABORTED) {
			return fmt.Errorf("%s: a live FUSE file system is already mounted there", dir)
		}
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("detach stale mount at %s: %w", dir, err)
		}
	}
	return fmt.Errorf("%s: too many stale mounts", dir)
}

// fuseMountedAt says whether the top mount at dir is a FUSE mount.
func fuseMountedAt(dir string) bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	fuse := false
	for _, line := range strings.Split(string(b), "\n") {
		// mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		fields := strings.Fields(line)
		if len(fields) < 5 || unescapeMountPath(fields[4]) != dir {
			continue
		}
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) {
				fuse = strings.HasPrefix(fields[i+1], "fuse") // the last listed is the top one
			}
		}
	}
	return fuse
}

// unescapeMountPath undoes mountinfo's octal escapes of space, tab, newline and backslash.
func unescapeMountPath(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// state is shared by all nodes of a mount.
type state struct {
	timeNs int64
}

// node wraps one kernfs node as a go-fuse inode.
type node struct {
	gofs.Inode
	s  *state
	kn kernfs.Node
	// cacheable says the kernel may cache this node's entry and attributes:
	// its parent is a static table.
	cacheable bool
}

var (
	_ gofs.NodeGetattrer  = (*node)(nil)
	_ gofs.NodeLookuper   = (*node)(nil)
	_ gofs.NodeReaddirer  = (*node)(nil)
	_ gofs.NodeOpener     = (*node)(nil)
	_ gofs.NodeReadlinker = (*node)(nil)
	_ gofs.NodeSetattrer  = (*node)(nil)
	_ gofs.NodeUnlinker   = (*node)(nil)
	_ gofs.NodeRmdirer    = (*node)(nil)
	_ gofs.NodeMkdirer    = (*node)(nil)
	_ gofs.NodeCreater    = (*node)(nil)
	_ gofs.NodeRenamer    = (*node)(nil)
	_ gofs.NodeSymlinker  = (*node)(nil)
	_ gofs.NodeLinker     = (*node)(nil)
	_ gofs.NodeMknoder    = (*node)(nil)
)

func (n *node) timeout() time.Duration {
	if n.cacheable {
		return cacheFor
	}
	return 0
}

func (n *node) fillAttr(out *fuse.Attr) {
	a := n.kn.Attr()
	mode := uint32(a.Mode.Perm())
	nlink := uint32(1)
	switch {
	case a.Mode&fs.ModeDir != 0:
		mode |= syscall.S_IFDIR
		nlink = 2
	case a.Mode&fs.ModeSymlink != 0:
		mode |= syscall.S_IFLNK
	default:
		mode |= syscall.S_IFREG
	}
	t := a.MtimeNs
	if t == 0 {
		t = n.s.timeNs
	}
	out.Mode, out.Nlink, out.Uid, out.Gid = mode, nlink, a.Uid, a.Gid
	out.Ino = n.StableAttr().Ino
	out.Size = 0 // generated files are sized by reading them, as in /proc
	out.Blksize = 1024
	sec, nsec := uint64(t/1e9), uint32(t%1e9)
	out.Atime, out.Mtime, out.Ctime = sec, sec, sec
	out.Atimensec, out.Mtimensec, out.Ctimensec = nsec, nsec, nsec
}

// Getattr implements gofs.NodeGetattrer.
func (n *node) Getattr(_ context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fillAttr(&out.Attr)
	out.SetTimeout(n.timeout())
	return 0
}

// Setattr accepts the truncation that `echo x > file` (O_TRUNC) sends
// before writing, and refuses other changes.
func (n *node) Setattr(_ context.Context, _ gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if in.Valid&^(fuse.FATTR_SIZE|fuse.FATTR_FH|fuse.FATTR_LOCKOWNER|fuse.FATTR_ATIME|fuse.FATTR_MTIME|
		fuse.FATTR_ATIME_NOW|fuse.FATTR_MTIME_NOW|fuse.FATTR_CTIME) != 0 {
		return syscall.EPERM
	}
	n.fillAttr(&out.Attr)
	out.SetTimeout(n.timeout())
	return 0
}

// caller describes who makes a request.
func caller(ctx context.Context) *kernfs.Caller {
	c, ok := fuse.FromContext(ctx)
	if !ok {
		return kernfs.NewCaller(0, 0, kernfs.Identity{})
	}
	pid := int(c.Pid)
	return kernfs.NewLazyCaller(c.Uid, c.Gid, pid, func() kernfs.Identity { return identify(pid) })
}

// ino gives a node a stable inode number from where it is and which
// incarnation it is, so Lookup and Readdir agree and a reused pid is a
// new inode.
func ino(parent uint64, name string, gen uint64) uint64 {
	h := fnv.New64a()
	var buf [16]byte
	for i := range 8 {
		buf[i] = byte(parent >> (8 * i))
		buf[8+i] = byte(gen >> (8 * i))
	}
	h.Write(buf[:])
	h.Write([]byte(name))
	n := h.Sum64()
	if n <= fuse.FUSE_ROOT_ID || n == ^uint64(0) {
		n = 2
	}
	return n
}

func generation(kn kernfs.Node) uint64 {
	if g, ok := kn.(kernfs.Generationer); ok {
		return g.Generation()
	}
	return 0
}

func typeBits(kn kernfs.Node) uint32 {
	m := kn.Attr().Mode
	switch {
	case m&fs.ModeDir != 0:
		return syscall.S_IFDIR
	case m&fs.ModeSymlink != 0:
		return syscall.S_IFLNK
	}
	return syscall.S_IFREG
}

// Lookup implements gofs.NodeLookuper.
func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	dir, ok := n.kn.(kernfs.Dir)
	if !ok {
		return nil, syscall.ENOTDIR
	}
	kn, err := dir.Lookup(caller(ctx), name)
	if err != nil {
		return nil, kernfs.Errno(err)
	}
	_, static := n.kn.(*kernfs.StaticDir)
	gen := generation(kn)
	id := gofs.StableAttr{Mode: typeBits(kn), Ino: ino(n.StableAttr().Ino, name, gen), Gen: gen}
	child := n.NewInode(ctx, &node{s: n.s, kn: kn, cacheable: static}, id)
	cn := child.Operations().(*node)
	cn.fillAttr(&out.Attr)
	out.SetEntryTimeout(cn.timeout())
	out.SetAttrTimeout(cn.timeout())
	return child, 0
}

// Readdir implements gofs.NodeReaddirer.
func (n *node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	dir, ok := n.kn.(kernfs.Dir)
	if !ok {
		return nil, syscall.ENOTDIR
	}
	ents, err := dir.ReadDir(caller(ctx))
	if err != nil {
		return nil, kernfs.Errno(err)
	}
	// Linux lists . and .. first, and tools count on it: procps sysctl skips
	// the first two entries unseen.
	self := n.StableAttr().Ino
	parent := self
	if _, p := n.Parent(); p != nil {
		parent = p.StableAttr().Ino
	}
	list := make([]fuse.DirEntry, 0, len(ents)+2)
	list = append(list,
		fuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR, Ino: self},
		fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR, Ino: parent})
	for _, e := range ents {
		list = append(list, fuse.DirEntry{
			Name: e.Name,
			Mode: typeBits(e.Node),
			Ino:  ino(n.StableAttr().Ino, e.Name, generation(e.Node)),
		})
	}
	return gofs.NewListDirStream(list), 0
}

// Readlink implements gofs.NodeReadlinker.
func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	l, ok := n.kn.(kernfs.Symlink)
	if !ok {
		return nil, syscall.EINVAL
	}
	target, err := l.Readlink(caller(ctx))
	if err != nil {
		return nil, kernfs.Errno(err)
	}
	return []byte(target), 0
}

// Open implements gofs.NodeOpener. Every file is direct I/O: the kernel
// neither caches its pages nor trusts its size, so each read reaches us.
func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	f, ok := n.kn.(kernfs.File)
	if !ok {
		return nil, 0, syscall.EISDIR
	}
	h, err := f.Open(caller(ctx), int(flags))
	if err != nil {
		return nil, 0, kernfs.Errno(err)
	}
	return &handle{h: h}, fuse.FOPEN_DIRECT_IO, 0
}

// The tree's shape is the kernel's: nothing can be created, removed or
// renamed in it (vfs_* return EPERM where an inode lacks the operation).
func (n *node) Unlink(context.Context, string) syscall.Errno { return syscall.EPERM }
func (n *node) Rmdir(context.Context, string) syscall.Errno  { return syscall.EPERM }
func (n *node) Mkdir(context.Context, string, uint32, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *node) Create(context.Context, string, uint32, uint32, *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EACCES
}
func (n *node) Rename(context.Context, string, gofs.InodeEmbedder, string, uint32) syscall.Errno {
	return syscall.EPERM
}
func (n *node) Symlink(context.Context, string, string, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *node) Link(context.Context, gofs.InodeEmbedder, string, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
func (n *node) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// handle is an open file.
type handle struct{ h kernfs.Handle }

var (
	_ gofs.FileReader  = (*handle)(nil)
	_ gofs.FileWriter  = (*handle)(nil)
	_ gofs.FileLseeker = (*handle)(nil)
)

// Read implements gofs.FileReader: never more than the read asked for.
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	k, err := h.h.Read(caller(ctx), dest, off)
	if err != nil {
		return nil, kernfs.Errno(err)
	}
	return fuse.ReadResultData(dest[:k]), 0
}

// Write implements gofs.FileWriter.
func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	k, err := h.h.Write(caller(ctx), data, off)
	if err != nil {
		return 0, kernfs.Errno(err)
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
	pos, err := s.Seek(caller(ctx), int64(off), int(whence))
	if err != nil {
		return 0, kernfs.Errno(err)
	}
	return uint64(pos), 0
}

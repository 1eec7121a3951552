// Package fusemount serves a kernfs tree over FUSE with go-fuse. It is the
// only FUSE code in ksim: the views never see it.
package fusemount

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

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
	// Log receives a line for each refused write, with its reason: the
	// caller gets only the errno, as on Linux. Nil logs nothing.
	Log *slog.Logger
	// Outbox carries the tree's changes; the server tells the host's
	// caches about them from a goroutine of its own. Nil: none change.
	Outbox *kernfs.Outbox
}

// cacheFor is how long the kernel may keep entries and attributes of a
// directory that caches entries (kernfs.EntryCacher: static tables, and
// tables whose view posts their changes to the outbox); dynamic
// directories (/proc itself, per-task ones) are never cached, because
// what a name means there changes with the caller and with time.
const cacheFor = time.Second

// Server is a mounted tree.
type Server struct {
	dir    string
	server *fuse.Server
	outbox *kernfs.Outbox
}

// Mount serves root at dir. A stale mount left at dir by a killed server
// is detached first; a mount that fails leaves nothing behind.
func Mount(dir string, root kernfs.Dir, opt Options) (*Server, error) {
	if err := CheckMountpoint(dir); err != nil {
		return nil, err
	}
	if err := DetachStale(dir); err != nil {
		return nil, err
	}
	s := &state{timeNs: opt.TimeNs, log: opt.Log, outbox: opt.Outbox, dirs: map[kernfs.Dir]*gofs.Inode{}}
	rootNode := &rootNode{node: node{s: s, kn: root, cacheable: true}, pid: os.Getpid()}
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
		if t, _ := topMount(dir); t == fsType {
			// The mount(2) went through and what followed failed: take it back,
			// or a dead mount stays (DetachStale left no FUSE mount here).
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
		msg := strings.TrimSpace(err.Error()) // fusermount's message ends in a newline
		if os.Geteuid() != 0 && syscall.Access("/dev/fuse", 6 /* R_OK|W_OK */) != nil {
			msg += " (this user cannot open /dev/fuse; mount as root)"
		}
		return nil, fmt.Errorf("mount %s: %s", dir, msg)
	}
	if opt.Outbox != nil {
		s.dirs[root] = rootNode.EmbeddedInode()
		go opt.Outbox.Serve(s.deliver)
	}
	return &Server{dir: dir, server: srv, outbox: opt.Outbox}, nil
}

// Wait blocks until the file system is unmounted.
func (s *Server) Wait() {
	s.server.Wait()
	if s.outbox != nil {
		s.outbox.Close()
	}
}

// Unmount detaches the mount and returns once the server has stopped
// serving it. A busy mount is detached lazily (MNT_DETACH) and
// ErrDetachedBusy returned: its users keep it until this process exits.
// So is a mount someone else detached (Stop does when it is busy).
func (s *Server) Unmount() error {
	if t, _ := topMount(s.dir); t != fsType {
		return ErrDetachedBusy
	}
	err := s.server.Unmount()
	if err == nil {
		return nil
	}
	if derr := syscall.Unmount(s.dir, syscall.MNT_DETACH); derr != nil {
		return fmt.Errorf("unmount %s: %w (lazy detach: %v)", s.dir, err, derr)
	}
	return ErrDetachedBusy
}

// state is shared by all nodes of a mount.
type state struct {
	timeNs int64
	log    *slog.Logger
	outbox *kernfs.Outbox

	// dirs are the inodes of directories whose entries the host caches,
	// for the outbox's changes to find; they go when the host forgets them.
	mu   sync.Mutex
	dirs map[kernfs.Dir]*gofs.Inode
}

// deliver tells the host's kernel that an entry changed
// (FUSE_NOTIFY_INVAL_ENTRY). It runs on the outbox's goroutine, never in
// a request handler or under a lock: the host may have to wait for a
// request of ours to finish before it can drop the entry.
func (s *state) deliver(c kernfs.Change) {
	s.mu.Lock()
	in := s.dirs[c.Dir]
	s.mu.Unlock()
	if in == nil {
		return // the host holds nothing of it
	}
	// ENOENT: the host had no entry by that name; nothing to drop.
	if errno := in.NotifyEntry(c.Name); errno != 0 && errno != syscall.ENOENT && s.log != nil {
		s.log.Warn("notify entry", "dir", in.Path(nil), "name", c.Name, "errno", unix.ErrnoName(errno))
	}
}

// remember records the inode of a directory whose entries the host caches.
func (s *state) remember(n *node) {
	if dir, ok := n.kn.(kernfs.EntryCacher); ok && dir.CachesEntries() && s.outbox != nil {
		s.mu.Lock()
		s.dirs[dir] = n.EmbeddedInode()
		s.mu.Unlock()
	}
}

// OnForget implements gofs.NodeOnForgetter: the host has dropped the inode.
func (n *node) OnForget() {
	if dir, ok := n.kn.(kernfs.Dir); ok {
		n.s.mu.Lock()
		if n.s.dirs[dir] == n.EmbeddedInode() {
			delete(n.s.dirs, dir)
		}
		n.s.mu.Unlock()
	}
}

// refused logs a write the tree refused, with the reason Linux would keep
// to itself: the caller sees only the errno.
func (s *state) refused(ctx context.Context, n *node, op string, err error) {
	if s.log == nil {
		return
	}
	errno := kernfs.Errno(err)
	pid := 0
	if c, ok := fuse.FromContext(ctx); ok {
		pid = int(c.Pid)
	}
	what := op + " refused"
	if errno == syscall.EINTR {
		what = op + " interrupted" // the writer gave up waiting: nothing was refused
	}
	s.log.Warn(what, "file", n.Path(nil), "errno", unix.ErrnoName(errno), "reason", reason(err, errno), "pid", pid)
}

// reason is an error's text without the errno's own words at its end.
func reason(err error, errno syscall.Errno) string {
	msg := err.Error()
	if r := strings.TrimSuffix(msg, ": "+errno.Error()); r != "" {
		return r
	}
	return msg
}

// rootNode is the mount's root: it answers ServerPidXattr.
type rootNode struct {
	node
	pid int
}

var _ gofs.NodeGetxattrer = (*rootNode)(nil)

// Getxattr implements gofs.NodeGetxattrer.
func (r *rootNode) Getxattr(_ context.Context, attr string, dest []byte) (uint32, syscall.Errno) {
	if attr != ServerPidXattr {
		return 0, syscall.ENODATA
	}
	v := strconv.Itoa(r.pid)
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

// node wraps one kernfs node as a go-fuse inode.
type node struct {
	gofs.Inode
	s  *state
	kn kernfs.Node
	// cacheable says the kernel may cache this node's entry and attributes:
	// its parent caches entries (kernfs.EntryCacher).
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
	kc := kernfs.NewLazyCaller(c.Uid, c.Gid, pid, func() kernfs.Identity { return identify(pid) })
	kc.Ctx = ctx
	return kc
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
	parent, ok := n.kn.(kernfs.EntryCacher)
	cacheable := ok && parent.CachesEntries()
	gen := generation(kn)
	id := gofs.StableAttr{Mode: typeBits(kn), Ino: ino(n.StableAttr().Ino, name, gen), Gen: gen}
	child := n.NewInode(ctx, &node{s: n.s, kn: kn, cacheable: cacheable}, id)
	cn := child.Operations().(*node)
	n.s.remember(cn)
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
		if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
			n.s.refused(ctx, n, "open for write", err)
		}
		return nil, 0, kernfs.Errno(err)
	}
	return &handle{n: n, h: h}, fuse.FOPEN_DIRECT_IO, 0
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

// handle is an open file of node n.
type handle struct {
	n *node
	h kernfs.Handle
}

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
	// What the write changed leaves the host's caches before it returns, so
	// a script that writes and then looks never sees the old entries.
	_ = h.n.s.outbox.Flush(ctx)
	if err != nil {
		h.n.s.refused(ctx, h.n, "write", err)
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

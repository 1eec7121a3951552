// Package fusemount serves a kernfs tree over FUSE with go-fuse. It is the
// only FUSE code in ksim: the views never see it.
package fusemount

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
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

	"ksim/kernelsim/errno"
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
	// A mount that fails closes it.
	Outbox *kernfs.Outbox
}

// cacheFor is how long the kernel may keep entries and attributes of a
// directory that caches entries (kernfs.EntryCacher: static tables,
// tables whose view posts their changes to the outbox, and file systems
// such as memfs, which post what changes other than through the mount);
// dynamic directories (/proc itself, per-task ones) are never cached,
// because what a name means there changes with the caller and with time.
const cacheFor = time.Second

// Server is a mounted tree.
type Server struct {
	dir    string
	server *fuse.Server
	outbox *kernfs.Outbox
	state  *state
}

// Mount serves root at dir. A stale mount left at dir by a killed server
// is detached first; a mount that fails leaves nothing behind.
func Mount(dir string, root kernfs.Dir, opt Options) (*Server, error) {
	srv, err := mount(dir, root, opt)
	if err != nil && opt.Outbox != nil {
		opt.Outbox.Close() // no server will deliver its changes: nobody may wait for one
	}
	return srv, err
}

func mount(dir string, root kernfs.Dir, opt Options) (*Server, error) {
	if err := CheckMountpoint(dir); err != nil {
		return nil, err
	}
	if err := DetachStale(dir); err != nil {
		return nil, err
	}
	s := &state{timeNs: opt.TimeNs, log: opt.Log, outbox: opt.Outbox, stop: newStopSignal(), dirs: map[kernfs.Dir]*gofs.Inode{}, inodes: map[uint64]*gofs.Inode{}}
	rootNode := &rootNode{node: node{s: s, kn: root, cacheable: true}, pid: os.Getpid()}
	var rootID *gofs.StableAttr
	if a := root.Attr(); a.Ino != 0 && a.Ino != ^uint64(0) {
		// A file system's root keeps its own number (FUSE's node id stays 1).
		rootID = &gofs.StableAttr{Ino: a.Ino, Gen: generation(root)}
		rootNode.ownIno = true
	}
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
	if opt.Outbox != nil {
		// Kept from now on: the host may cache as soon as the mount is there.
		opt.Outbox.Start()
	}
	// NullPermissions: a mode of 0 (chmod 0) is shown as it is, not as
	// go-fuse's default 0644.
	srv, err := gofs.Mount(dir, rootNode, &gofs.Options{MountOptions: mo, RootStableAttr: rootID, NullPermissions: true})
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
	s.remember(&rootNode.node)
	if opt.Outbox != nil {
		s.mu.Lock() // requests are being served already
		s.dirs[root] = rootNode.EmbeddedInode()
		s.mu.Unlock()
		go opt.Outbox.Serve(s.deliver)
	}
	return &Server{dir: dir, server: srv, outbox: opt.Outbox, state: s}, nil
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
//
// The server is stopping from here on: requests in flight, and those the
// users of a detached mount still make, end as interrupted (an advance
// after its slice) instead of keeping the server alive. If the mount
// stays (another error), requests run to their end again.
func (s *Server) Unmount() error {
	s.state.stop.stop()
	err := s.unmount()
	if err != nil && !errors.Is(err, ErrDetachedBusy) {
		s.state.stop.resume()
	}
	return err
}

func (s *Server) unmount() error {
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
	// stop ends the kernel model's contexts of requests when the server
	// stops (see interrupt.go).
	stop *stopSignal

	mu sync.Mutex
	// dirs are the inodes of directories whose entries the host caches,
	// for the outbox's entry changes to find; they go when the host
	// forgets them.
	dirs map[kernfs.Dir]*gofs.Inode
	// inodes are the inodes of nodes with their own inode numbers, by
	// number: a further name of a hard link finds its inode here, and a
	// content change the inode to invalidate.
	inodes map[uint64]*gofs.Inode
}

// deliver tells the host's kernel that an entry changed
// (FUSE_NOTIFY_INVAL_ENTRY) or a node's content did
// (FUSE_NOTIFY_INVAL_INODE). It runs on the outbox's goroutine, never in
// a request handler or under a lock: the host may have to wait for a
// request of ours to finish before it can drop the entry, or for a page
// lock a write holds before it can drop the pages.
func (s *state) deliver(c kernfs.Change) {
	if c.Node != nil {
		s.deliverContent(c.Node)
		return
	}
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

// deliverContent drops the host's attributes and cached pages of kn:
// offset 0 and length 0 mean all of them (fuse_reverse_inval_inode).
func (s *state) deliverContent(kn kernfs.Node) {
	ino := kn.Attr().Ino
	s.mu.Lock()
	in := s.inodes[ino]
	s.mu.Unlock()
	if in == nil {
		return // not content-cached, or the host holds nothing of it
	}
	// ENOENT: the host had already forgotten the inode.
	if errno := in.NotifyContent(0, 0); errno != 0 && errno != syscall.ENOENT && s.log != nil {
		s.log.Warn("notify content", "file", in.Path(nil), "errno", unix.ErrnoName(errno))
	}
}

// remember records the inode of a directory whose entries the host
// caches, and of a node with its own inode number.
func (s *state) remember(n *node) {
	in := n.EmbeddedInode()
	s.mu.Lock()
	defer s.mu.Unlock()
	if dir, ok := n.kn.(kernfs.EntryCacher); ok && dir.CachesEntries() && s.outbox != nil {
		s.dirs[dir] = in
	}
	if n.ownIno {
		s.inodes[in.StableAttr().Ino] = in
	}
}

// known returns the inode the server holds for a node with its own
// inode number, nil if none.
func (s *state) known(id gofs.StableAttr) *gofs.Inode {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.inodes[id.Ino]; in != nil && in.StableAttr() == id {
		return in
	}
	return nil
}

// OnForget implements gofs.NodeOnForgetter: the host has dropped the inode.
func (n *node) OnForget() {
	in := n.EmbeddedInode()
	n.s.mu.Lock()
	defer n.s.mu.Unlock()
	if dir, ok := n.kn.(kernfs.EntryCacher); ok && n.s.dirs[dir] == in {
		delete(n.s.dirs, dir)
	}
	if ino := in.StableAttr().Ino; n.ownIno && n.s.inodes[ino] == in {
		delete(n.s.inodes, ino)
	}
}

// errno is the errno a request on n fails with (kernfs.Errno). An error
// that carries none is a bug in the view or the kernel model: the caller
// gets EIO, and the log says so, so that no refusal is a silent EIO.
func (n *node) errno(err error) syscall.Errno {
	if _, ok := errno.Of(err); !ok && err != nil && n.s.log != nil {
		n.s.log.Error("BUG: error without an errno, failing with EIO", "file", n.Path(nil), "err", err)
	}
	return kernfs.Errno(err)
}

// refused logs a write the tree refused, with the reason Linux would keep
// to itself: the caller sees only the errno.
func (s *state) refused(ctx context.Context, n *node, op string, err error) {
	if s.log == nil {
		return
	}
	code := kernfs.Errno(err)
	pid := 0
	if c, ok := fuse.FromContext(ctx); ok {
		pid = int(c.Pid)
	}
	what := op + " refused"
	if code == syscall.EINTR {
		what = op + " interrupted" // the writer was killed while it waited: nothing was refused
	}
	s.log.Warn(what, "file", n.Path(nil), "errno", unix.ErrnoName(code), "reason", reason(err, code), "pid", pid)
}

// reason is an error's text without the errno's own words at its end.
func reason(err error, code syscall.Errno) string {
	msg := err.Error()
	if r := strings.TrimSuffix(msg, ": "+code.Error()); r != "" {
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
	// ownIno says the inode number is the node's own (kernfs.Attr.Ino),
	// not a hash of its path.
	ownIno bool
}

var (
	_ gofs.NodeGetattrer     = (*node)(nil)
	_ gofs.NodeLookuper      = (*node)(nil)
	_ gofs.NodeReaddirer     = (*node)(nil)
	_ gofs.NodeOpener        = (*node)(nil)
	_ gofs.NodeReadlinker    = (*node)(nil)
	_ gofs.NodeSetattrer     = (*node)(nil)
	_ gofs.NodeUnlinker      = (*node)(nil)
	_ gofs.NodeRmdirer       = (*node)(nil)
	_ gofs.NodeMkdirer       = (*node)(nil)
	_ gofs.NodeCreater       = (*node)(nil)
	_ gofs.NodeRenamer       = (*node)(nil)
	_ gofs.NodeSymlinker     = (*node)(nil)
	_ gofs.NodeLinker        = (*node)(nil)
	_ gofs.NodeMknoder       = (*node)(nil)
	_ gofs.NodeStatfser      = (*node)(nil)
	_ gofs.NodeFsyncer       = (*node)(nil)
	_ gofs.NodeSetxattrer    = (*node)(nil)
	_ gofs.NodeRemovexattrer = (*node)(nil)
)

// opsOf is the node behind a go-fuse inode of this server.
func opsOf(in *gofs.Inode) *node {
	switch n := in.Operations().(type) {
	case *node:
		return n
	case *rootNode:
		return &n.node
	}
	panic(fmt.Sprintf("fusemount: inode of type %T", in.Operations())) // only ours are in the tree
}

func (n *node) timeout() time.Duration {
	if n.cacheable {
		return cacheFor
	}
	return 0
}

func (n *node) fillAttr(out *fuse.Attr) {
	a := n.kn.Attr()
	nlink := a.Nlink
	mtime, atime, ctime := a.MtimeNs, a.AtimeNs, a.CtimeNs
	if a.Ino == 0 { // a generated node: zero fields mean what they always have
		if nlink == 0 {
			nlink = 1
			if a.Mode.IsDir() {
				nlink = 2
			}
		}
		if mtime == 0 {
			mtime = n.s.timeNs
		}
		if atime == 0 {
			atime = mtime
		}
		if ctime == 0 {
			ctime = mtime
		}
	}
	out.Mode, out.Nlink, out.Uid, out.Gid = kernfs.UnixMode(a.Mode), nlink, a.Uid, a.Gid
	out.Ino = n.StableAttr().Ino
	out.Size = uint64(max(a.Size, 0)) // generated files: 0, sized by reading them, as in /proc
	out.Blocks = uint64(max(a.Blocks, 0))
	out.Blksize = a.BlockSize
	if out.Blksize == 0 {
		out.Blksize = 1024
	}
	out.Rdev = encodeDev(a.Rdev)
	out.Atime, out.Atimensec = splitNs(atime)
	out.Mtime, out.Mtimensec = splitNs(mtime)
	out.Ctime, out.Ctimensec = splitNs(ctime)
}

// splitNs is a time as FUSE carries it: seconds, which the kernel reads
// as signed, and nanoseconds within them.
func splitNs(ns int64) (uint64, uint32) {
	sec, nsec := ns/1e9, ns%1e9
	if nsec < 0 { // before the epoch: the nanoseconds still count up
		sec, nsec = sec-1, nsec+1e9
	}
	return uint64(sec), uint32(nsec)
}

// encodeDev is a device number as FUSE carries it, the kernel's 32-bit
// new_encode_dev (include/linux/kdev_t.h): 12 bits of major, 20 of minor.
func encodeDev(rdev uint64) uint32 {
	major, minor := unix.Major(rdev), unix.Minor(rdev)
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}

// decodeDev is new_decode_dev, encodeDev's inverse.
func decodeDev(dev uint32) uint64 {
	major := (dev & 0xfff00) >> 8
	minor := dev&0xff | (dev>>12)&0xfff00
	return unix.Mkdev(major, minor)
}

// Getattr implements gofs.NodeGetattrer.
func (n *node) Getattr(_ context.Context, _ gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	n.fillAttr(&out.Attr)
	out.SetTimeout(n.timeout())
	return 0
}

// caller describes who makes a request. The request comes through the
// mount, so the host's kernel sees what it changes. Its context is not
// go-fuse's ctx, which any signal ends, but one that only a fatal signal
// or the server stopping ends (requestContext, interrupt.go). release
// ends what that context runs: call it when the handler returns.
func (s *state) caller(ctx context.Context) (c *kernfs.Caller, release func()) {
	fc, ok := fuse.FromContext(ctx)
	if !ok {
		kc := kernfs.NewCaller(0, 0, kernfs.Identity{})
		kc.ThroughMount = true
		return kc, func() {}
	}
	pid := int(fc.Pid)
	kc := kernfs.NewLazyCaller(fc.Uid, fc.Gid, pid, func() kernfs.Identity { return identify(pid) })
	rc := newRequestContext(ctx, pid, s.stop.channel())
	kc.Ctx = rc
	kc.ThroughMount = true
	return kc, rc.release
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

// ownIno says a node's own inode number can be used below the root: FUSE
// reserves the root's id and the all-ones one.
func ownIno(ino uint64) bool { return ino > fuse.FUSE_ROOT_ID && ino != ^uint64(0) }

func generation(kn kernfs.Node) uint64 {
	if g, ok := kn.(kernfs.Generationer); ok {
		return g.Generation()
	}
	return 0
}

// childID is the identity of kn, named name in n: its own inode number if
// it has one, else a hash of where it is. go-fuse keeps one inode per
// identity, so two names of a hard link are one inode to the host.
func (n *node) childID(name string, kn kernfs.Node, a kernfs.Attr) (id gofs.StableAttr, own bool) {
	gen := generation(kn)
	id = gofs.StableAttr{Mode: kernfs.UnixMode(a.Mode) & syscall.S_IFMT, Gen: gen}
	if ownIno(a.Ino) {
		id.Ino = a.Ino
		return id, true
	}
	id.Ino = ino(n.StableAttr().Ino, name, gen)
	return id, false
}

// child returns the inode for kn, named name in n: the one the server
// already holds for that identity, else a new one. (go-fuse would drop a
// new one for a known identity anyway; taking the known one first keeps
// what remember records the inode the host actually holds.)
func (n *node) child(ctx context.Context, name string, kn kernfs.Node) *node {
	id, own := n.childID(name, kn, kn.Attr())
	var in *gofs.Inode
	if ch := n.GetChild(name); ch != nil && ch.StableAttr() == id {
		in = ch
	} else if own {
		in = n.s.known(id)
	}
	if in == nil {
		parent, ok := n.kn.(kernfs.EntryCacher)
		cacheable := ok && parent.CachesEntries()
		in = n.NewInode(ctx, &node{s: n.s, kn: kn, cacheable: cacheable, ownIno: own}, id)
	}
	cn := opsOf(in)
	n.s.remember(cn)
	return cn
}

// entryOut fills what the host learns of a new or found child.
func (n *node) entryOut(out *fuse.EntryOut) {
	n.fillAttr(&out.Attr)
	out.SetEntryTimeout(n.timeout())
	out.SetAttrTimeout(n.timeout())
}

// Lookup implements gofs.NodeLookuper.
func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	dir, ok := n.kn.(kernfs.Dir)
	if !ok {
		return nil, syscall.ENOTDIR
	}
	c, release := n.s.caller(ctx)
	defer release()
	kn, err := dir.Lookup(c, name)
	if err != nil {
		return nil, n.errno(err)
	}
	cn := n.child(ctx, name, kn)
	cn.entryOut(out)
	return cn.EmbeddedInode(), 0
}

// Readdir implements gofs.NodeReaddirer.
func (n *node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	dir, ok := n.kn.(kernfs.Dir)
	if !ok {
		return nil, syscall.ENOTDIR
	}
	c, release := n.s.caller(ctx)
	defer release()
	ents, err := dir.ReadDir(c)
	if err != nil {
		return nil, n.errno(err)
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
		id, _ := n.childID(e.Name, e.Node, e.Node.Attr())
		list = append(list, fuse.DirEntry{Name: e.Name, Mode: id.Mode, Ino: id.Ino})
	}
	return gofs.NewListDirStream(list), 0
}

// Readlink implements gofs.NodeReadlinker.
func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	l, ok := n.kn.(kernfs.Symlink)
	if !ok {
		return nil, syscall.EINVAL
	}
	c, release := n.s.caller(ctx)
	defer release()
	target, err := l.Readlink(c)
	if err != nil {
		return nil, n.errno(err)
	}
	return []byte(target), 0
}

// Open implements gofs.NodeOpener. The handle chooses how the host
// caches the file (see handleFor).
func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	f, ok := n.kn.(kernfs.File)
	if !ok {
		return nil, 0, syscall.EISDIR
	}
	c, release := n.s.caller(ctx)
	defer release()
	h, err := f.Open(c, int(flags))
	if err != nil {
		if flags&syscall.O_ACCMODE != syscall.O_RDONLY {
			n.s.refused(ctx, n, "open for write", err)
		}
		return nil, 0, n.errno(err)
	}
	fh, fuseFlags := n.handleFor(h)
	return fh, fuseFlags, 0
}

// handleFor wraps an open kernfs handle and says how the host may cache
// it. A kernfs.PageCacher keeps the host's page cache across reads and
// opens (FOPEN_KEEP_CACHE): its tree posts ContentChanged when the
// content changes under the host. Every other file is direct I/O: the
// kernel neither caches its pages nor trusts its size, so each read
// reaches us, as generated files need.
func (n *node) handleFor(h kernfs.Handle) (*handle, uint32) {
	if pc, ok := h.(kernfs.PageCacher); ok && pc.CachesPages() {
		return &handle{n: n, h: h, cachesPages: true}, fuse.FOPEN_KEEP_CACHE
	}
	return &handle{n: n, h: h}, fuse.FOPEN_DIRECT_IO
}

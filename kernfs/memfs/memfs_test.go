package memfs

import (
	"context"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"ksim/kernfs"
)

var (
	root = kernfs.NewCaller(0, 0, kernfs.Identity{})
	user = kernfs.NewCaller(1000, 100, kernfs.Identity{})
)

// clock is a clock the test moves by hand.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(1_700_000_000_000_000_000)
	return c
}

func (c *clock) now() int64 { return c.ns.Load() }

// tick moves the clock on a second and returns the new time.
func (c *clock) tick() int64 { return c.ns.Add(1e9) }

func newFS(t *testing.T, opt Options) (*FS, *clock) {
	t.Helper()
	c := newClock()
	opt.Now = c.now
	return New(opt), c
}

func lookup(t *testing.T, f *FS, path string) kernfs.Node {
	t.Helper()
	n, err := kernfs.ResolveNoFollow(f.Root(), root, path)
	require.NoError(t, err, path)
	return n
}

func attr(t *testing.T, f *FS, path string) kernfs.Attr {
	t.Helper()
	return lookup(t, f, path).Attr()
}

func create(t *testing.T, d kernfs.Dir, name, content string) *File {
	t.Helper()
	n, h, err := d.(kernfs.Creator).Create(root, name, 0o644, syscall.O_WRONLY|syscall.O_EXCL)
	require.NoError(t, err, name)
	if content != "" {
		k, err := h.Write(root, []byte(content), 0)
		require.NoError(t, err)
		require.Equal(t, len(content), k)
	}
	h.(kernfs.Releaser).Release(root)
	return n.(*File)
}

func mkdir(t *testing.T, d *Dir, name string) *Dir {
	t.Helper()
	n, err := d.Mkdir(root, name, 0o755)
	require.NoError(t, err, name)
	return n.(*Dir)
}

func read(t *testing.T, f *FS, path string) string {
	t.Helper()
	b, err := kernfs.ReadFile(f.Root(), root, path)
	require.NoError(t, err, path)
	return string(b)
}

func TestNewNodesTakeTheCallerTheClockAndFreshInodes(t *testing.T) {
	f, clk := newFS(t, Options{})
	r := f.Root()
	a := r.Attr()
	require.Equal(t, fs.ModeDir|fs.ModeSticky|0o777, a.Mode, "tmpfs's root")
	require.Equal(t, uint64(2), a.Ino)
	require.Equal(t, uint32(2), a.Nlink)
	require.Equal(t, int64(40), a.Size, ". and .. at BOGO_DIRENT_SIZE")

	t1 := clk.tick()
	n, h, err := r.Create(user, "f", 0o640|fs.ModeSetuid, syscall.O_RDWR)
	require.NoError(t, err)
	_, err = h.Write(user, []byte("hello"), 0)
	require.NoError(t, err)
	a = n.Attr()
	require.Equal(t, kernfs.Attr{
		Mode: 0o640 | fs.ModeSetuid, Uid: 1000, Gid: 100, Nlink: 1, Ino: 3, Size: 5, Blocks: 8, BlockSize: 4096,
		AtimeNs: t1, MtimeNs: t1, CtimeNs: t1,
	}, a)
	require.Equal(t, t1, r.Attr().MtimeNs, "creating stamps the directory")
	require.Equal(t, int64(60), r.Attr().Size)

	d := mkdir(t, r, "d")
	require.Equal(t, uint64(4), d.Attr().Ino)
	require.Equal(t, uint32(3), r.Attr().Nlink, "the new directory's .. links the root")
	require.Equal(t, []string{"f", "d"}, names(t, f, ""), "oldest first")
}

func names(t *testing.T, f *FS, path string) []string {
	t.Helper()
	ns, err := kernfs.ReadDirNames(f.Root(), root, path)
	require.NoError(t, err)
	return ns
}

func TestReadWriteHolesAndTruncate(t *testing.T) {
	f, clk := newFS(t, Options{})
	file := create(t, f.Root(), "f", "")
	h, err := file.Open(root, syscall.O_RDWR)
	require.NoError(t, err)
	defer h.(kernfs.Releaser).Release(root)

	_, err = h.Write(root, []byte("end"), 3*pageSize-1) // the last byte of page 2 and into page 3
	require.NoError(t, err)
	a := file.Attr()
	require.Equal(t, int64(3*pageSize+2), a.Size)
	require.Equal(t, int64(2*sectorsPerPage), a.Blocks, "pages 0 and 1 are a hole")

	buf := make([]byte, 3*pageSize+10)
	k, err := h.Read(root, buf, 0)
	require.NoError(t, err)
	require.Equal(t, 3*pageSize+2, k)
	require.Equal(t, make([]byte, 3*pageSize-1), buf[:3*pageSize-1], "holes read as zeros")
	require.Equal(t, "end", string(buf[3*pageSize-1:k]))

	s := h.(kernfs.Seeker)
	off, err := s.Seek(root, 10, unix.SEEK_DATA)
	require.NoError(t, err)
	require.Equal(t, int64(2*pageSize), off)
	off, err = s.Seek(root, 2*pageSize+5, unix.SEEK_HOLE)
	require.NoError(t, err)
	require.Equal(t, int64(3*pageSize+2), off, "only the end is a hole past page 2")
	_, err = s.Seek(root, 3*pageSize+2, unix.SEEK_DATA)
	require.ErrorIs(t, err, syscall.ENXIO)

	t1 := clk.tick()
	require.NoError(t, file.Setattr(root, kernfs.AttrChange{Valid: kernfs.ChangeSize, Size: 3*pageSize + 1}))
	a = file.Attr()
	require.Equal(t, t1, a.MtimeNs, "a truncate that changes the size moves mtime")
	require.Equal(t, t1, a.CtimeNs)
	require.Equal(t, int64(2*sectorsPerPage), a.Blocks)
	require.NoError(t, file.Setattr(root, kernfs.AttrChange{Valid: kernfs.ChangeSize, Size: 3 * pageSize}))
	require.Equal(t, int64(sectorsPerPage), file.Attr().Blocks, "page 3 is gone")
	require.NoError(t, file.Setattr(root, kernfs.AttrChange{Valid: kernfs.ChangeSize, Size: 4 * pageSize}))
	k, err = h.Read(root, buf, 3*pageSize-1)
	require.NoError(t, err)
	require.Equal(t, "e"+string(make([]byte, pageSize)), string(buf[:k]), "what was cut off reads as zeros when regrown")

	clk.tick()
	require.NoError(t, file.Setattr(root, kernfs.AttrChange{Valid: kernfs.ChangeSize, Size: 4 * pageSize}))
	require.Equal(t, t1, file.Attr().CtimeNs, "a truncate to the same size changes nothing (shmem_setattr)")

	require.NoError(t, kernfs.WriteFile(f.Root(), root, "f", []byte("new")))
	require.Equal(t, "new", read(t, f, "f"), "echo > truncates")

	ro, err := file.Open(root, syscall.O_RDONLY)
	require.NoError(t, err)
	_, err = ro.Write(root, []byte("x"), 0)
	require.ErrorIs(t, err, syscall.EBADF)
	ro.(kernfs.Releaser).Release(root)
	app, err := file.Open(root, syscall.O_WRONLY|syscall.O_APPEND)
	require.NoError(t, err)
	_, err = app.Write(root, []byte("er"), 0)
	require.NoError(t, err)
	app.(kernfs.Releaser).Release(root)
	require.Equal(t, "newer", read(t, f, "f"), "O_APPEND writes at the end")
}

func TestSetattrChangesWhatItSaysAndTheChangeTime(t *testing.T) {
	f, clk := newFS(t, Options{})
	file := create(t, f.Root(), "f", "x")
	created := file.Attr()

	t1 := clk.tick()
	require.NoError(t, file.Setattr(root, kernfs.AttrChange{
		Valid: kernfs.ChangeMode | kernfs.ChangeUid | kernfs.ChangeGid,
		Mode:  fs.ModeDir | fs.ModeSetgid | 0o2750, Uid: 7, Gid: 8,
	}))
	a := file.Attr()
	require.Equal(t, fs.ModeSetgid|0o750, a.Mode, "the type stays")
	require.Equal(t, uint32(7), a.Uid)
	require.Equal(t, uint32(8), a.Gid)
	require.Equal(t, t1, a.CtimeNs)
	require.Equal(t, created.MtimeNs, a.MtimeNs, "chmod leaves mtime")

	t2 := clk.tick()
	require.NoError(t, file.Setattr(root, kernfs.AttrChange{
		Valid:   kernfs.ChangeAtime | kernfs.ChangeMtime | kernfs.AtimeNow,
		AtimeNs: 5, MtimeNs: 981173106e9, // touch -d 2001-02-03 04:05:06 UTC
	}))
	a = file.Attr()
	require.Equal(t, t2, a.AtimeNs, "UTIME_NOW")
	require.Equal(t, int64(981173106e9), a.MtimeNs)
	require.Equal(t, t2, a.CtimeNs)

	require.NoError(t, file.Setattr(root, kernfs.AttrChange{Valid: kernfs.ChangeMtime, MtimeNs: 0}))
	require.Equal(t, int64(0), file.Attr().MtimeNs, "the epoch is a time like any other")

	err := f.Root().Setattr(root, kernfs.AttrChange{Valid: kernfs.ChangeSize})
	require.ErrorIs(t, err, syscall.EISDIR)
	l, err := f.Root().Symlink(root, "l", "f")
	require.NoError(t, err)
	err = l.(*Symlink).Setattr(root, kernfs.AttrChange{Valid: kernfs.ChangeSize})
	require.ErrorIs(t, err, syscall.EINVAL)
	require.NoError(t, l.(*Symlink).Setattr(root, kernfs.AttrChange{Valid: kernfs.ChangeMtime, MtimeNs: 1e9}))
	require.Equal(t, int64(1e9), l.Attr().MtimeNs, "touch -h")
}

func TestHardLinksCountTheirNames(t *testing.T) {
	f, clk := newFS(t, Options{})
	r := f.Root()
	file := create(t, r, "a", "data")
	d := mkdir(t, r, "d")

	t1 := clk.tick()
	require.NoError(t, d.Link(root, "b", file))
	require.Same(t, file, lookup(t, f, "d/b"))
	a := file.Attr()
	require.Equal(t, uint32(2), a.Nlink)
	require.Equal(t, t1, a.CtimeNs)
	require.Equal(t, t1, d.Attr().MtimeNs)
	require.Equal(t, "data", read(t, f, "d/b"))

	require.ErrorIs(t, r.Link(root, "dd", d), syscall.EPERM, "no hard links to directories")
	require.ErrorIs(t, r.Link(root, "a", file), syscall.EEXIST)
	other, _ := newFS(t, Options{})
	require.ErrorIs(t, other.Root().Link(root, "x", file), syscall.EXDEV)

	inodes := f.Statfs().FilesFree
	require.NoError(t, r.Unlink(root, "a"))
	require.Equal(t, uint32(1), file.Attr().Nlink)
	require.Equal(t, inodes+1, f.Statfs().FilesFree, "a link counts as an inode, as shmem_link counts it")
	require.Equal(t, "data", read(t, f, "d/b"))
	require.NoError(t, d.Unlink(root, "b"))
	require.Equal(t, uint32(0), file.Attr().Nlink)
	require.ErrorIs(t, r.Link(root, "again", file), syscall.ENOENT, "vfs_link refuses an unlinked file")
}

// An unlinked file stays readable through a handle opened before, and
// its pages and inode return only with the last release.
func TestUnlinkedOpenFileLivesUntilReleased(t *testing.T) {
	f, _ := newFS(t, Options{})
	file := create(t, f.Root(), "f", "still here")
	before := f.Statfs()
	h, err := file.Open(root, syscall.O_RDONLY)
	require.NoError(t, err)
	h2, err := file.Open(root, syscall.O_RDONLY)
	require.NoError(t, err)

	require.NoError(t, f.Root().Unlink(root, "f"))
	_, err = kernfs.Resolve(f.Root(), root, "f")
	require.ErrorIs(t, err, syscall.ENOENT)
	buf := make([]byte, 64)
	k, err := h.Read(root, buf, 0)
	require.NoError(t, err)
	require.Equal(t, "still here", string(buf[:k]))
	require.Equal(t, uint32(0), file.Attr().Nlink)
	require.Equal(t, before, f.Statfs(), "held")

	h.(kernfs.Releaser).Release(root)
	h.(kernfs.Releaser).Release(root) // a second release is a no-op
	require.Equal(t, before, f.Statfs(), "h2 still holds it")
	h2.(kernfs.Releaser).Release(root)
	after := f.Statfs()
	require.Equal(t, before.BlocksFree+1, after.BlocksFree)
	require.Equal(t, before.FilesFree+1, after.FilesFree)
}

func TestRemovingChecksWhatIsRemoved(t *testing.T) {
	f, clk := newFS(t, Options{})
	r := f.Root()
	d := mkdir(t, r, "d")
	create(t, d, "f", "")

	require.ErrorIs(t, r.Rmdir(root, "d"), syscall.ENOTEMPTY)
	require.ErrorIs(t, r.Unlink(root, "d"), syscall.EISDIR)
	require.ErrorIs(t, d.Rmdir(root, "f"), syscall.ENOTDIR)
	require.ErrorIs(t, r.Unlink(root, "none"), syscall.ENOENT)
	_, err := r.Mkdir(root, "d", 0o755)
	require.ErrorIs(t, err, syscall.EEXIST)

	file := lookup(t, f, "d/f")
	t1 := clk.tick()
	require.NoError(t, d.Unlink(root, "f"))
	require.Equal(t, t1, file.Attr().CtimeNs, "unlink moves the node's ctime")
	require.Equal(t, t1, d.Attr().MtimeNs)
	require.NoError(t, r.Rmdir(root, "d"))
	require.Equal(t, uint32(2), r.Attr().Nlink)
	require.Equal(t, uint32(0), d.Attr().Nlink)
	_, err = d.Mkdir(root, "x", 0o755)
	require.ErrorIs(t, err, syscall.ENOENT, "a removed directory takes no new names")
}

func TestNamesAreChecked(t *testing.T) {
	f, _ := newFS(t, Options{})
	r := f.Root()
	name256 := fmt.Sprintf("%0256d", 0)
	_, err := r.Mkdir(root, name256, 0o755)
	require.ErrorIs(t, err, syscall.ENAMETOOLONG)
	_, err = r.Lookup(root, name256)
	require.ErrorIs(t, err, syscall.ENAMETOOLONG)
	_, err = r.Mkdir(root, fmt.Sprintf("%0255d", 0), 0o755)
	require.NoError(t, err, "NAME_MAX itself is fine")
	for _, bad := range []string{"", ".", "..", "a/b"} {
		_, err = r.Mkdir(root, bad, 0o755)
		require.ErrorIs(t, err, syscall.EINVAL, "%q", bad)
	}
}

func TestRename(t *testing.T) {
	f, clk := newFS(t, Options{})
	r := f.Root()
	a, b := mkdir(t, r, "a"), mkdir(t, r, "b")
	file := create(t, a, "f", "one")
	victim := create(t, b, "g", "two")
	require.NoError(t, r.Link(root, "g-too", victim))

	t1 := clk.tick()
	require.NoError(t, a.Rename(root, "f", b, "g", 0), "over an existing file")
	require.Same(t, file, lookup(t, f, "b/g"))
	require.Equal(t, uint32(1), victim.Attr().Nlink, "the replaced file lost a name")
	require.Equal(t, t1, victim.Attr().CtimeNs)
	require.Equal(t, t1, file.Attr().CtimeNs)
	require.Equal(t, t1, a.Attr().MtimeNs)
	require.Equal(t, t1, b.Attr().MtimeNs)
	require.Equal(t, int64(40), a.Attr().Size)
	require.Equal(t, int64(60), b.Attr().Size)

	require.NoError(t, r.Rename(root, "g-too", r, "g-too", 0), "onto itself: nothing")
	require.NoError(t, b.Link(root, "g2", file))
	require.NoError(t, b.Rename(root, "g", b, "g2", 0), "two names of one inode: nothing (vfs_rename)")
	require.Same(t, file, lookup(t, f, "b/g"))

	require.ErrorIs(t, b.Rename(root, "g", r, "g-too", kernfs.RenameNoReplace), syscall.EEXIST)
	require.ErrorIs(t, b.Rename(root, "none", r, "x", 0), syscall.ENOENT)
	require.ErrorIs(t, r.Rename(root, "a", a, "x", 0), syscall.EINVAL, "into itself")
	sub := mkdir(t, a, "sub")
	require.ErrorIs(t, r.Rename(root, "a", sub, "x", 0), syscall.EINVAL, "into its own subtree")
	require.ErrorIs(t, sub.Rename(root, "x", r, "a", 0), syscall.ENOENT)
	create(t, sub, "x", "")
	require.ErrorIs(t, sub.Rename(root, "x", r, "b", 0), syscall.EISDIR, "a file over a directory")
	require.ErrorIs(t, sub.Rename(root, "x", r, "a", 0), syscall.ENOTEMPTY, "over its own ancestor (lock_rename's trap)")
	require.ErrorIs(t, r.Rename(root, "a", r, "g-too", 0), syscall.ENOTDIR, "a directory over a file")
	require.ErrorIs(t, r.Rename(root, "b", r, "a", 0), syscall.ENOTEMPTY)
	require.ErrorIs(t, sub.Rename(root, "x", r, "x", kernfs.RenameExchange), syscall.ENOENT)
	require.ErrorIs(t, r.Rename(root, "a", r, "b", kernfs.RenameExchange|kernfs.RenameNoReplace), syscall.EINVAL)
	require.ErrorIs(t, r.Rename(root, "a", r, "b", 1<<5), syscall.EINVAL)
	other, _ := newFS(t, Options{})
	require.ErrorIs(t, r.Rename(root, "a", other.Root(), "a", 0), syscall.EXDEV)

	// A directory moves: the links its .. held move with it.
	require.Equal(t, uint32(3), a.Attr().Nlink)
	require.NoError(t, a.Rename(root, "sub", b, "sub", 0))
	require.Equal(t, uint32(2), a.Attr().Nlink)
	require.Equal(t, uint32(3), b.Attr().Nlink)
	empty := mkdir(t, a, "empty")
	require.ErrorIs(t, b.Rename(root, "sub", a, "empty", kernfs.RenameNoReplace), syscall.EEXIST)
	require.NoError(t, b.Rename(root, "sub", a, "empty", 0), "a directory over an empty one")
	require.Equal(t, uint32(0), empty.Attr().Nlink)
	require.Equal(t, uint32(3), a.Attr().Nlink)
	require.Equal(t, uint32(2), b.Attr().Nlink)
	require.Same(t, sub, lookup(t, f, "a/empty"))

	// Exchange a directory and a file across directories.
	require.NoError(t, a.Rename(root, "empty", b, "g", kernfs.RenameExchange))
	require.Same(t, file, lookup(t, f, "a/empty"))
	require.Same(t, sub, lookup(t, f, "b/g"))
	require.Equal(t, uint32(2), a.Attr().Nlink)
	require.Equal(t, uint32(3), b.Attr().Nlink)
	require.ErrorIs(t, r.Rename(root, "b", b, "g", kernfs.RenameExchange), syscall.EINVAL, "with its own subtree")

	// A whiteout takes the old name.
	require.NoError(t, a.Rename(root, "empty", r, "moved", kernfs.RenameWhiteout))
	w := lookup(t, f, "a/empty").Attr()
	require.Equal(t, fs.ModeDevice|fs.ModeCharDevice, w.Mode)
	require.Equal(t, uint64(0), w.Rdev)
}

func TestSymlinksAndSpecialNodes(t *testing.T) {
	f, _ := newFS(t, Options{})
	r := f.Root()
	l, err := r.Symlink(user, "short", "target")
	require.NoError(t, err)
	a := l.Attr()
	require.Equal(t, fs.ModeSymlink|0o777, a.Mode)
	require.Equal(t, int64(6), a.Size)
	require.Equal(t, int64(0), a.Blocks, "kept in the inode")
	require.Equal(t, uint32(1000), a.Uid)
	target, err := l.(kernfs.Symlink).Readlink(root)
	require.NoError(t, err)
	require.Equal(t, "target", target)

	free := f.Statfs().BlocksFree
	long, err := r.Symlink(root, "long", fmt.Sprintf("%0200d", 0))
	require.NoError(t, err)
	require.Equal(t, int64(sectorsPerPage), long.Attr().Blocks, "a long target takes a page")
	require.Equal(t, free-1, f.Statfs().BlocksFree)
	require.NoError(t, r.Unlink(root, "long"))
	require.Equal(t, free, f.Statfs().BlocksFree)
	_, err = r.Symlink(root, "huge", fmt.Sprintf("%04096d", 0))
	require.ErrorIs(t, err, syscall.ENAMETOOLONG)
	_, err = r.Symlink(root, "empty", "")
	require.ErrorIs(t, err, syscall.ENOENT)

	null, err := r.Mknod(root, "null", fs.ModeDevice|fs.ModeCharDevice|0o666, unix.Mkdev(1, 3))
	require.NoError(t, err)
	a = null.Attr()
	require.Equal(t, fs.ModeDevice|fs.ModeCharDevice|0o666, a.Mode)
	require.Equal(t, unix.Mkdev(1, 3), a.Rdev)
	fifo, err := r.Mknod(root, "fifo", fs.ModeNamedPipe|0o600, 99)
	require.NoError(t, err)
	require.Equal(t, uint64(0), fifo.Attr().Rdev, "only devices have numbers")
	reg, err := r.Mknod(root, "reg", 0o600, 0)
	require.NoError(t, err)
	require.IsType(t, &File{}, reg)
	_, err = r.Mknod(root, "dir", fs.ModeDir|0o755, 0)
	require.ErrorIs(t, err, syscall.EPERM)
	_, err = r.Mknod(root, "link", fs.ModeSymlink|0o777, 0)
	require.ErrorIs(t, err, syscall.EINVAL)
}

// What is made in a setgid directory takes its group; a directory made
// there is setgid too (inode_init_owner).
func TestSetgidDirectoriesPassOnTheirGroup(t *testing.T) {
	f, _ := newFS(t, Options{})
	shared := mkdir(t, f.Root(), "shared")
	require.NoError(t, shared.Setattr(root, kernfs.AttrChange{Valid: kernfs.ChangeMode | kernfs.ChangeGid, Mode: fs.ModeSetgid | 0o2775, Gid: 50}))

	n, _, err := shared.Create(user, "f", 0o644, syscall.O_WRONLY)
	require.NoError(t, err)
	a := n.Attr()
	require.Equal(t, uint32(1000), a.Uid)
	require.Equal(t, uint32(50), a.Gid)
	require.Equal(t, fs.FileMode(0o644), a.Mode)
	sub, err := shared.Mkdir(user, "sub", 0o755)
	require.NoError(t, err)
	require.Equal(t, fs.ModeDir|fs.ModeSetgid|0o755, sub.Attr().Mode)
	require.Equal(t, uint32(50), sub.Attr().Gid)
}

func TestCreateOpensOrRefusesWhatExists(t *testing.T) {
	f, _ := newFS(t, Options{})
	r := f.Root()
	file := create(t, r, "f", "content")
	n, h, err := r.Create(root, "f", 0o600, syscall.O_RDWR)
	require.NoError(t, err, "no O_EXCL: opens it")
	require.Same(t, file, n)
	h.(kernfs.Releaser).Release(root)
	require.Equal(t, "content", read(t, f, "f"))
	_, h, err = r.Create(root, "f", 0o600, syscall.O_WRONLY|syscall.O_TRUNC)
	require.NoError(t, err)
	h.(kernfs.Releaser).Release(root)
	require.Equal(t, "", read(t, f, "f"))
	_, _, err = r.Create(root, "f", 0o600, syscall.O_WRONLY|syscall.O_EXCL)
	require.ErrorIs(t, err, syscall.EEXIST)
	mkdir(t, r, "d")
	_, _, err = r.Create(root, "d", 0o600, syscall.O_WRONLY)
	require.ErrorIs(t, err, syscall.EISDIR)
}

func TestCapacityRunsOut(t *testing.T) {
	f, _ := newFS(t, Options{SizeBytes: 3 * pageSize, MaxInodes: 4})
	st := f.Statfs()
	require.Equal(t, kernfs.Statfs{BlockSize: 4096, Blocks: 3, BlocksFree: 3, BlocksAvail: 3, Files: 4, FilesFree: 3, NameMax: 255}, st)

	file := create(t, f.Root(), "f", "")
	h, err := file.Open(root, syscall.O_WRONLY)
	require.NoError(t, err)
	k, err := h.Write(root, make([]byte, 5*pageSize), 0)
	require.NoError(t, err)
	require.Equal(t, 3*pageSize, k, "a short write takes what fits")
	_, err = h.Write(root, []byte("x"), 3*pageSize)
	require.ErrorIs(t, err, syscall.ENOSPC)
	_, err = h.Write(root, []byte("x"), 0)
	require.NoError(t, err, "rewriting a page takes no more")
	h.(kernfs.Releaser).Release(root)

	create(t, f.Root(), "g", "")
	mkdir(t, f.Root(), "d")
	_, err = f.Root().Mkdir(root, "e", 0o755)
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.Equal(t, uint64(0), f.Statfs().FilesFree)
}

func TestReadsMoveTheAccessTimeAsRelatimeDoes(t *testing.T) {
	f, clk := newFS(t, Options{})
	create(t, f.Root(), "f", "x")
	t1 := clk.tick()
	read(t, f, "f")
	require.Equal(t, t1, attr(t, f, "f").AtimeNs, "atime was not newer than mtime")
	clk.tick()
	read(t, f, "f")
	require.Equal(t, t1, attr(t, f, "f").AtimeNs, "now it is, and younger than a day")
	t3 := clk.ns.Add(relatimeWindow)
	read(t, f, "f")
	require.Equal(t, t3, attr(t, f, "f").AtimeNs)
}

// Changes made other than through the mount are posted; those through
// it are not: the host has seen them.
func TestOnlyChangesBesideTheMountArePosted(t *testing.T) {
	o := kernfs.NewOutbox()
	var mu sync.Mutex
	var got []kernfs.Change
	go o.Serve(func(c kernfs.Change) {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
	})
	defer o.Close()
	f, _ := newFS(t, Options{Outbox: o})
	r := f.Root()
	posted := func() []kernfs.Change {
		require.NoError(t, o.Flush(context.Background()))
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}
	// Serve may not have started: wait until a post is delivered.
	require.Eventually(t, func() bool {
		o.ContentChanged(r)
		return len(posted()) > 0
	}, time.Second, time.Millisecond)

	mount := kernfs.NewCaller(0, 0, kernfs.Identity{})
	mount.ThroughMount = true
	_, err := r.Mkdir(mount, "seen", 0o755)
	require.NoError(t, err)
	require.Empty(t, posted())

	d := mkdir(t, r, "d")
	require.Equal(t, []kernfs.Change{{Node: r}, {Dir: r, Name: "d"}}, posted())

	file := create(t, d, "f", "x")
	posted()
	require.NoError(t, kernfs.WriteFile(r, root, "d/f", []byte("y")))
	require.Contains(t, posted(), kernfs.Change{Node: file})
	require.NoError(t, d.Rename(root, "f", r, "f", 0))
	require.ElementsMatch(t, []kernfs.Change{
		{Node: file}, {Node: r}, {Node: d}, {Dir: r, Name: "f"}, {Dir: d, Name: "f"},
	}, posted())
}

// go-fuse serves requests concurrently: the file system takes them so.
func TestConcurrentOperations(t *testing.T) {
	f, _ := newFS(t, Options{})
	r := f.Root()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := r.Mkdir(root, fmt.Sprint("w", w), 0o755)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range 50 {
				name := fmt.Sprint("f", i)
				n, h, err := d.(*Dir).Create(root, name, 0o644, syscall.O_RDWR)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = h.Write(root, []byte(name), 0)
				_ = n.Attr()
				_, _ = r.ReadDir(root)
				_ = d.(*Dir).Rename(root, name, r, fmt.Sprint(w, "-", i), 0)
				h.(kernfs.Releaser).Release(root)
				_ = f.Statfs()
			}
		}()
	}
	wg.Wait()
	require.Len(t, names(t, f, ""), 8+8*50)
	require.Equal(t, uint64(f.maxInodes-1-8-8*50), f.Statfs().FilesFree)
}

package kernfs

import (
	"context"
	"io/fs"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var root = NewCaller(0, 0, Identity{})

func constant(s string) Render {
	return func(*Caller) ([]byte, error) { return []byte(s), nil }
}

// Every type and special bit survives st_mode and back.
func TestModesRoundTripThroughStMode(t *testing.T) {
	for _, m := range []fs.FileMode{
		0o644,
		fs.ModeDir | 0o755,
		fs.ModeSymlink | 0o777,
		fs.ModeNamedPipe | 0o600,
		fs.ModeSocket | 0o755,
		fs.ModeDevice | fs.ModeCharDevice | 0o666,
		fs.ModeDevice | 0o660,
		fs.ModeSetuid | fs.ModeSetgid | 0o755,
		fs.ModeDir | fs.ModeSticky | 0o777,
	} {
		require.Equal(t, m, FileMode(UnixMode(m)), "%v", m)
	}
	require.Equal(t, uint32(syscall.S_IFCHR|0o666), UnixMode(fs.ModeDevice|fs.ModeCharDevice|0o666))
	require.Equal(t, uint32(syscall.S_IFDIR|syscall.S_ISVTX|0o777), UnixMode(fs.ModeDir|fs.ModeSticky|0o777))
}

// A lookup-only entry resolves but is not listed, in a static table and
// in a filtered one.
func TestLookupOnlyEntriesResolveButAreNotListed(t *testing.T) {
	magic := NewLink(func(*Caller) (string, error) { return "mnt:[4026531832]", nil })
	ns := NewStaticDir(0o511,
		Entry{Name: "cgroup", Node: NewFile(0o444, constant("c\n"), nil)},
		Entry{Name: "mnt", Node: magic, LookupOnly: true},
		Entry{Name: "net", Node: NewFile(0o444, constant("n\n"), nil)},
	)
	tree := NewStaticDir(0o555, Entry{Name: "ns", Node: ns},
		Entry{Name: "filtered", Node: NewFilteredDir(ns, func(string) bool { return true })})

	for _, dir := range []string{"ns", "filtered"} {
		names, err := ReadDirNames(tree, root, dir)
		require.NoError(t, err)
		require.Equal(t, []string{"cgroup", "net"}, names, dir)

		n, err := ResolveNoFollow(tree, root, dir+"/mnt")
		require.NoError(t, err)
		require.Same(t, magic, n)
	}
	require.Len(t, ns.Entries(), 3, "the table keeps the entry")
}

func TestResolveFollowsLinksAsPathLookupDoes(t *testing.T) {
	data := NewFile(0o444, constant("data\n"), nil)
	link := func(target string) Node { return NewLink(func(*Caller) (string, error) { return target, nil }) }
	tree := NewStaticDir(0o555,
		Entry{Name: "a", Node: NewStaticDir(0o555,
			Entry{Name: "file", Node: data},
			Entry{Name: "rel", Node: link("file")},
			Entry{Name: "up", Node: link("../b")},
		)},
		Entry{Name: "b", Node: link("/a/file")},
		Entry{Name: "loop", Node: link("loop")},
	)
	for _, p := range []string{"a/file", "/a/file", "a/rel", "a/up", "b", "a/../b", "./a/./file"} {
		n, err := Resolve(tree, root, p)
		require.NoError(t, err, p)
		require.Same(t, data, n, p)
	}
	_, err := Resolve(tree, root, "loop")
	require.ErrorIs(t, err, syscall.ELOOP)
	_, err = Resolve(tree, root, "a/file/x")
	require.ErrorIs(t, err, syscall.ENOTDIR)
	_, err = Resolve(tree, root, "a/none")
	require.ErrorIs(t, err, syscall.ENOENT)

	n, err := ResolveNoFollow(tree, root, "a/rel")
	require.NoError(t, err)
	require.Implements(t, (*Symlink)(nil), n)
	n, err = ResolveNoFollow(tree, root, "/")
	require.NoError(t, err)
	require.Same(t, tree, n)

	d, name, err := ResolveParent(tree, root, "b/")
	require.NoError(t, err)
	require.Same(t, tree, d)
	require.Equal(t, "b", name)
	_, _, err = ResolveParent(tree, root, "a/..")
	require.ErrorIs(t, err, syscall.EINVAL)
	_, _, err = ResolveParent(tree, root, "a/file/x")
	require.ErrorIs(t, err, syscall.ENOTDIR)
}

// countingFile records how it is opened and whether its handles are released.
type countingFile struct {
	mu       sync.Mutex
	flags    []int
	released int
}

func (f *countingFile) Attr() Attr { return Attr{Mode: 0o640, Uid: 1000, Gid: 1000} }

func (f *countingFile) Open(_ *Caller, flags int) (Handle, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flags = append(f.flags, flags)
	return &countingHandle{f: f}, nil
}

type countingHandle struct{ f *countingFile }

func (h *countingHandle) Read(_ *Caller, dst []byte, off int64) (int, error) {
	if off > 0 {
		return 0, nil
	}
	return copy(dst, "x"), nil
}

func (h *countingHandle) Write(_ *Caller, data []byte, _ int64) (int, error) { return len(data), nil }

func (h *countingHandle) Release(*Caller) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	h.f.released++
}

// ReadFile and WriteFile open as cat and echo > do, check the mode bits
// as default_permissions does, and release what they open.
func TestReadAndWriteFileOpenCheckAndRelease(t *testing.T) {
	f := &countingFile{}
	tree := NewStaticDir(0o755, Entry{Name: "f", Node: f})

	got, err := ReadFile(tree, root, "f")
	require.NoError(t, err)
	require.Equal(t, "x", string(got))
	require.NoError(t, WriteFile(tree, root, "f", []byte("y")))
	require.Equal(t, []int{syscall.O_RDONLY, syscall.O_WRONLY | syscall.O_TRUNC}, f.flags)
	require.Equal(t, 2, f.released)

	group := NewCaller(1001, 1000, Identity{})
	_, err = ReadFile(tree, group, "f")
	require.NoError(t, err, "0640 lets the group read")
	require.ErrorIs(t, WriteFile(tree, group, "f", nil), syscall.EACCES)
	other := NewCaller(1001, 1001, Identity{})
	_, err = ReadFile(tree, other, "f")
	require.ErrorIs(t, err, syscall.EACCES)
	_, err = ReadFile(tree, root, "")
	require.ErrorIs(t, err, syscall.EISDIR)
}

// Generated files keep their ways: rendered at open and again at each
// read from 0, EIO for a write without a store.
func TestGeneratedFileRendersAtOpenAndRereads(t *testing.T) {
	n := 0
	f := NewFile(0o444, func(*Caller) ([]byte, error) { n++; return []byte{byte('0' + n)}, nil }, nil)
	h, err := f.Open(root, syscall.O_RDONLY)
	require.NoError(t, err)
	buf := make([]byte, 8)
	k, err := h.Read(root, buf, 0)
	require.NoError(t, err)
	require.Equal(t, "1", string(buf[:k]), "the open's rendering")
	k, err = h.Read(root, buf, 0)
	require.NoError(t, err)
	require.Equal(t, "2", string(buf[:k]), "a reread from the start renders again")
	_, err = h.Write(root, []byte("x"), 0)
	require.ErrorIs(t, err, syscall.EIO)
	require.Equal(t, Attr{Mode: 0o444}, f.Attr(), "no size, links or inode: the server's defaults")
	require.Equal(t, syscall.EIO, Errno(err))
	require.Equal(t, syscall.Errno(0), Errno(nil))
}

// Content changes travel with entry changes, in the order posted.
func TestOutboxCarriesContentChanges(t *testing.T) {
	o := NewOutbox()
	got := make(chan Change, 4)
	go o.Serve(func(c Change) { got <- c })
	defer o.Close()
	require.Eventually(t, func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.serving
	}, time.Second, time.Millisecond)

	dir := NewStaticDir(0o755)
	file := NewFile(0o644, constant(""), nil)
	o.ContentChanged(file)
	o.EntryChanged(dir, "x")
	require.NoError(t, o.Flush(context.Background()))
	require.Equal(t, Change{Node: file}, <-got)
	require.Equal(t, Change{Dir: dir, Name: "x"}, <-got)
}

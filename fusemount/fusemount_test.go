package fusemount

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"ksim/kernelsim/errno"
	"ksim/kernfs"
	"ksim/kernfs/memfs"
)

// requireMountable skips a test this machine cannot mount for: it needs
// root (to mount directly and to mount tmpfs) and /dev/fuse.
func requireMountable(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
}

// mount serves root under a fresh directory until the test ends, failed or not.
func mountTree(t *testing.T, root kernfs.Dir, opt Options) string {
	t.Helper()
	dir := t.TempDir()
	srv, err := Mount(dir, root, opt)
	require.NoError(t, err)
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil && !errors.Is(err, ErrDetachedBusy) {
			t.Errorf("unmount %s: %v", dir, err)
		}
		srv.Wait()
	})
	return dir
}

// mountTmpfs mounts a tmpfs under a fresh directory until the test ends.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, unix.Mount("ksim-test", dir, "tmpfs", 0, "size=64m"))
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount tmpfs %s: %v", dir, err)
		}
	})
	return dir
}

func newMemfs(outbox *kernfs.Outbox) *memfs.FS {
	return memfs.New(memfs.Options{Now: func() int64 { return time.Now().UnixNano() }, Outbox: outbox, SizeBytes: 64 << 20})
}

// tmpfsScript is what the comparison runs on each file system: a tree
// with modes, a symlink, a hard link, a FIFO and a device copied with
// cp -a; mv, also over a file with another name; ln and ln -s; rm of a
// file another process holds open and then reads; touch -d; chmod; and
// stat of everything. show prints a path's type, links, size, mode,
// device numbers and inode, and its mtime: exact when set in the past,
// "now" when the test's own operations set it.
const tmpfsScript = `
set -u
umask 022
start=$(date +%s)
show() {
	for f in "$@"; do
		m=$(stat -c %Y "$f")
		if [ "$m" -ge "$start" ]; then m=now; fi
		echo "$(stat -c '%n %F links=%h size=%s mode=%a dev=%t:%T ino=%i' "$f") mtime=$m"
	done
}
all() { find "$@" | sort | while read -r f; do show "$f"; done; }
step() { echo "== $*"; }

step a tree
mkdir -p src/sub/deep
printf 'hello\n' > src/a
printf 'world\n' > src/sub/b
chmod 0640 src/a
chmod 2750 src/sub
mkdir src/sub/after
ln src/a src/sub/a-hard
ln -s a src/a-link
ln -s sub/b src/b-link
ln -s nowhere src/dangling
mkfifo src/fifo
mknod src/null c 1 3
touch -d '2001-02-03 04:05:06 UTC' src/a src/sub/b src/fifo src/null
touch -h -d '2002-03-04 05:06:07 UTC' src/a-link
touch -d '2003-04-05 06:07:08 UTC' src/sub/deep src/sub/after src/sub src
all src

step cp -a
cp -a src dst
all dst
cmp src/a dst/a && echo same content
cat dst/b-link

step mv
mv dst/sub/b dst/b-moved
printf 'replacement\n' > dst/new
ln dst/new dst/new-hard
mv dst/new dst/a
cat dst/a
mv dst/sub/deep dst/deep-moved
mv dst/sub dst/deep-moved/
mv dst/b-moved dst/deep-moved 2>&1 || echo "status $?"
mv -T dst/deep-moved dst/a 2>&1 || echo "status $?"
all dst

step ln
ln dst/a dst/a2
ln -s ../a dst/deep-moved/up
cat dst/deep-moved/up
ln dst/a dst/a2 2>&1 || echo "status $?"
ln -s x dst/a2 2>&1 || echo "status $?"
ln dst/deep-moved dst/dir-link 2>&1 || echo "status $?"
show dst/a dst/a2 dst/new-hard dst/deep-moved/up

step rm of an open file
printf 'kept open\n' > dst/open
exec 3< dst/open
rm dst/open
ls dst | grep -c '^open$'
cat <&3
stat -L -c 'links=%h size=%s' /dev/fd/3
exec 3<&-

step touch -d
touch -d '1999-12-31 23:59:59 UTC' dst/a2
touch -d @0 dst/new-hard
touch -d '2010-01-01 00:00:00 UTC' dst/fresh
show dst/a dst/new-hard dst/fresh

step chmod
chmod 4755 dst/a2
chmod 1777 dst/deep-moved
chmod g-s dst/deep-moved/sub
chmod 0 dst/fresh
chmod u+x,o-r dst/null
show dst/a dst/deep-moved dst/deep-moved/sub dst/fresh dst/null

step rm and rmdir
rmdir dst/deep-moved 2>&1 || echo "status $?"
rm dst/deep-moved 2>&1 || echo "status $?"
rm -r dst/deep-moved
rm dst/a2
truncate -s 10000 dst/fresh
show dst dst/a dst/fresh
all src dst
`

// inoRE finds a path and its inode number in show's lines.
var inoRE = regexp.MustCompile(`(?m)^(\S+) .* ino=(\d+) `)

// sameInodes replaces inode numbers, which differ between file systems,
// by the first path that showed each: "ino=src/a" on a line of dst/b
// says dst/b is the inode src/a is.
func sameInodes(out string) string {
	first := map[string]string{}
	for _, m := range inoRE.FindAllStringSubmatch(out, -1) {
		if _, ok := first[m[2]]; !ok {
			first[m[2]] = m[1]
		}
	}
	return inoRE.ReplaceAllStringFunc(out, func(line string) string {
		m := inoRE.FindStringSubmatch(line)
		return strings.Replace(line, "ino="+m[2]+" ", "ino="+first[m[2]]+" ", 1)
	})
}

func runScript(t *testing.T, dir, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "TZ=UTC")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return string(out)
}

// The done-when test: a memfs tree served through fusemount behaves as
// tmpfs for cp -a, mv, ln, ln -s, rm of an open file, touch -d, chmod and
// stat, inode equalities and link counts included.
func TestMemfsBehavesAsTmpfs(t *testing.T) {
	requireMountable(t)
	onTmpfs := runScript(t, mountTmpfs(t), tmpfsScript)
	onMemfs := runScript(t, mountTree(t, newMemfs(nil).Root(), Options{}), tmpfsScript)
	require.Equal(t, sameInodes(onTmpfs), sameInodes(onMemfs))

	// The normalisation keeps what matters: hard links share an inode.
	require.Contains(t, sameInodes(onMemfs), "dst/sub/a-hard regular file links=2 size=6 mode=640 dev=0:0 ino=dst/a ")
	require.Contains(t, onMemfs, "kept open\nlinks=0 size=10\n")
}

// renameTranscript renames with renameat2's flags under dir and says what happened.
func renameTranscript(t *testing.T, dir string) string {
	t.Helper()
	var out strings.Builder
	write := func(name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	rename := func(from, to string, flags uint, what string) {
		err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(dir, from), unix.AT_FDCWD, filepath.Join(dir, to), flags)
		fmt.Fprintf(&out, "%s: %v\n", what, err)
	}
	list := func() {
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			info, err := os.Lstat(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			st := info.Sys().(*syscall.Stat_t)
			fmt.Fprintf(&out, "  %s %v links=%d rdev=%d:%d %q\n", e.Name(), info.Mode(), st.Nlink,
				unix.Major(st.Rdev), unix.Minor(st.Rdev), b)
		}
	}
	write("a", "A")
	write("b", "B")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "d"), 0o755))
	rename("a", "b", unix.RENAME_NOREPLACE, "noreplace onto a file")
	rename("a", "c", unix.RENAME_NOREPLACE, "noreplace onto nothing")
	rename("c", "b", unix.RENAME_EXCHANGE, "exchange two files")
	list()
	rename("c", "d", unix.RENAME_EXCHANGE, "exchange a file and a directory")
	list()
	rename("c", "none", unix.RENAME_EXCHANGE, "exchange with nothing")
	rename("c", "b", unix.RENAME_EXCHANGE|unix.RENAME_NOREPLACE, "exchange and noreplace")
	rename("b", "moved", unix.RENAME_WHITEOUT, "whiteout")
	list()
	return out.String()
}

func TestRenameFlagsAsTmpfs(t *testing.T) {
	requireMountable(t)
	onTmpfs := renameTranscript(t, mountTmpfs(t))
	onMemfs := renameTranscript(t, mountTree(t, newMemfs(nil).Root(), Options{}))
	require.Equal(t, onTmpfs, onMemfs)
	require.Contains(t, onMemfs, "noreplace onto a file: file exists")
}

// counter counts renders of a generated file.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) render(*kernfs.Caller) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	return []byte(fmt.Sprintf("render %d\n", c.n)), nil
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Generated trees keep their ways: direct I/O with size 0, links and
// times by type, hashed inode numbers, and the errnos of a tree whose
// shape is the kernel's. A lookup-only entry resolves unlisted.
func TestGeneratedTreesKeepTheirWays(t *testing.T) {
	requireMountable(t)
	var renders counter
	var stored []string
	var mu sync.Mutex
	store := func(_ *kernfs.Caller, data []byte, _ int64) error {
		mu.Lock()
		defer mu.Unlock()
		stored = append(stored, string(data))
		return nil
	}
	magic := kernfs.NewLink(func(*kernfs.Caller) (string, error) { return "mnt:[4026531832]", nil })
	tree := kernfs.NewStaticDir(0o555,
		kernfs.Entry{Name: "gen", Node: kernfs.NewFile(0o444, renders.render, nil)},
		kernfs.Entry{Name: "knob", Node: kernfs.NewFile(0o644, renders.render, store)},
		kernfs.Entry{Name: "ns", Node: kernfs.NewStaticDir(0o511,
			kernfs.Entry{Name: "mnt", Node: magic, LookupOnly: true},
			kernfs.Entry{Name: "net", Node: kernfs.NewLink(func(*kernfs.Caller) (string, error) { return "net:[4026531840]", nil })},
		)},
	)
	const boot = 1_767_225_600_000_000_000 // 2026-01-01
	dir := mountTree(t, tree, Options{TimeNs: boot})
	at := func(p string) string { return filepath.Join(dir, p) }

	b, err := os.ReadFile(at("gen"))
	require.NoError(t, err)
	require.Equal(t, "render 1\n", string(b))
	b, err = os.ReadFile(at("gen"))
	require.NoError(t, err)
	require.Equal(t, "render 2\n", string(b), "direct I/O: no page cache between opens")

	var st unix.Stat_t
	require.NoError(t, unix.Stat(at("gen"), &st))
	require.Equal(t, int64(0), st.Size)
	require.Equal(t, uint64(1), st.Nlink)
	require.Equal(t, int64(0), st.Blocks)
	require.Equal(t, int64(1024), st.Blksize)
	require.Equal(t, int64(boot/1e9), st.Mtim.Sec)
	require.Equal(t, int64(boot/1e9), st.Ctim.Sec)
	require.Equal(t, uint32(syscall.S_IFREG|0o444), st.Mode)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	info, err := ents[0].Info()
	require.NoError(t, err)
	require.Equal(t, st.Ino, info.Sys().(*syscall.Stat_t).Ino, "readdir and lookup agree on the hash")
	require.NoError(t, unix.Stat(at("ns"), &st))
	require.Equal(t, uint64(2), st.Nlink)

	require.NoError(t, os.WriteFile(at("knob"), []byte("1\n"), 0), "O_TRUNC's setattr is accepted")
	mu.Lock()
	require.Equal(t, []string{"1\n"}, stored)
	mu.Unlock()
	errno := func(err error) error {
		var pe interface{ Unwrap() error }
		if errors.As(err, &pe) {
			return pe.Unwrap()
		}
		return err
	}
	require.Equal(t, syscall.EIO, errno(os.WriteFile(at("gen"), []byte("x"), 0)))
	require.Equal(t, syscall.EPERM, errno(os.Remove(at("gen"))))
	require.Equal(t, syscall.EPERM, errno(os.Mkdir(at("d"), 0o755)))
	require.Equal(t, syscall.EPERM, errno(os.Rename(at("gen"), at("gen2"))))
	require.Equal(t, syscall.EPERM, errno(os.Symlink("x", at("l"))))
	require.Equal(t, syscall.EPERM, errno(os.Link(at("gen"), at("l"))))
	require.Equal(t, syscall.EPERM, unix.Mknod(at("fifo"), syscall.S_IFIFO|0o600, 0))
	require.Equal(t, syscall.EPERM, errno(os.Chmod(at("gen"), 0o600)))
	require.Equal(t, syscall.EACCES, errno(os.WriteFile(at("new"), nil, 0o644)))
	f, err := os.Open(at("gen"))
	require.NoError(t, err)
	require.Equal(t, syscall.EOPNOTSUPP, errno(f.Sync()))
	require.NoError(t, f.Close())
	var sfs unix.Statfs_t
	require.NoError(t, unix.Statfs(dir, &sfs))
	require.Equal(t, uint64(0), sfs.Blocks, "no file system below: zeros, as ever")

	target, err := os.Readlink(at("ns/mnt"))
	require.NoError(t, err)
	require.Equal(t, "mnt:[4026531832]", target, "a lookup-only entry resolves")
	names, err := os.ReadDir(at("ns"))
	require.NoError(t, err)
	require.Len(t, names, 1, "but is not listed")
	require.Equal(t, "net", names[0].Name())
}

// pageFile is a file with its own inode number whose handles the host may
// cache; it counts the reads that reach it.
type pageFile struct {
	mu      sync.Mutex
	content string
	reads   int
}

func (f *pageFile) Attr() kernfs.Attr {
	f.mu.Lock()
	defer f.mu.Unlock()
	return kernfs.Attr{Mode: 0o644, Ino: 1000, Nlink: 1, Size: int64(len(f.content)), MtimeNs: 1e18, AtimeNs: 1e18, CtimeNs: 1e18}
}

func (f *pageFile) Open(*kernfs.Caller, int) (kernfs.Handle, error) { return pageHandle{f}, nil }

func (f *pageFile) set(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.content = s
}

func (f *pageFile) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

type pageHandle struct{ f *pageFile }

func (h pageHandle) CachesPages() bool { return true }

func (h pageHandle) Read(_ *kernfs.Caller, dst []byte, off int64) (int, error) {
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	h.f.reads++
	if off >= int64(len(h.f.content)) {
		return 0, nil
	}
	return copy(dst, h.f.content[off:]), nil
}

func (h pageHandle) Write(*kernfs.Caller, []byte, int64) (int, error) { return 0, syscall.EIO }

// A handle that says so keeps the host's page cache across opens, until
// its tree posts ContentChanged; a generated file next to it does not.
func TestPageCachedFilesAreInvalidatedThroughTheOutbox(t *testing.T) {
	requireMountable(t)
	outbox := kernfs.NewOutbox()
	file := &pageFile{content: "v1"}
	var renders counter
	tree := kernfs.NewStaticDir(0o755,
		kernfs.Entry{Name: "cached", Node: file},
		kernfs.Entry{Name: "gen", Node: kernfs.NewFile(0o444, renders.render, nil)},
	)
	dir := mountTree(t, tree, Options{Outbox: outbox})
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return string(b)
	}

	require.Equal(t, "v1", read("cached"))
	require.Equal(t, "v1", read("cached"))
	require.Equal(t, 1, file.count(), "the second open read the host's pages")
	var st unix.Stat_t
	require.NoError(t, unix.Stat(filepath.Join(dir, "cached"), &st))
	require.Equal(t, uint64(1000), st.Ino, "the node's own inode number")

	file.set("v2") // same size, same times: only the notification tells
	outbox.ContentChanged(file)
	require.NoError(t, outbox.Flush(context.Background()))
	require.Equal(t, "v2", read("cached"))
	require.Equal(t, 2, file.count())

	read("gen")
	read("gen")
	require.Equal(t, 2, renders.count(), "generated files stay direct I/O")
}

// Changes made to a memfs tree beside the mount (by the simulation, say)
// reach the host at once: content, attributes and names.
func TestMemfsChangesBesideTheMountReachTheHost(t *testing.T) {
	requireMountable(t)
	outbox := kernfs.NewOutbox()
	mfs := newMemfs(outbox)
	dir := mountTree(t, mfs.Root(), Options{Outbox: outbox})
	at := func(p string) string { return filepath.Join(dir, p) }
	sim := kernfs.NewCaller(0, 0, kernfs.Identity{}) // not ThroughMount
	flush := func() { require.NoError(t, outbox.Flush(context.Background())) }

	require.NoError(t, os.WriteFile(at("f"), []byte("from the host\n"), 0o644))
	b, err := os.ReadFile(at("f"))
	require.NoError(t, err)
	require.Equal(t, "from the host\n", string(b))

	require.NoError(t, kernfs.WriteFile(mfs.Root(), sim, "f", []byte("from the simulation\n")))
	flush()
	b, err = os.ReadFile(at("f"))
	require.NoError(t, err)
	require.Equal(t, "from the simulation\n", string(b))
	info, err := os.Stat(at("f"))
	require.NoError(t, err)
	require.Equal(t, int64(len("from the simulation\n")), info.Size())

	f, ok := func() (*memfs.File, bool) {
		n, err := mfs.Root().Lookup(sim, "f")
		require.NoError(t, err)
		f, ok := n.(*memfs.File)
		return f, ok
	}()
	require.True(t, ok)
	require.NoError(t, f.Setattr(sim, kernfs.AttrChange{Valid: kernfs.ChangeMode, Mode: 0o600}))
	flush()
	info, err = os.Stat(at("f"))
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), info.Mode())

	require.NoError(t, mfs.Root().Rename(sim, "f", mfs.Root(), "g", 0))
	flush()
	_, err = os.Stat(at("f"))
	require.ErrorIs(t, err, fs.ErrNotExist, "the host dropped the old name")
	_, err = os.Stat(at("g"))
	require.NoError(t, err)
	_, err = mfs.Root().Mkdir(sim, "made", 0o755)
	require.NoError(t, err)
	flush()
	info, err = os.Stat(at("made"))
	require.NoError(t, err)
	require.True(t, info.IsDir())
	require.NoError(t, mfs.Root().Unlink(sim, "g"))
	flush()
	_, err = os.Stat(at("g"))
	require.ErrorIs(t, err, fs.ErrNotExist)
}

// A memfs under a generated tree has its own statfs; the rest has none.
func TestStatfsAnswersPerSubtree(t *testing.T) {
	requireMountable(t)
	mfs := newMemfs(nil)
	tree := kernfs.NewStaticDir(0o755,
		kernfs.Entry{Name: "mem", Node: mfs.Root()},
		kernfs.Entry{Name: "gen", Node: kernfs.NewFile(0o444, (&counter{}).render, nil)},
	)
	dir := mountTree(t, tree, Options{})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mem", "f"), make([]byte, 3*4096), 0o644))

	var st unix.Statfs_t
	require.NoError(t, unix.Statfs(filepath.Join(dir, "mem", "f"), &st))
	want := mfs.Statfs()
	require.Equal(t, int64(4096), st.Bsize)
	require.Equal(t, want.Blocks, st.Blocks)
	require.Equal(t, want.Blocks-3, st.Bfree)
	require.Equal(t, want.FilesFree, st.Ffree)
	require.Equal(t, int64(255), st.Namelen)
	require.NoError(t, unix.Statfs(filepath.Join(dir, "gen"), &st))
	require.Equal(t, uint64(0), st.Blocks)
}

// callbacks records what the host tells an open file.
type callbacks struct {
	mu     sync.Mutex
	events []string
}

func (c *callbacks) add(e string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, e)
}

func (c *callbacks) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.events...)
}

func (c *callbacks) Attr() kernfs.Attr                               { return kernfs.Attr{Mode: 0o644} }
func (c *callbacks) Open(*kernfs.Caller, int) (kernfs.Handle, error) { return callbackHandle{c}, nil }

type callbackHandle struct{ c *callbacks }

func (h callbackHandle) Read(*kernfs.Caller, []byte, int64) (int, error) { return 0, nil }
func (h callbackHandle) Write(_ *kernfs.Caller, d []byte, _ int64) (int, error) {
	return len(d), nil
}

func (h callbackHandle) Flush(*kernfs.Caller) error {
	h.c.add("flush")
	return fmt.Errorf("device gone: %w", syscall.EIO)
}

func (h callbackHandle) Fsync(_ *kernfs.Caller, dataOnly bool) error {
	h.c.add(fmt.Sprint("fsync dataOnly=", dataOnly))
	return nil
}

func (h callbackHandle) Release(*kernfs.Caller) { h.c.add("release") }

// Flush, fsync and release reach the handle; a flush's error is close's.
func TestHandlesHearFlushFsyncAndRelease(t *testing.T) {
	requireMountable(t)
	c := &callbacks{}
	dir := mountTree(t, kernfs.NewStaticDir(0o755, kernfs.Entry{Name: "f", Node: c}), Options{})
	f, err := os.OpenFile(filepath.Join(dir, "f"), os.O_RDWR, 0)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, unix.Fdatasync(int(f.Fd())))
	require.ErrorIs(t, f.Close(), syscall.EIO)
	require.Eventually(t, func() bool { return len(c.list()) == 4 }, 5*time.Second, time.Millisecond,
		"release comes after close returns")
	require.Equal(t, []string{"fsync dataOnly=false", "fsync dataOnly=true", "flush", "release"}, c.list())
}

// An error without an errno is a bug: the caller gets EIO, and the log
// says BUG, so no refusal is a silent EIO; an error with one is passed on.
func TestAnErrorWithoutErrnoIsLoggedAsABug(t *testing.T) {
	requireMountable(t)
	var log strings.Builder
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &log}, nil))
	root := kernfs.NewStaticDir(0o755,
		kernfs.Entry{Name: "careless", Node: kernfs.NewFile(0o644, func(*kernfs.Caller) ([]byte, error) {
			return nil, errors.New("forgot the errno")
		}, nil)},
		kernfs.Entry{Name: "careful", Node: kernfs.NewFile(0o644, func(*kernfs.Caller) ([]byte, error) {
			return nil, errno.Errorf(syscall.ESRCH, "no such task")
		}, nil)})
	dir := mountTree(t, root, Options{Log: logger})
	_, err := os.ReadFile(filepath.Join(dir, "careless"))
	require.ErrorIs(t, err, syscall.EIO)
	_, err = os.ReadFile(filepath.Join(dir, "careful"))
	require.ErrorIs(t, err, syscall.ESRCH)
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, log.String(), `BUG: error without an errno`)
	require.Contains(t, log.String(), `err="forgot the errno"`)
	require.Equal(t, 1, strings.Count(log.String(), "BUG"))
}

// lockedWriter lets the server's goroutines log into one builder.
type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

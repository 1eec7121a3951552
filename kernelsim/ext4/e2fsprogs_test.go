package ext4

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"ksim/kernelsim/block"
)

// e2fsprogs finds the host's mkfs.ext4, dumpe2fs, debugfs and e2fsck, the
// oracles these tests hold Format to. Without them the tests skip, except
// as root: `make test` installs e2fsprogs as root (scripts/deps.sh), so
// there their absence is a failure.
func e2fsprogs(t *testing.T) map[string]string {
	t.Helper()
	paths := map[string]string{}
	for _, name := range []string{"mkfs.ext4", "dumpe2fs", "debugfs", "e2fsck"} {
		p, err := exec.LookPath(name)
		for _, dir := range []string{"/usr/sbin", "/sbin"} { // not on every user's PATH
			if err != nil {
				p, err = exec.LookPath(filepath.Join(dir, name))
			}
		}
		if err != nil {
			if os.Geteuid() != 0 {
				t.Skipf("%s not installed (e2fsprogs; `make test` as root installs it)", name)
			}
			t.Fatalf("%s not installed: scripts/deps.sh installs e2fsprogs as root", name)
		}
		paths[name] = p
	}
	return paths
}

// mke2fsConf is mke2fs.conf as e2fsprogs ships it (misc/mke2fs.conf.in),
// the parts mkfs.ext4 reads here, so that the host's own configuration
// cannot change what the oracle makes.
const mke2fsConf = `[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	default_mntopts = acl,user_xattr
	enable_periodic_fsck = 0
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384

[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	small = {
		blocksize = 1024
		inode_ratio = 4096
	}
	floppy = {
		blocksize = 1024
		inode_ratio = 8192
	}
	big = {
		inode_ratio = 32768
	}
	huge = {
		inode_ratio = 65536
	}
`

// e2 runs e2fsprogs with a fixed clock and configuration.
type e2 struct {
	t     *testing.T
	paths map[string]string
	env   []string
}

func newE2(t *testing.T) *e2 {
	paths := e2fsprogs(t)
	conf := filepath.Join(t.TempDir(), "mke2fs.conf")
	require.NoError(t, os.WriteFile(conf, []byte(mke2fsConf), 0o644))
	env := append(os.Environ(), "E2FSPROGS_FAKE_TIME="+strconv.Itoa(testTime), "MKE2FS_CONFIG="+conf, "TZ=UTC")
	return &e2{t: t, paths: paths, env: env}
}

// run returns a tool's standard output and exit status.
func (e *e2) run(tool string, args ...string) (string, int) {
	e.t.Helper()
	cmd := exec.Command(e.paths[tool], args...)
	cmd.Env = e.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return out.String() + errOut.String(), ee.ExitCode()
	}
	require.NoError(e.t, err, "%s %v", tool, args)
	return out.String(), 0
}

// sparseFile makes a sparse file of size bytes.
func sparseFile(t *testing.T, name string, size uint64) string {
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(int64(size)))
	require.NoError(t, f.Close())
	return path
}

// formatFile formats an image file with Format.
func formatFile(t *testing.T, path string, o Options) *Superblock {
	dev, err := block.Open(path)
	require.NoError(t, err)
	defer dev.Close()
	sb, err := Format(dev, o)
	require.NoError(t, err)
	return sb
}

// dataRanges are the parts of a file that hold data, by SEEK_DATA and
// SEEK_HOLE: what must be compared of two sparse images.
func dataRanges(t *testing.T, f *os.File) [][2]int64 {
	st, err := f.Stat()
	require.NoError(t, err)
	var r [][2]int64
	for off := int64(0); off < st.Size(); {
		start, err := unix.Seek(int(f.Fd()), off, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) {
			break
		}
		require.NoError(t, err)
		end, err := unix.Seek(int(f.Fd()), start, unix.SEEK_HOLE)
		require.NoError(t, err)
		r = append(r, [2]int64{start, end})
		off = end
	}
	return r
}

// differences lists where two images differ (up to a few places), reading
// only where either holds data.
func differences(t *testing.T, a, b string) []string {
	fa, err := os.Open(a)
	require.NoError(t, err)
	defer fa.Close()
	fb, err := os.Open(b)
	require.NoError(t, err)
	defer fb.Close()
	sa, _ := fa.Stat()
	sb, _ := fb.Stat()
	if sa.Size() != sb.Size() {
		return []string{fmt.Sprintf("sizes %d and %d", sa.Size(), sb.Size())}
	}
	ranges := append(dataRanges(t, fa), dataRanges(t, fb)...)
	slices.SortFunc(ranges, func(x, y [2]int64) int { return int(x[0] - y[0]) })
	var diffs []string
	bufA, bufB := make([]byte, 1<<20), make([]byte, 1<<20)
	done := int64(0) // everything before is compared
	for _, r := range ranges {
		for off := max(r[0], done); off < r[1] && len(diffs) < 8; {
			n := min(int64(len(bufA)), r[1]-off)
			_, errA := fa.ReadAt(bufA[:n], off)
			_, errB := fb.ReadAt(bufB[:n], off)
			require.True(t, errA == nil || errA == io.EOF)
			require.True(t, errB == nil || errB == io.EOF)
			for i := range n {
				if bufA[i] != bufB[i] && len(diffs) < 8 {
					diffs = append(diffs, fmt.Sprintf("byte %d (block %d of 4096, %d of 1024): %#02x, mke2fs %#02x",
						off+i, (off+i)/4096, (off+i)/1024, bufA[i], bufB[i]))
				}
			}
			off += n
		}
		done = max(done, r[1])
	}
	return diffs
}

func percent(p float64) *float64 { return &p }

// Format makes what mkfs.ext4 makes: e2fsck finds nothing wrong, dumpe2fs
// and debugfs print the same, and the images are the same bytes.
func TestFormatMatchesMke2fs(t *testing.T) {
	e := newE2(t)
	for i, tc := range []struct {
		size   uint64
		bs     uint32
		inodes uint64
		label  string
		rsv    *float64 // -m; 5 if nil
	}{
		{size: 3 << 20, bs: 4096}, // floppy: one inode per 8 KiB
		{size: 16 << 20, bs: 4096, label: "ksim"},
		{size: 128 << 20, bs: 4096},
		{size: 129<<20 + 13<<10, bs: 4096},            // a last group too small to keep
		{size: 1 << 30, bs: 4096, rsv: percent(0)},    // default: one inode per 16 KiB
		{size: 4 << 30, bs: 4096, rsv: percent(12.5)}, // 32 groups, copies in 0, 1, 3, 5, 7, 9, 25, 27
		{size: 3 << 20, bs: 1024},
		{size: 16 << 20, bs: 1024, inodes: 11},   // 8 inodes per group: lost+found in group 1
		{size: 8 << 20, bs: 1024, inodes: 16000}, // more inodes than a group has bits: smaller groups
		{size: 300 << 20, bs: 1024},              // 38 groups, two descriptor blocks
	} {
		name := fmt.Sprintf("%s-%d-N%d", SizeString(tc.size), tc.bs, tc.inodes)
		t.Run(name, func(t *testing.T) {
			ours := sparseFile(t, "ksim.img", tc.size)
			theirs := sparseFile(t, "mke2fs.img", tc.size)
			o := opts(tc.bs)
			o.Seed, o.Inodes, o.Label = uint64(i+1), tc.inodes, tc.label
			if tc.rsv != nil {
				o.ReservedPercent = *tc.rsv
			}
			sb := formatFile(t, ours, o)

			args := []string{"-q", "-F", "-b", strconv.Itoa(int(tc.bs)), "-I", "256",
				"-O", "none,extent,filetype,sparse_super,large_file,dir_nlink,extra_isize",
				"-U", sb.UUID.String(),
				"-E", "hash_seed=" + sb.HashSeed.String() + ",lazy_itable_init=0,lazy_journal_init=0",
				"-m", strconv.FormatFloat(o.ReservedPercent, 'g', -1, 64)}
			if tc.inodes != 0 {
				args = append(args, "-N", strconv.FormatUint(tc.inodes, 10))
			}
			if tc.label != "" {
				args = append(args, "-L", tc.label)
			}
			out, code := e.run("mkfs.ext4", append(args, theirs)...)
			require.Zero(t, code, out)

			out, code = e.run("e2fsck", "-fn", ours)
			require.Zero(t, code, "e2fsck -fn:\n%s", out)
			require.NotContains(t, out, "?", "e2fsck found something to fix:\n%s", out)

			head, code := e.run("dumpe2fs", "-h", ours)
			require.Zero(t, code, head)
			require.Contains(t, head, "\nFilesystem features:      filetype extent sparse_super large_file dir_nlink extra_isize\n")

			for _, args := range [][]string{{"dumpe2fs"}, {"debugfs", "-R", "stat <2>"}, {"debugfs", "-R", "stat <11>"},
				{"debugfs", "-R", "ls -l /"}, {"debugfs", "-R", "ls -l /lost+found"}, {"debugfs", "-R", "stat <1>"}} {
				want, _ := e.run(args[0], append(args[1:], theirs)...)
				got, _ := e.run(args[0], append(args[1:], ours)...)
				require.Equal(t, want, got, "%v", args)
			}
			require.Empty(t, differences(t, ours, theirs), "byte for byte")
		})
	}
}

package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// hostTool finds an e2fsprogs tool, also where a user's PATH may not
// reach (/usr/sbin). Without it the test skips, but not as root: `make
// test` installs e2fsprogs as root (scripts/deps.sh).
func hostTool(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{name, "/usr/sbin/" + name, "/sbin/" + name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Geteuid() != 0 {
		t.Skipf("%s not installed (e2fsprogs)", name)
	}
	t.Fatalf("%s not installed: scripts/deps.sh installs e2fsprogs as root", name)
	return ""
}

func TestMkfsHelpAndUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"mkfs", "--help"}, {"mkfs", "-h"}, {"help", "mkfs"}} {
		out, errOut, code := runKsim(t, args...)
		require.Equal(t, 0, code, "%v", args)
		require.Empty(t, errOut, "%v", args)
		require.Contains(t, out, "Usage: ksim mkfs [flags] IMAGE")
		require.Contains(t, out, "-b, --block-size")
	}
	out, _, _ := runKsim(t, "--help")
	require.Regexp(t, `\n  mkfs +make an ext4 file system`, out, "listed among the commands")

	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-b", "2048", "--size", "16M"}, "-b 2048: want 1024 or 4096"},
		{[]string{"-m", "51", "--size", "16M"}, "-m 51: want 0..50"},
		{[]string{"-L", "a label over sixteen", "--size", "16M"}, `-L "a label over sixteen": want at most 16 bytes`},
		{[]string{"-U", "not-a-uuid", "--size", "16M"}, `-U "not-a-uuid": want a UUID`},
		{[]string{"-N", "1000000", "--size", "16M"}, "-N 1000000: want fewer than 65536"},
		{[]string{"--size", "16X"}, `--size "16X": want bytes, or a number with K, M, G or T`},
		{[]string{"--size", "100K"}, "--size 100K: too small for a file system with 4096-byte blocks; want at least 224K"},
		{[]string{"--size", "100K", "-b", "1024"}, "want at least 104K"},
		{[]string{"--size", "16T"}, "--size 16T: want less than 16T with 4096-byte blocks (2^32 blocks need the 64bit feature)"},
		{[]string{"--size", "2T", "-b", "1024"}, "want less than 1536G with 1024-byte blocks"},
		{nil, "does not exist: give --size to create it"},
	} {
		out, errOut, code := runKsim(t, append(append([]string{"mkfs"}, tc.args...), img)...)
		require.Equal(t, 2, code, "%v: %s", tc.args, errOut)
		require.Empty(t, out)
		require.Contains(t, errOut, tc.want, "%v", tc.args)
		require.NoFileExists(t, img, "%v: a refused command line makes nothing", tc.args)
	}
	_, errOut, code := runKsim(t, "mkfs")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "want exactly one IMAGE")
	require.NoError(t, os.WriteFile(img, nil, 0o644))
	_, errOut, code = runKsim(t, "mkfs", img)
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "is empty: give --size to size it")
}

// `ksim mkfs --size 128M img && e2fsck -fn img` is clean, and the image is
// what mkfs.ext4 reports making.
func TestMkfsMakesACleanFileSystem(t *testing.T) {
	e2fsck := hostTool(t, "e2fsck")
	dumpe2fs := hostTool(t, "dumpe2fs")
	img := filepath.Join(t.TempDir(), "img")
	out, errOut, code := runKsim(t, "mkfs", "--size", "128M", "-L", "ksim", img)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Creating filesystem with 32768 4k blocks and 32768 inodes\n\n", out)
	st, err := os.Stat(img)
	require.NoError(t, err)
	require.Equal(t, int64(128<<20), st.Size())
	fsck, fsckErr, err := runHost(e2fsck, "-fn", img)
	require.NoError(t, err, "%s%s", fsck, fsckErr)
	require.Contains(t, fsck, "11/32768 files (0.0% non-contiguous), 2057/32768 blocks")
	head, _, err := runHost(dumpe2fs, "-h", img)
	require.NoError(t, err)
	require.Contains(t, head, "Filesystem features:      filetype extent sparse_super large_file dir_nlink extra_isize\n")
	require.Contains(t, head, "Filesystem volume name:   ksim\n")
	require.Regexp(t, `Filesystem created: +Thu Jan  1 00:00:00 2026`, runTZ(t, dumpe2fs, "-h", img))

	// More than one group: the UUID and the backups, as mke2fs lists them.
	big := filepath.Join(t.TempDir(), "big")
	out, errOut, code = runKsim(t, "mkfs", "--size", "4G", "--seed", "7", big)
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, regexp.MustCompile(`^Creating filesystem with 1048576 4k blocks and 262144 inodes\n`+
		`Filesystem UUID: [0-9a-f-]{36}\n`+
		`Superblock backups stored on blocks: \n\t32768, 98304, 163840, 229376, 294912, 819200, 884736\n\n$`), out)
	fsck, fsckErr, err = runHost(e2fsck, "-fn", big)
	require.NoError(t, err, "%s%s", fsck, fsckErr)
}

// runTZ runs a host tool in UTC, for dates.
func runTZ(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	require.NoError(t, err)
	return string(out)
}

// An image that holds data is overwritten only with -F; one of holes
// only, as truncate makes, is taken as it is, at its size.
func TestMkfsRefusesToOverwriteWithoutForce(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "img")
	_, errOut, code := runKsim(t, "mkfs", "--size", "16M", "-L", "old", img)
	require.Equal(t, 0, code, errOut)
	before, err := os.ReadFile(img)
	require.NoError(t, err)
	out, errOut, code := runKsim(t, "mkfs", img)
	require.Equal(t, 1, code)
	require.Empty(t, out)
	require.Equal(t, "ksim mkfs: "+img+" contains an ext4 file system labelled 'old', created on 2026-01-01 00:00:00 UTC: use -F to overwrite it\n", errOut)
	after, err := os.ReadFile(img)
	require.NoError(t, err)
	require.True(t, bytes.Equal(before, after), "left alone")

	data := filepath.Join(dir, "data")
	require.NoError(t, os.WriteFile(data, bytes.Repeat([]byte("x"), 1<<20), 0o644))
	_, errOut, code = runKsim(t, "mkfs", "-b", "1024", data)
	require.Equal(t, 1, code)
	require.Equal(t, "ksim mkfs: "+data+" holds data: use -F to overwrite it\n", errOut)
	_, errOut, code = runKsim(t, "mkfs", "-F", "-b", "1024", data)
	require.Equal(t, 0, code, errOut)

	holes := filepath.Join(dir, "holes")
	require.NoError(t, os.WriteFile(holes, nil, 0o644))
	require.NoError(t, os.Truncate(holes, 8<<20))
	out, errOut, code = runKsim(t, "mkfs", holes)
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "Creating filesystem with 2048 4k blocks and 2048 inodes\n\n", out, "the file's own size")
	st, err := os.Stat(holes)
	require.NoError(t, err)
	require.Equal(t, int64(8<<20), st.Size())

	_, errOut, code = runKsim(t, "mkfs", "-F", "--size", "32M", holes)
	require.Equal(t, 0, code, errOut)
	st, err = os.Stat(holes)
	require.NoError(t, err)
	require.Equal(t, int64(32<<20), st.Size(), "--size grows a smaller file")
}

// The same flags and seed make the same bytes; another seed another UUID.
func TestMkfsSameSeedSameImage(t *testing.T) {
	dir := t.TempDir()
	image := func(name string, args ...string) []byte {
		p := filepath.Join(dir, name)
		_, errOut, code := runKsim(t, append(append([]string{"mkfs", "--size", "40M", "-b", "1024"}, args...), p)...)
		require.Equal(t, 0, code, errOut)
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return b
	}
	a, b := image("a", "--seed", "9"), image("b", "--seed", "9")
	require.True(t, bytes.Equal(a, b))
	c := image("c", "--seed", "10")
	uuid := func(img []byte) []byte { return img[1024+0x68 : 1024+0x78] }
	require.NotEqual(t, uuid(a), uuid(c))
	d := image("d", "-U", "01234567-89ab-cdef-0123-456789abcdef")
	require.Equal(t, []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, uuid(d))
}

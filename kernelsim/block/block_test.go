package block

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/errno"
)

// devices returns a Mem and a File device of the same size.
func devices(t *testing.T, sectors uint64) map[string]Device {
	t.Helper()
	path := filepath.Join(t.TempDir(), "img")
	require.NoError(t, os.WriteFile(path, nil, 0o644))
	require.NoError(t, os.Truncate(path, int64(sectors*SectorSize)+100)) // a partial sector is not part of the device
	f, err := Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return map[string]Device{"mem": NewMem(sectors), "file": f}
}

func errnoOfT(t *testing.T, err error) syscall.Errno {
	t.Helper()
	require.Error(t, err)
	e, ok := errno.Of(err)
	require.True(t, ok, "%v carries no errno", err)
	return e
}

func TestReadBackWhatWasWritten(t *testing.T) {
	for name, d := range devices(t, 64) {
		require.Equal(t, uint64(64), d.Sectors(), name)
		p := bytes.Repeat([]byte("0123456789abcdef"), 3*SectorSize/16)
		require.NoError(t, d.WriteAt(p, 7, Meta), name) // across a 4 KiB page of Mem
		got := make([]byte, len(p)+2*SectorSize)
		require.NoError(t, d.ReadAt(got, 6, Data), name)
		require.Equal(t, make([]byte, SectorSize), got[:SectorSize], name)
		require.Equal(t, p, got[SectorSize:SectorSize+len(p)], name)
		require.Equal(t, make([]byte, SectorSize), got[SectorSize+len(p):], name)
		require.NoError(t, d.Flush(), name)
	}
}

func TestDiscardReadsAsZeros(t *testing.T) {
	for name, d := range devices(t, 64) {
		all := bytes.Repeat([]byte{0xa5}, 64*SectorSize)
		require.NoError(t, d.WriteAt(all, 0, Data), name)
		require.NoError(t, d.Discard(3, 20), name) // partial pages at both ends, whole pages between
		got := make([]byte, len(all))
		require.NoError(t, d.ReadAt(got, 0, Data), name)
		want := bytes.Clone(all)
		clear(want[3*SectorSize : 23*SectorSize])
		require.Equal(t, want, got, name)
		require.NoError(t, d.Discard(0, 64), name)
		require.NoError(t, d.ReadAt(got, 0, Data), name)
		require.Equal(t, make([]byte, len(all)), got, name)
	}
}

// A terabyte Mem device holds what was written, and discarding it all
// walks what it holds, not its size.
func TestMemIsSparse(t *testing.T) {
	d := NewMem(1 << 31)
	p := bytes.Repeat([]byte{1}, SectorSize)
	require.NoError(t, d.WriteAt(p, 1<<30, Meta))
	require.NoError(t, d.WriteAt(p, 5, Meta))
	require.Len(t, d.pages, 2)
	require.NoError(t, d.Discard(0, 1<<31))
	require.Empty(t, d.pages)
}

func TestRequestsOutsideTheDeviceFail(t *testing.T) {
	for name, d := range devices(t, 8) {
		sector := make([]byte, SectorSize)
		require.Equal(t, syscall.EIO, errnoOfT(t, d.ReadAt(sector, 8, Meta)), name)
		require.Equal(t, syscall.EIO, errnoOfT(t, d.WriteAt(make([]byte, 2*SectorSize), 7, Meta)), name)
		require.Equal(t, syscall.EIO, errnoOfT(t, d.Discard(1, 8)), name)
		require.Equal(t, syscall.EIO, errnoOfT(t, d.ReadAt(sector, ^uint64(0), Meta)), name, "no overflow")
		require.Equal(t, syscall.EINVAL, errnoOfT(t, d.ReadAt(make([]byte, 100), 0, Meta)), name)
		require.Equal(t, syscall.EINVAL, errnoOfT(t, d.WriteAt(make([]byte, SectorSize+1), 0, Data)), name)
	}
}

func TestOpenMissingImage(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "missing"))
	require.Equal(t, syscall.ENOENT, errnoOfT(t, err))
	require.Contains(t, err.Error(), "missing")
}

// A file image stays sparse: a discard punches holes.
func TestFileDiscardPunchesHoles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img")
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte{7}, 1<<20), 0o644))
	d, err := Open(path)
	require.NoError(t, err)
	defer d.Close()
	require.NoError(t, d.Discard(0, d.Sectors()))
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(path, &st))
	require.Less(t, st.Blocks*512, int64(1<<20), "blocks still allocated")
	require.Equal(t, int64(1<<20), st.Size, "size kept")
}

package devfs

import (
	"io"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernfs"
)

var root = kernfs.NewCaller(0, 0, kernfs.Identity{Pid: 4000000, Tid: 4000000})

func open(t *testing.T, k *kernelsim.Kernel) kernfs.Handle {
	t.Helper()
	n, err := kernfs.Resolve(New(k), root, "kmsg")
	require.NoError(t, err)
	h, err := n.(kernfs.File).Open(root, syscall.O_RDWR)
	require.NoError(t, err)
	return h
}

func newKernel(t *testing.T) *kernelsim.Kernel {
	t.Helper()
	cfg := kernelsim.DefaultConfig()
	cfg.Clock = clock.Manual
	k, err := kernelsim.New(cfg)
	require.NoError(t, err)
	return k
}

// readAll reads records until end of log, one per read.
func readAll(t *testing.T, h kernfs.Handle) []string {
	t.Helper()
	var recs []string
	buf := make([]byte, 8192)
	for {
		n, err := h.Read(root, buf, 0)
		require.NoError(t, err)
		if n == 0 {
			return recs
		}
		rec := string(buf[:n])
		require.Equal(t, 1, strings.Count(rec, "\n"), "one record per read: %q", rec)
		recs = append(recs, rec)
	}
}

func TestKmsgServesTheBootLog(t *testing.T) {
	k := newKernel(t)
	recs := readAll(t, open(t, k))
	require.NotEmpty(t, recs)
	require.Regexp(t, `^5,0,0,-;Linux version 6\.18\.0-ksim `, recs[0])
	for i, r := range recs {
		require.Regexp(t, `^\d+,\d+,\d+,[-c];[^\n]*\n$`, r)
		require.True(t, strings.HasPrefix(r[strings.IndexByte(r, ',')+1:], strconv.Itoa(i)+","), "sequence numbers count up: %q", r)
	}
}

func TestKmsgWrite(t *testing.T) {
	k := newKernel(t)
	h := open(t, k)
	readAll(t, h)
	for _, w := range []string{"<3>hello\n", "plain\n", "<14>info from user\n", "tab\there\\\n"} {
		n, err := h.Write(root, []byte(w), 0)
		require.NoError(t, err)
		require.Equal(t, len(w), n)
	}
	recs := readAll(t, h)
	require.Len(t, recs, 4)
	require.Regexp(t, `^11,\d+,\d+,-;hello\n$`, recs[0], "LOG_USER (1) << 3 | 3")
	require.Regexp(t, `^12,\d+,\d+,-;plain\n$`, recs[1], "default message level 4, LOG_USER")
	require.Regexp(t, `^14,\d+,\d+,-;info from user\n$`, recs[2])
	require.Regexp(t, `^12,\d+,\d+,-;tab\\x09here\\x5c\n$`, recs[3], "non-printables and backslash escaped")

	_, err := h.Write(root, make([]byte, 1025), 0)
	require.ErrorIs(t, err, syscall.EINVAL)
}

func TestKmsgSmallBufferAndSeek(t *testing.T) {
	k := newKernel(t)
	h := open(t, k)
	_, err := h.Read(root, make([]byte, 10), 0)
	require.ErrorIs(t, err, syscall.EINVAL, "a record never comes in pieces")
	s := h.(kernfs.Seeker)
	_, err = s.Seek(root, 0, io.SeekEnd)
	require.NoError(t, err)
	require.Empty(t, readAll(t, h))
	_, err = s.Seek(root, 0, 3) // SEEK_DATA
	require.NoError(t, err)
	require.NotEmpty(t, readAll(t, h))
	_, err = s.Seek(root, 5, io.SeekStart)
	require.ErrorIs(t, err, syscall.ESPIPE)
}

package tests

import (
	"errors"
	"path"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/mm"
	"ksim/kernfs"
)

// badWrites are what a careless script writes: every writable file must
// take or refuse each with an errno, never with an error that has none.
var badWrites = []string{"", "\n", "abc", "-1", "0", "1", "1 2 3", "0x", "+", "99999999999999999999999",
	"comm=", "\x00", strings.Repeat("7", 300)}

// Every refusal carries its errno: one mapping, errno.Of, and no silent EIO.
func TestEveryRefusedWriteCarriesAnErrno(t *testing.T) {
	root, k := tree(t, clock.Manual)
	who := kernfs.NewCaller(0, 0, kernfs.Identity{Pid: 1 << 21, Tid: 1 << 21, Comm: "errno-test"})
	var files []string
	var walk func(dir kernfs.Dir, at string)
	walk = func(dir kernfs.Dir, at string) {
		ents, err := dir.ReadDir(who)
		require.NoError(t, err, at)
		for _, e := range ents {
			p := path.Join(at, e.Name)
			if _, err := strconv.Atoi(e.Name); err == nil && at == "proc" && e.Name != "1" && e.Name != "300" {
				continue // two processes stand for all
			}
			switch n := e.Node.(type) {
			case kernfs.Symlink:
			case kernfs.Dir:
				walk(n, p)
			default:
				if n.Attr().Mode.Perm()&0o222 != 0 {
					files = append(files, p)
				}
			}
		}
	}
	require.NoError(t, kernfs.WriteFile(root, who, "proc/sys/kernel/ns_last_pid", []byte("299")))
	require.NoError(t, kernfs.WriteFile(root, who, "sys/kernel/ksim/tasks/spawn", []byte("comm=victim cpu=10%")))
	walk(root, "")
	require.Greater(t, len(files), 60, "the writable files")
	for _, f := range files {
		for _, in := range badWrites {
			err := kernfs.WriteFile(root, who, f, []byte(in))
			if err == nil {
				continue
			}
			_, ok := errno.Of(err)
			require.True(t, ok, "%s <- %q: %v carries no errno", f, in, err)
		}
	}
	require.Contains(t, files, "proc/300/oom_score_adj")
	_ = k
}

// vm.nr_hugepages and the pool's own nr_hugepages are one path: the same
// write gives the same errno and the same pool on both trees (Linux takes
// any count, and makes the pool as large as memory allows).
func TestHugepagesOnBothTreesAgree(t *testing.T) {
	// (Where Linux's two parsers differ, they differ here too: a number past
	// 64 bits is EINVAL to proc_doulongvec_minmax and ERANGE to kstrtoul,
	// and "512 1" is 512 to the first and EINVAL to the second.)
	for _, in := range []string{"8589934592", "64\n", "abc", "-1", "0"} {
		var results [2]string
		for i, file := range []string{"proc/sys/vm/nr_hugepages", "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"} {
			root, k := tree(t, clock.Manual)
			who := kernfs.NewCaller(0, 0, kernfs.Identity{Pid: 1 << 21, Tid: 1 << 21, Comm: "hugepages"})
			err := kernfs.WriteFile(root, who, file, []byte(in))
			var e syscall.Errno
			errors.As(err, &e)
			total := kernelsim.Get(k, func(m *kernelsim.Machine) uint64 { return m.Mem.HugePool(mm.Huge2M).Total() })
			results[i] = e.Error() + " " + strconv.FormatUint(total, 10)
		}
		require.Equal(t, results[0], results[1], "%q", in)
	}
}

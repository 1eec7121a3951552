package procfs

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernfs"
)

func newTestTree(t *testing.T) (*kernelsim.Kernel, kernfs.Dir) {
	t.Helper()
	cfg := kernelsim.DefaultConfig()
	cfg.Clock = clock.Manual
	k, err := kernelsim.New(cfg)
	require.NoError(t, err)
	return k, New(k)
}

var root = kernfs.NewCaller(0, 0, kernfs.Identity{Pid: 4000000, Tid: 4000000, Comm: "cat", Start: 1})

func read(t *testing.T, d kernfs.Dir, path string) string {
	t.Helper()
	b, err := kernfs.ReadFile(d, root, path)
	require.NoError(t, err)
	return string(b)
}

func TestDump(t *testing.T) {
	_, d := newTestTree(t)
	for _, p := range []string{"meminfo", "stat", "uptime", "loadavg", "version", "cmdline", "1/stat", "1/status", "1/statm", "2/stat", "2/status", "self/stat", "self/status", "sys/kernel/printk", "sys/kernel/pid_max", "sys/kernel/ns_last_pid"} {
		t.Logf("== %s\n%s", p, read(t, d, p))
	}
}

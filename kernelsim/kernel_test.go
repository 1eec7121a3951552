package kernelsim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/sched"
)

func manualKernel(t *testing.T) *testKernel {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Clock = clock.Manual
	k, err := New(cfg)
	require.NoError(t, err)
	return &testKernel{Kernel: k, Machine: k.m}
}

func TestBootTree(t *testing.T) {
	k := manualKernel(t)
	init, kthreadd := k.Sched.Task(1), k.Sched.Task(2)
	require.NotNil(t, init)
	require.NotNil(t, kthreadd)
	require.Equal(t, "systemd", init.Comm)
	require.Equal(t, "kthreadd", kthreadd.Comm)
	require.Equal(t, 0, init.Process().PPid)
	require.Equal(t, 0, kthreadd.Process().PPid)
	for _, pid := range k.Sched.Pids() {
		t.Logf("%d %d %c %s %v", pid, k.Sched.Task(pid).Process().PPid, k.Sched.Task(pid).State, k.Sched.Task(pid).ProcName(), k.Sched.Task(pid).Process().Cmdline)
	}
	_ = sched.Running
}

package kernelsim

import "context"

// testKernel lets a single-goroutine test reach both the Kernel (time)
// and its Machine (state) without the lock: nothing else runs.
type testKernel struct {
	*Kernel
	*Machine
}

// Advance runs ms of simulated time.
func (k *testKernel) Advance(ms uint64) error { return k.Kernel.Advance(context.Background(), ms) }

// Do runs fn: the test is the only goroutine.
func (k *testKernel) Do(fn func() error) error { return fn() }

package kernelsim

import (
	"testing"

	"ksim/kernelsim/clock"
)

// BenchmarkAdvanceOneSecond runs one simulated second of the default machine.
func BenchmarkAdvanceOneSecond(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Clock = clock.Manual
	k, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if err := k.Advance(1000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBoot boots the default machine.
func BenchmarkBoot(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Clock = clock.Manual
	for range b.N {
		if _, err := New(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBoot16TiB boots a 16 TiB, 4-node, 64-CPU machine: memory is
// intervals, so its size costs little.
func BenchmarkBoot16TiB(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Clock, cfg.MemBytes, cfg.NUMANodes, cfg.CPUs = clock.Manual, 16<<40, 4, 64
	for range b.N {
		k, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := k.Advance(1000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBootMaxCPUs boots the largest machine ksim takes, MaxCPUs at
// HZ 1000, and runs it a simulated second: that second must take well
// under one of real time for a realtime clock to keep up.
func BenchmarkBootMaxCPUs(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Clock, cfg.CPUs, cfg.HZ = clock.Manual, MaxCPUs, 1000
	for range b.N {
		k, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := k.Advance(1000); err != nil {
			b.Fatal(err)
		}
	}
}

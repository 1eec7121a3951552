package kernelsim

import (
	"context"
	"testing"
	"time"

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
		if err := k.Advance(context.Background(), 1000); err != nil {
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
	bootAndRunASecond(b, cfg)
}

// BenchmarkBootMaxCPUs boots the largest machine ksim takes, MaxCPUs at
// HZ 1000, and runs it a simulated second: that second must take well
// under one of real time for a realtime clock to keep up.
func BenchmarkBootMaxCPUs(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Clock, cfg.CPUs, cfg.HZ = clock.Manual, MaxCPUs, 1000
	bootAndRunASecond(b, cfg)
}

// bootAndRunASecond boots cfg's machine and runs it one simulated second, b.N times.
func bootAndRunASecond(b *testing.B, cfg Config) {
	for range b.N {
		k, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := k.Advance(context.Background(), 1000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadDuringAdvance reads the clock in a loop while a 64-CPU
// machine advances 10 simulated minutes, and reports the longest a read
// waited: about a slice, however long the advance.
func BenchmarkReadDuringAdvance(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Clock, cfg.CPUs, cfg.NUMANodes, cfg.MemBytes = clock.Manual, 64, 2, 64<<30
	k, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var worst time.Duration
	reads := 0
	b.ResetTimer()
	for range b.N {
		done := make(chan error, 1)
		go func() { done <- k.Advance(context.Background(), 600_000) }()
		for running := true; running; {
			select {
			case err := <-done:
				if err != nil {
					b.Fatal(err)
				}
				running = false
			default:
				start := time.Now()
				Get(k, func(m *Machine) uint64 { return m.Clock.Now() })
				worst = max(worst, time.Since(start))
				reads++
			}
		}
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-read-ms")
	b.ReportMetric(float64(reads)/float64(b.N), "reads/advance")
}

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

package procfs

import (
	"testing"

	"ksim/kernfs"
)

// Rendering cost of the files monitors read most, through the tree without FUSE.
func BenchmarkRender(b *testing.B) {
	_, d := newTestTree(b)
	for _, path := range []string{"stat", "meminfo", "1/stat", "1/status", "loadavg", "interrupts", "softirqs"} {
		b.Run(path, func(b *testing.B) {
			for range b.N {
				if _, err := kernfs.ReadFile(d, reader, path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Package devfs is the simulated /dev. For now it holds kmsg, the kernel
// log as /dev/kmsg serves it.
package devfs

import (
	"ksim/kernelsim"
	"ksim/kernfs"
)

// New builds /dev for a kernel.
func New(k *kernelsim.Kernel) kernfs.Dir {
	return kernfs.NewStaticDir(0o755,
		kernfs.Entry{Name: "kmsg", Node: &kmsgFile{k: k}},
	)
}

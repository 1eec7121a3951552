package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

func runUmount(args []string) error {
	fs := newFlagSet("umount")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("want exactly one MOUNTPOINT")
	}
	return unmount(fs.Arg(0))
}

// unmount detaches a ksim mount; the server sees it go and exits. A busy
// mount is detached lazily. Without root, fusermount3 does it.
func unmount(dir string) error {
	if os.Geteuid() != 0 {
		out, err := exec.Command("fusermount3", "-u", dir).CombinedOutput()
		if err != nil {
			return fmt.Errorf("fusermount3 -u %s: %v: %s", dir, err, out)
		}
		return nil
	}
	err := syscall.Unmount(dir, 0)
	if errors.Is(err, syscall.EBUSY) {
		err = syscall.Unmount(dir, syscall.MNT_DETACH)
	}
	if err != nil {
		return fmt.Errorf("unmount %s: %w", dir, err)
	}
	return nil
}

package main

import (
	"path/filepath"
	"time"

	"ksim/fusemount"
)

// stopTimeout bounds how long umount waits for the server to exit.
const stopTimeout = 30 * time.Second

func runUmount(args []string) error {
	fs := newFlagSet("umount")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("want exactly one MOUNTPOINT")
	}
	dir, err := mountpointPath(fs.Arg(0))
	if err != nil {
		return err
	}
	return fusemount.Stop(dir, stopTimeout)
}

// mountpointPath is dir as mountinfo names it: absolute, with the
// symbolic links of its parents resolved. dir itself is not resolved: a
// dead mount cannot be looked into.
func mountpointPath(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if parent, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		abs = filepath.Join(parent, filepath.Base(abs))
	}
	return abs, nil
}

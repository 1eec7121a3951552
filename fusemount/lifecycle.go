package fusemount

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// fsType is what mountinfo shows for a ksim mount.
const fsType = "fuse.ksim"

// ServerPidXattr is an extended attribute of a mount's root holding the
// pid of the process that serves it, so that Stop can wait for that
// process to exit. It is not listed: the tree stays the kernel's.
const ServerPidXattr = "user.ksim.server_pid"

// ErrDetachedBusy says an unmount found the mount busy and detached it
// lazily (MNT_DETACH): its users keep it until the server exits.
var ErrDetachedBusy = errors.New("mount busy: detached lazily")

// CheckMountpoint says what is wrong with dir as a place to mount, as
// sshfs and fusermount say it. A dead mount left there is fine: Mount
// detaches it.
func CheckMountpoint(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("mountpoint %s is not a directory", dir)
	case err == nil, isDisconnected(err):
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("mountpoint %s does not exist", dir)
	}
	return fmt.Errorf("mountpoint %s: %w", dir, err)
}

// isDisconnected says an error comes from a FUSE mount whose server is
// gone: ENOTCONN, or ECONNABORTED while the kernel tears the connection down.
func isDisconnected(err error) bool {
	return errors.Is(err, syscall.ENOTCONN) || errors.Is(err, syscall.ECONNABORTED)
}

// DetachStale detaches dead FUSE mounts at dir, as a killed server
// leaves them. A live FUSE mount at dir is an error: one server per
// mount point.
func DetachStale(dir string) error {
	for range 16 { // stale mounts may be stacked
		if t, _ := topMount(dir); !strings.HasPrefix(t, "fuse") {
			return nil
		}
		// Attributes may be cached, so ask for something only the server can answer.
		f, err := os.Open(dir)
		if err == nil {
			_, err = f.Readdirnames(1)
			f.Close()
		}
		if !isDisconnected(err) {
			return fmt.Errorf("%s: a live FUSE file system is already mounted there", dir)
		}
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("detach stale mount at %s: %w", dir, err)
		}
	}
	return fmt.Errorf("%s: too many stale mounts", dir)
}

// topMount returns the file system type of the top mount at dir, "" if
// nothing is mounted there.
func topMount(dir string) (fsType string, mounted bool) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(b), "\n") {
		// mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER
		fields := strings.Fields(line)
		if len(fields) < 5 || unescapeMountPath(fields[4]) != dir {
			continue
		}
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) {
				fsType, mounted = fields[i+1], true // the last listed is the top one
			}
		}
	}
	return fsType, mounted
}

// unescapeMountPath undoes mountinfo's octal escapes of space, tab, newline and backslash.
func unescapeMountPath(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
}

// Stop unmounts the ksim mount at dir and returns once its server has
// exited, so the directory can be mounted again or removed at once. A
// busy mount is detached lazily and its server told to exit (SIGTERM);
// its users then get ENOTCONN. A dead mount is just detached.
func Stop(dir string, timeout time.Duration) error {
	t, mounted := topMount(dir)
	switch {
	case !mounted:
		return fmt.Errorf("%s is not a ksim mount: nothing is mounted there", dir)
	case t != fsType:
		return fmt.Errorf("%s is not a ksim mount: %s is mounted there", dir, t)
	}
	pid, err := ServerPid(dir)
	if isDisconnected(err) {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil && !errors.Is(err, syscall.EPERM) {
			return fmt.Errorf("detach stale mount at %s: %w", dir, err)
		}
		return unmountUnprivileged(dir, true) // fusermount3 may detach what we may not
	}
	if err != nil {
		return fmt.Errorf("%s: find its server: %w", dir, err)
	}
	exited, err := watchExit(pid)
	if err != nil {
		return err
	}
	if err := unmount(dir); errors.Is(err, ErrDetachedBusy) {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	} else if err != nil {
		return err
	}
	if !exited(timeout) {
		return fmt.Errorf("unmounted %s, but its server (pid %d) did not exit within %v", dir, pid, timeout)
	}
	return nil
}

// ServerPid asks the server of the mount at dir for its pid.
func ServerPid(dir string) (int, error) {
	buf := make([]byte, 32)
	n, err := unix.Getxattr(dir, ServerPidXattr, buf)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(buf[:n]))
}

// watchExit returns a function that waits up to a timeout for process
// pid to exit and says whether it did. A pidfd is taken now, so a
// reused pid is never mistaken for the server.
func watchExit(pid int) (func(time.Duration) bool, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return func(time.Duration) bool { return true }, nil
	}
	if err != nil {
		return nil, fmt.Errorf("watch server pid %d: %w", pid, err)
	}
	return func(timeout time.Duration) bool {
		defer unix.Close(fd)
		deadline := time.Now().Add(timeout)
		for {
			ms := int(time.Until(deadline).Milliseconds())
			if ms <= 0 {
				return false
			}
			n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
			if err == nil && n > 0 {
				return true
			}
			if err != nil && !errors.Is(err, syscall.EINTR) {
				return false
			}
		}
	}, nil
}

// unmount detaches the mount at dir: directly as root, through
// fusermount3 otherwise. A busy mount is detached lazily (ErrDetachedBusy).
func unmount(dir string) error {
	if os.Geteuid() != 0 {
		return unmountUnprivileged(dir, false)
	}
	err := syscall.Unmount(dir, 0)
	if errors.Is(err, syscall.EBUSY) {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", dir, err)
		}
		return ErrDetachedBusy
	}
	if err != nil {
		return fmt.Errorf("unmount %s: %w", dir, err)
	}
	return nil
}

// unmountUnprivileged runs fusermount3 -u, and -u -z when the mount is
// busy or lazy says so.
func unmountUnprivileged(dir string, lazy bool) error {
	if os.Geteuid() == 0 {
		return nil
	}
	args := []string{"-u", dir}
	if lazy {
		args = []string{"-u", "-z", dir}
	}
	out, err := exec.Command("fusermount3", args...).CombinedOutput()
	if err == nil {
		return nil
	}
	if !lazy && strings.Contains(string(out), "busy") {
		if err := unmountUnprivileged(dir, true); err != nil {
			return err
		}
		return ErrDetachedBusy
	}
	return fmt.Errorf("fusermount3 %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
}

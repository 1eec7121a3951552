package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ksim exec runs a tool where /proc, /sys and /dev/kmsg are the simulated
// ones. The tool must find itself in /proc (ps insists), at the pid it
// sees for itself, without that pid being one of the simulation's. So:
//
//  1. `ksim exec` picks a pid P that no simulated task has, from the top
//     of the pid space, and starts `ksim __exec-init` in a new mount and
//     pid namespace (and a user namespace when not root), where it is pid 1.
//  2. The init sets ns_last_pid of its namespace to P-1 through the host's
//     /proc, then starts `ksim __exec-stage`, which gets P. The stage checks
//     that it did, bind-mounts the simulated trees over /proc, /sys and
//     /dev/kmsg, and execs the tool, which keeps P. If some other process
//     took P first, the stage exits 125 untouched and the init tries again.
//  3. The init forwards signals and the tool's exit status back out.
//
// The tool also gets a UTS namespace with the simulated host name.
//
// The server knows the tool by its host pid and reads its pid in the
// innermost namespace from the host's /proc/PID/status (NStgid).
const (
	execInitCommand  = "__exec-init"
	execStageCommand = "__exec-stage"
	// stageWrongPid is the stage's exit code when it did not get P.
	stageWrongPid = 125
	// pidAttempts bounds the init's retries for P.
	pidAttempts = 20
)

func runExec(args []string) error {
	fs := newFlagSet("exec")
	fs.SetInterspersed(false)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) < 2 {
		return usageErrorf("want MOUNTPOINT -- CMD [ARG...]")
	}
	dir, err := filepath.Abs(rest[0])
	if err != nil {
		return err
	}
	cmdArgs := rest[1:]
	if cmdArgs[0] == "--" {
		cmdArgs = cmdArgs[1:]
	}
	if len(cmdArgs) == 0 {
		return usageErrorf("want a CMD after --")
	}
	if _, err := os.Stat(filepath.Join(dir, "proc/meminfo")); err != nil {
		return fmt.Errorf("%s is not a ksim mount: %w", dir, err)
	}
	pid, err := pickVisitorPid(dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{execInitCommand, dir, strconv.Itoa(pid), "--"}, cmdArgs...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS}
	if os.Geteuid() != 0 {
		// Without root, a user namespace in which we are root gives the
		// capabilities for the mounts and for ns_last_pid.
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
		cmd.SysProcAttr.GidMappingsEnableSetgroups = false
	}
	// Ctrl-C reaches the tool from the terminal; we only pass on what is sent to us.
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT)
	if err := cmd.Start(); err != nil {
		if os.Geteuid() != 0 {
			return fmt.Errorf("cannot make a user namespace to run %s in (is kernel.unprivileged_userns_clone off?): %w", cmdArgs[0], err)
		}
		return fmt.Errorf("start %s in new namespaces: %w", cmdArgs[0], err)
	}
	forwardSignals(cmd.Process)
	return exitStatus(cmd.Wait())
}

// pickVisitorPid finds the highest pid below both pid_max values (the
// host's bounds the new namespace) that no simulated task has.
func pickVisitorPid(dir string) (int, error) {
	limit := readInt("/proc/sys/kernel/pid_max", 32768)
	if sim := readInt(filepath.Join(dir, "proc/sys/kernel/pid_max"), limit); sim < limit {
		limit = sim
	}
	for pid := limit - 1; pid > limit-1000 && pid > 300; pid-- {
		if _, err := os.Lstat(filepath.Join(dir, "proc", strconv.Itoa(pid))); errors.Is(err, os.ErrNotExist) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no free pid below %d for the tool", limit)
}

func readInt(path string, def int) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return def
	}
	return n
}

// forwardSignals passes termination signals sent to us on to p.
func forwardSignals(p *os.Process) {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for s := range sigs {
			_ = p.Signal(s)
		}
	}()
}

// exitStatus turns a child's end into ours: its code, or 128+signal.
func exitStatus(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &exitError{code: 128 + int(ws.Signal())}
		}
		return &exitError{code: ee.ExitCode()}
	}
	return err
}

// execInit is pid 1 of the tool's namespaces; it returns the exit code.
func execInit(args []string) int {
	if len(args) < 4 || args[2] != "--" {
		fmt.Fprintln(os.Stderr, "ksim: bad internal exec arguments")
		return 1
	}
	dir, pidStr, cmdArgs := args[0], args[1], args[3:]
	pid, err := strconv.Atoi(pidStr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ksim: bad internal exec pid")
		return 1
	}
	// Nothing mounted here may leak back to the host.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		fmt.Fprintf(os.Stderr, "ksim exec: make mounts private: %v\n", err)
		return 1
	}
	// uname(2) reports the simulated host name; the release stays the host's.
	if b, err := os.ReadFile(filepath.Join(dir, "proc/sys/kernel/hostname")); err == nil {
		_ = syscall.Sethostname([]byte(strings.TrimSpace(string(b))))
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGQUIT)
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ksim exec: %v\n", err)
		return 1
	}
	for range pidAttempts {
		// The host's /proc is still mounted here; its ns_last_pid acts on the
		// writer's pid namespace, which is ours (kernel/pid_namespace.c).
		if err := os.WriteFile("/proc/sys/kernel/ns_last_pid", []byte(strconv.Itoa(pid-1)), 0); err != nil {
			fmt.Fprintf(os.Stderr, "ksim exec: set ns_last_pid: %v\n", err)
			return 1
		}
		cmd := exec.Command(self, append([]string{execStageCommand, dir, pidStr, "--"}, cmdArgs...)...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "ksim exec: %v\n", err)
			return 1
		}
		forwardSignals(cmd.Process)
		err := cmd.Wait()
		if cmd.Process.Pid != pid {
			continue // another process took P first; the stage refused and left nothing behind
		}
		return exitCode(err)
	}
	fmt.Fprintf(os.Stderr, "ksim exec: could not start the tool at pid %d\n", pid)
	return 1
}

func exitCode(err error) int {
	if err := exitStatus(err); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

// execStage runs as the tool-to-be: it checks its pid, bind-mounts the
// simulated trees and becomes the tool.
func execStage(args []string) int {
	if len(args) < 4 || args[2] != "--" {
		return 1
	}
	dir, cmdArgs := args[0], args[3:]
	if want, _ := strconv.Atoi(args[1]); os.Getpid() != want {
		return stageWrongPid
	}
	binds := []struct{ src, dst string }{
		{filepath.Join(dir, "proc"), "/proc"},
		{filepath.Join(dir, "sys"), "/sys"},
		{filepath.Join(dir, "dev/kmsg"), "/dev/kmsg"},
	}
	for _, b := range binds {
		if _, err := os.Stat(b.src); err != nil {
			continue // a tree the mount does not have yet
		}
		if _, err := os.Stat(b.dst); err != nil {
			continue // nothing to cover, e.g. no /dev/kmsg in a container
		}
		if err := syscall.Mount(b.src, b.dst, "", syscall.MS_BIND, ""); err != nil {
			fmt.Fprintf(os.Stderr, "ksim exec: bind %s over %s: %v\n", b.src, b.dst, err)
			return 1
		}
	}
	path, err := exec.LookPath(cmdArgs[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "ksim exec: %v\n", err)
		return 127
	}
	err = syscall.Exec(path, cmdArgs, os.Environ())
	fmt.Fprintf(os.Stderr, "ksim exec: %s: %v\n", cmdArgs[0], err)
	return 126
}

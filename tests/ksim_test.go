// Package tests mounts ksim and runs real tools against it: the
// end-to-end tests `make test` runs after the unit tests.
package tests

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// ksimBin is the binary under test: $KSIM_BIN (make test sets it), or one
// built for this run.
var ksimBin string

func TestMain(m *testing.M) {
	ksimBin = os.Getenv("KSIM_BIN")
	if ksimBin == "" {
		dir, err := os.MkdirTemp("", "ksim-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		ksimBin = filepath.Join(dir, "ksim")
		out, err := exec.Command("go", "build", "-o", ksimBin, "../cmd/ksim").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build ksim: %v\n%s", err, out)
			os.Exit(1)
		}
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// canMount says whether this machine can run FUSE mounts here: /dev/fuse
// and root (go-fuse mounts directly as root).
func canMount(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
	if os.Geteuid() != 0 {
		t.Skip("end-to-end tests mount as root")
	}
}

// mounted is a running ksim server and its mount point.
type mounted struct {
	t   *testing.T
	dir string
	pid int
	log string // the server's log file
}

var serverPid = regexp.MustCompile(`server pid (\d+)`)

// mount starts `ksim mount -d FLAGS DIR` in a temporary directory and
// unmounts it when the test ends, also when it fails.
func mount(t *testing.T, flags ...string) *mounted {
	t.Helper()
	canMount(t)
	dir := filepath.Join(t.TempDir(), "mnt")
	require.NoError(t, os.Mkdir(dir, 0o755))
	return mountAt(t, dir, flags...)
}

func mountAt(t *testing.T, dir string, flags ...string) *mounted {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "ksim.log")
	args := append([]string{"mount", "-d", "--log", logFile}, flags...)
	out, err := exec.Command(ksimBin, append(args, dir)...).CombinedOutput()
	require.NoError(t, err, "ksim mount: %s", out)
	m := serverPid.FindSubmatch(out)
	require.NotNil(t, m, "no server pid in %q", out)
	pid, _ := strconv.Atoi(string(m[1]))
	mt := &mounted{t: t, dir: dir, pid: pid, log: logFile}
	t.Cleanup(mt.unmount)
	return mt
}

// unmount stops the server and checks that nothing is left mounted.
func (m *mounted) unmount() {
	if isMounted(m.dir) {
		if out, err := exec.Command(ksimBin, "umount", m.dir).CombinedOutput(); err != nil {
			m.t.Errorf("ksim umount: %v: %s", err, out)
			_ = syscall.Unmount(m.dir, syscall.MNT_DETACH)
		}
	}
	waitGone(m.t, m.pid)
	if isMounted(m.dir) {
		m.t.Errorf("%s still mounted", m.dir)
	}
}

func isMounted(dir string) bool {
	b, _ := os.ReadFile("/proc/self/mounts")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == dir {
			return true
		}
	}
	return false
}

// waitGone waits for a process to exit.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for range 500 {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && bytes.Contains(b, []byte(") Z ")) {
			return // exited; its parent (an earlier ksim mount -d) reaps it
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("server %d did not exit", pid)
}

func (m *mounted) path(p string) string { return filepath.Join(m.dir, p) }

// readLog returns what the server has logged so far.
func (m *mounted) readLog() string {
	m.t.Helper()
	b, err := os.ReadFile(m.log)
	require.NoError(m.t, err)
	return string(b)
}

func (m *mounted) read(p string) string {
	m.t.Helper()
	b, err := os.ReadFile(m.path(p))
	require.NoError(m.t, err)
	return string(b)
}

// write writes as `echo VALUE > FILE` does: open with O_TRUNC, one write.
func (m *mounted) write(p, data string) error {
	f, err := os.OpenFile(m.path(p), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(data)
	cerr := f.Close()
	if werr != nil {
		return werr
	}
	return cerr
}

// exec runs a command through `ksim exec` and returns its output.
func (m *mounted) exec(args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(ksimBin, append([]string{"exec", m.dir, "--"}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// field returns the whitespace-separated fields of the line of s starting with key.
func field(t *testing.T, s, key string) []string {
	t.Helper()
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, key) {
			return strings.Fields(line)
		}
	}
	t.Fatalf("no line %q in:\n%s", key, s)
	return nil
}

func atoi(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	require.NoError(t, err)
	return n
}

func readDirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names, nil
}

func runHost(name string, args ...string) (string, string, error) {
	cmd := exec.Command(name, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	return o.String(), e.String(), err
}

func readErr(path string) ([]byte, error) { return os.ReadFile(path) }

func itoa(n int) string { return strconv.Itoa(n) }

package tests

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// runKsim runs the binary under test and returns its outputs and exit status.
func runKsim(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(ksimBin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return o.String(), e.String(), code
}

// Help asked for goes to stdout with status 0; a mistake goes to stderr with 2.
func TestHelpAndUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "mount"}, {"mount", "--help"},
		{"umount", "-h"}, {"exec", "--help"}, {"version", "--help"}} {
		out, errOut, code := runKsim(t, args...)
		require.Equal(t, 0, code, "%v", args)
		require.Empty(t, errOut, "%v", args)
		require.Contains(t, out, "Usage", "%v", args)
	}
	out, _, _ := runKsim(t, "mount", "--help")
	require.Equal(t, 1, strings.Count(out, "--allow-other"), "one line")
	require.Regexp(t, `\n +--allow-other.*\(default: on when root\)\n`, out, "one default, said once")

	for _, args := range [][]string{{}, {"bogus"}, {"mount"}, {"mount", "--bogus", "x"}, {"umount"},
		{"exec", "x"}, {"version", "x"}} {
		out, errOut, code := runKsim(t, args...)
		require.Equal(t, 2, code, "%v", args)
		require.Empty(t, out, "%v", args)
		require.NotEmpty(t, errOut, "%v", args)
	}
}

// Each flag is checked on its own terms before anything starts: the
// message names the flag and its range, and nothing is mounted.
func TestBadFlagsAreRefusedAtOnce(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--cpus", "0"}, "--cpus 0: want 1..1024"},
		{[]string{"--cpus", "5000"}, "--cpus 5000: want 1..1024"},
		{[]string{"--cpus", "9000"}, "NR_CPUS maximum is 8192"},
		{[]string{"--numa", "0"}, "--numa 0: want 1..4"},
		{[]string{"--cpus", "2", "--numa", "3"}, "--numa 3: want 1..2"},
		{[]string{"--hostname", ""}, `--hostname "": want 1..64 bytes`},
		{[]string{"--hostname", strings.Repeat("h", 65)}, "want 1..64 bytes"},
		{[]string{"--mem", "8X"}, `--mem "8X": want bytes, or a number with K, M, G or T`},
		{[]string{"--mem", "100M"}, `--mem "100M": want 256M..64T`},
		{[]string{"--mem", "1P"}, `--mem "1P": want 256M..64T`},
		{[]string{"--swap", "lots"}, `--swap "lots": want bytes`},
		{[]string{"--hz", "200"}, "--hz 200: want one of 100, 250, 300 or 1000"},
		{[]string{"--speed", "0"}, "--speed 0: want a factor above 0"},
		{[]string{"--speed", "1e9"}, "want at most 1024 with 4 CPUs at HZ 250"},
		{[]string{"--clock", "fast"}, `--clock "fast": want realtime or manual`},
		{[]string{"--boot-time", "-1"}, "--boot-time -1: want 0.."},
	} {
		for _, mode := range [][]string{{"-d"}, nil} {
			args := append(append(append([]string{"mount"}, mode...), tc.flags...), dir)
			out, errOut, code := runKsim(t, args...)
			require.Equal(t, 2, code, "%v: %s", args, errOut)
			require.Empty(t, out)
			require.Contains(t, errOut, tc.want, "%v", args)
			require.False(t, isMounted(dir), "%v left a mount", args)
		}
	}
	// The help and the errors speak of the same units.
	out, _, _ := runKsim(t, "mount", "--help")
	require.Regexp(t, `\n +--mem SIZE +memory SIZE: bytes, or a number with K, M, G or T \(binary multiples\); 256M\.\.64T`, out)
}

// A mount point that is missing or not a directory is named as such, in
// both modes, and nothing is left mounted.
func TestMountpointErrors(t *testing.T) {
	canMount(t)
	top := t.TempDir()
	missing := filepath.Join(top, "missing")
	file := filepath.Join(top, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, mode := range [][]string{{"-d"}, nil} {
		_, errOut, code := runKsim(t, append(append([]string{"mount"}, mode...), "--clock", "manual", missing)...)
		require.Equal(t, 1, code)
		require.Equal(t, "ksim mount: mountpoint "+missing+" does not exist\n", errOut)

		_, errOut, code = runKsim(t, append(append([]string{"mount"}, mode...), "--clock", "manual", file)...)
		require.Equal(t, 1, code)
		require.Equal(t, "ksim mount: mountpoint "+file+" is not a directory\n", errOut)
		require.False(t, isMounted(file), "a failed mount leaves nothing behind")
		_, err := os.ReadFile(file)
		require.NoError(t, err)
	}
}

func TestUmountOfWhatIsNotAKsimMount(t *testing.T) {
	canMount(t)
	dir := t.TempDir()
	_, errOut, code := runKsim(t, "umount", dir)
	require.Equal(t, 1, code)
	require.Equal(t, "ksim umount: "+dir+" is not a ksim mount: nothing is mounted there\n", errOut)

	require.NoError(t, syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"))
	defer syscall.Unmount(dir, syscall.MNT_DETACH)
	_, errOut, code = runKsim(t, "umount", dir)
	require.Equal(t, 1, code)
	require.Equal(t, "ksim umount: "+dir+" is not a ksim mount: tmpfs is mounted there\n", errOut)
	require.True(t, isMounted(dir), "it is left alone")
}

// umount returns once the server has gone, so the directory can be
// mounted again, or removed, at once.
func TestUmountWaitsForTheServer(t *testing.T) {
	m := mount(t, "--clock", "manual")
	out, errOut, code := runKsim(t, "umount", m.dir)
	require.Equal(t, 0, code, errOut)
	require.Empty(t, out+errOut)
	require.True(t, exited(m.pid), "server %d still running after umount returned", m.pid)
	require.False(t, isMounted(m.dir))

	again := mountAt(t, m.dir, "--clock", "manual")
	_, errOut, code = runKsim(t, "umount", again.dir)
	require.Equal(t, 0, code, errOut)
	require.True(t, exited(again.pid))
	require.NoError(t, os.RemoveAll(m.dir))
}

// A busy mount is detached at once and its server stops; whoever still
// uses it sees a dead connection, as after fusermount -uz.
func TestUmountOfABusyMount(t *testing.T) {
	m := mount(t, "--clock", "manual")
	user := exec.Command("sleep", "60")
	user.Dir = m.path("proc")
	require.NoError(t, user.Start())
	defer func() { _ = user.Process.Kill(); _ = user.Wait() }()

	_, errOut, code := runKsim(t, "umount", m.dir)
	require.Equal(t, 0, code, errOut)
	require.True(t, exited(m.pid))
	require.False(t, isMounted(m.dir))
	_, err := os.ReadDir("/proc/" + itoa(user.Process.Pid) + "/cwd/")
	require.Error(t, err)
}

// exited says whether a process has exited: gone, or a zombie waiting for
// a parent that is not us.
func exited(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + itoa(pid) + "/stat")
	return err != nil || bytes.Contains(b, []byte(") Z "))
}

// A refused write gets Linux's errno; the server's log says why.
func TestRefusedWritesAreLogged(t *testing.T) {
	m := mount(t, "--clock", "manual")
	require.ErrorIs(t, m.write("sys/kernel/ksim/tasks/spawn", "comm=x bogus=1\n"), syscall.EINVAL)
	require.ErrorIs(t, m.write("proc/irq/24/smp_affinity", "10\n"), syscall.EOVERFLOW)
	require.NoError(t, m.write("sys/devices/system/cpu/cpu3/online", "0\n"))
	require.ErrorIs(t, m.write("proc/irq/24/smp_affinity", "8\n"), syscall.EINVAL)

	log := m.readLog()
	require.Contains(t, log, `msg="write refused" file=sys/kernel/ksim/tasks/spawn errno=EINVAL reason="unknown key \"bogus\""`)
	require.Contains(t, log, `file=proc/irq/24/smp_affinity errno=EOVERFLOW reason="mask \"10\\n\": cpu mask has bits past the last CPU"`)
	require.Contains(t, log, `file=proc/irq/24/smp_affinity errno=EINVAL reason="irq 24: mask holds no online CPU"`)
}

var logPath = regexp.MustCompile(`, log (\S+)\)\n$`)

// mount -d keeps a log by default, named after the mount point, and says where.
func TestDaemonLogsByDefault(t *testing.T) {
	canMount(t)
	dir := filepath.Join(t.TempDir(), "mnt")
	require.NoError(t, os.Mkdir(dir, 0o755))
	out, errOut, code := runKsim(t, "mount", "-d", "--clock", "manual", dir)
	require.Equal(t, 0, code, errOut)
	m := logPath.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	logFile := m[1]
	t.Cleanup(func() {
		_, _, _ = runKsim(t, "umount", dir)
		os.Remove(logFile)
	})
	require.Equal(t, "/var/log/ksim/"+strings.ReplaceAll(strings.TrimPrefix(dir, "/"), "/", "-")+".log", logFile)
	require.Error(t, os.WriteFile(filepath.Join(dir, "sys/kernel/ksim/tasks/kill"), []byte("1 NOSUCHSIG\n"), 0))
	b, err := os.ReadFile(logFile)
	require.NoError(t, err)
	require.Contains(t, string(b), "msg=mounted dir="+dir)
	require.Contains(t, string(b), `file=sys/kernel/ksim/tasks/kill errno=EINVAL`)
}

// umount of a mount whose server was killed detaches it.
func TestUmountOfADeadMount(t *testing.T) {
	m := mount(t, "--clock", "manual")
	require.NoError(t, syscall.Kill(m.pid, syscall.SIGKILL))
	waitGone(t, m.pid)
	_, errOut, code := runKsim(t, "umount", m.dir)
	require.Equal(t, 0, code, errOut)
	require.False(t, isMounted(m.dir))
}

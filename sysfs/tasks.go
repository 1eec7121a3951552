package sysfs

import (
	"errors"
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"ksim/kernelsim"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
)

// tasksDir is /sys/kernel/ksim/tasks: what Linux has no file for, a way
// to fork processes and send signals from a shell.
func (v *view) tasksDir() kernfs.Dir {
	return dir(
		entry("exec", v.attr(0o200, nil, exec)),
		entry("kill", v.attr(0o200, nil, kill)),
		entry("last_pid", v.attr(0o444, func(m *kernelsim.Machine) string { return strconv.Itoa(m.LastSpawned()) }, nil)),
		entry("spawn", v.attr(0o200, nil, spawn)),
	)
}

// spawn parses one line of key=value fields and forks a process; see
// README.md for the keys. Unknown keys and bad values are EINVAL, a
// missing parent ESRCH, a full pid space EAGAIN, no memory ENOMEM;
// nothing is created on error.
func spawn(m *kernelsim.Machine, line string) error {
	fields, err := splitFields(line)
	if err != nil {
		return err
	}
	req := kernelsim.SpawnRequest{Spec: sched.Spec{PPid: 1, Threads: 1}}
	p := &req.Spec.Profile
	p.SystemPPM = 100_000
	sigchld := ""
	var prioSet bool
	for _, f := range fields {
		key, val, ok := strings.Cut(f, "=")
		if !ok {
			return einval("field %q is not key=value", f)
		}
		spec := &req.Spec
		var err error
		switch key {
		case "comm":
			if val == "" {
				err = errors.New("empty")
			}
			spec.Comm = val
		case "cmdline":
			spec.Cmdline = strings.Fields(val)
		case "ppid":
			spec.PPid, err = parseInt(val, 1, sched.PidMaxLimit)
		case "uid":
			var n int
			n, err = parseInt(val, 0, math.MaxInt32)
			spec.Creds.Uid, req.SetUID = uint32(n), true
		case "gid":
			var n int
			n, err = parseInt(val, 0, math.MaxInt32)
			spec.Creds.Gid, req.SetGID = uint32(n), true
		case "threads":
			spec.Threads, err = parseInt(val, 1, 10000)
		case "cpu":
			p.SharePPM, err = parsePercent(val)
		case "sys":
			p.SystemPPM, err = parsePercent(val)
		case "io":
			p.IOPPM, err = parsePercent(val)
		case "burst":
			p.BurstNs, err = parseDuration(val)
		case "pattern":
			switch val {
			case "steady":
				p.Bursty = false
			case "bursty":
				p.Bursty = true
			default:
				err = errors.New("want steady or bursty")
			}
		case "rss":
			req.RSSBytes, err = mm.ParseSize(val)
		case "rss_rate":
			p.RSSRate, err = mm.ParseSize(strings.TrimSuffix(val, "/s"))
		case "lifetime":
			p.LifetimeNs, err = parseDuration(val)
			if err == nil && p.LifetimeNs == 0 {
				err = errors.New("must be positive")
			}
		case "exit":
			spec.ExitCode, err = parseInt(val, 0, 255)
		case "nice":
			spec.Nice, err = parseInt(val, -20, 19)
		case "policy":
			spec.Policy, err = parsePolicy(val)
		case "prio":
			spec.RTPriority, err = parseInt(val, 1, 99)
			prioSet = true
		case "cpus":
			spec.Allowed, err = cpu.ParseList(val, m.CPUs.Possible())
		case "reap":
			var n int
			n, err = parseInt(val, 0, 1)
			spec.NoReap = n == 0
		case "sigchld":
			sigchld = val
			if val != "ignore" && val != "default" && val != "catch" {
				err = errors.New("want ignore, default or catch")
			}
		case "ignore":
			spec.Ignored, err = parseSigs(val)
		case "catch":
			spec.Caught, err = parseSigs(val)
		case "block":
			spec.Blocked, err = parseSigs(val)
		case "oom_score_adj":
			spec.OOMScoreAdj, err = parseInt(val, sched.OOMScoreAdjMin, sched.OOMScoreAdjMax)
		default:
			return einval("unknown key %q", key)
		}
		if err != nil {
			return einval("%s=%q: %v", key, val, err)
		}
	}
	spec := &req.Spec
	switch sigchld {
	case "ignore":
		spec.Ignored = spec.Ignored.With(sched.SIGCHLD)
	case "catch":
		spec.Caught = spec.Caught.With(sched.SIGCHLD)
	}
	if spec.Policy.IsRT() && !prioSet {
		spec.RTPriority = 1
	}
	if spec.Comm == "" && len(spec.Cmdline) > 0 {
		spec.Comm = path.Base(spec.Cmdline[0])
	}
	if spec.Comm == "" {
		return einval("no comm or cmdline")
	}
	if spec.Ignored&spec.Caught != 0 {
		return einval("a signal both ignored and caught")
	}
	_, err = m.Spawn(req)
	return spawnErrno(err)
}

// spawnErrno gives the kernel model's errors their errno.
func spawnErrno(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sched.ErrNoProcess):
		return fmt.Errorf("%w: %w", err, syscall.ESRCH)
	case errors.Is(err, sched.ErrPidSpaceFull):
		return fmt.Errorf("%w: %w", err, syscall.EAGAIN)
	case errors.Is(err, sched.ErrNoMemory):
		return fmt.Errorf("%w: %w", err, syscall.ENOMEM)
	}
	return fmt.Errorf("%w: %w", err, syscall.EINVAL)
}

// kill takes "PID [SIG]" and sends the signal, SIGTERM by default as kill(1).
func kill(m *kernelsim.Machine, line string) error {
	f := strings.Fields(line)
	if len(f) < 1 || len(f) > 2 {
		return einval("want PID [SIGNAL], got %q", line)
	}
	pid, err := parseInt(f[0], 1, sched.PidMaxLimit)
	if err != nil {
		return einval("pid %q: %v", f[0], err)
	}
	sig := sched.SIGTERM
	if len(f) == 2 {
		if sig, err = sched.ParseSignal(f[1]); err != nil {
			return fmt.Errorf("%w: %w", err, syscall.EINVAL)
		}
	}
	return spawnErrno(m.Sched.Kill(pid, sig))
}

// exec takes "PID ARGV..." and makes the process run that program: its
// comm becomes the program's base name. Quote arguments with spaces.
func exec(m *kernelsim.Machine, line string) error {
	f, err := splitFields(line)
	if err != nil {
		return err
	}
	if len(f) < 2 {
		return einval("want PID PROGRAM [ARG...], got %q", line)
	}
	pid, err := parseInt(f[0], 1, sched.PidMaxLimit)
	if err != nil {
		return einval("pid %q: %v", f[0], err)
	}
	exe := f[1]
	if !path.IsAbs(exe) {
		exe = "/usr/bin/" + exe
	}
	return spawnErrno(m.Sched.Exec(pid, exe, f[1:]))
}

// splitFields splits on white space, keeping double-quoted values whole:
// cmdline="nginx -g daemon off;". Inside quotes \" and \\ escape.
func splitFields(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case c == '"':
			inQuote, have = !inQuote, true
		case !inQuote && (c == ' ' || c == '\t' || c == '\n'):
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteByte(c)
			have = true
		}
	}
	if inQuote {
		return nil, einval("unterminated quote in %q", s)
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

func einval(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, syscall.EINVAL)...)
}

func parseInt(s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("want %d..%d", lo, hi)
	}
	return n, nil
}

// parsePercent reads "30%", "12.5%" or "30" as parts per million.
func parsePercent(s string) (uint64, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || f < 0 || f > 100 || math.IsNaN(f) {
		return 0, errors.New("want a percentage 0..100")
	}
	return uint64(math.Round(f * 10_000)), nil
}

// parseDuration reads 2s, 500ms, 1.5m, 1h (Go's syntax), or bare seconds.
func parseDuration(s string) (uint64, error) {
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 {
		return uint64(f * 1e9), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("want a duration like 2s or 500ms")
	}
	return uint64(d), nil
}

func parsePolicy(s string) (sched.Policy, error) {
	switch strings.ToLower(s) {
	case "normal", "other":
		return sched.SchedNormal, nil
	case "batch":
		return sched.SchedBatch, nil
	case "idle":
		return sched.SchedIdle, nil
	case "fifo":
		return sched.SchedFIFO, nil
	case "rr":
		return sched.SchedRR, nil
	}
	return 0, errors.New("want normal, batch, idle, fifo or rr")
}

func parseSigs(s string) (sched.SigSet, error) {
	m, err := sched.ParseSigSet(s)
	if err != nil {
		return 0, err
	}
	if m.Has(sched.SIGKILL) || m.Has(sched.SIGSTOP) {
		return 0, errors.New("SIGKILL and SIGSTOP cannot be caught, ignored or blocked")
	}
	return m, nil
}

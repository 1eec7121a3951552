package kernelsim

import (
	"fmt"
	"math"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/parse"
	"ksim/kernelsim/sched"
)

// SpawnKey is a key of a spawn line (sys/kernel/ksim/tasks/spawn): its
// name, what it is when the line does not give it, and what it means.
// README.md's table of keys is this table (a test holds them equal).
type SpawnKey struct {
	Name, Default, Doc string
	set                func(s *spawnLine, v string) error
}

// spawnLine is a spawn line being read: the request, and what the keys
// decide only together.
type spawnLine struct {
	req     SpawnRequest
	cpus    int // possible CPUs, for cpus=
	nodes   int // NUMA nodes, for mempolicy=
	sigchld string
	prioSet bool
}

// SpawnKeys are the keys a spawn line may give, in the README's order.
var SpawnKeys = []SpawnKey{
	{"comm", "from `cmdline`", "name, 15 bytes of it shown as comm; `comm` or `cmdline` is needed", func(s *spawnLine, v string) error {
		if v == "" {
			return errno.Errorf(syscall.EINVAL, "empty")
		}
		s.req.Comm = v
		return nil
	}},
	{"cmdline", "`comm`", "arguments, quoted when they hold spaces", func(s *spawnLine, v string) error {
		s.req.Cmdline = strings.Fields(v)
		return nil
	}},
	{"ppid", "1", "the parent; the child inherits its credentials, session, terminal and cgroup", func(s *spawnLine, v string) error {
		return intIn(&s.req.PPid, v, 1, sched.PidMaxLimit)
	}},
	{"uid", "the parent's", "user id", func(s *spawnLine, v string) error {
		var n int
		s.req.SetUID = true
		err := intIn(&n, v, 0, math.MaxInt32)
		s.req.Creds.Uid = uint32(n)
		return err
	}},
	{"gid", "`uid` if given, else the parent's", "group id", func(s *spawnLine, v string) error {
		var n int
		s.req.SetGID = true
		err := intIn(&n, v, 0, math.MaxInt32)
		s.req.Creds.Gid = uint32(n)
		return err
	}},
	{"threads", "1", "threads, the main one included", func(s *spawnLine, v string) error {
		return intIn(&s.req.Threads, v, 1, 10000)
	}},
	{"cpu", "0%", "CPU each thread wants on an idle machine, 0–100%", func(s *spawnLine, v string) error {
		return percent(&s.req.Profile.SharePPM, v)
	}},
	{"sys", "10%", "part of its run time in the kernel", func(s *spawnLine, v string) error {
		return percent(&s.req.Profile.SystemPPM, v)
	}},
	{"io", "0%", "part of its time in uninterruptible I/O sleep (D)", func(s *spawnLine, v string) error {
		return percent(&s.req.Profile.IOPPM, v)
	}},
	{"burst", "10ms", "mean CPU burst", func(s *spawnLine, v string) error {
		return duration(&s.req.Profile.BurstNs, v)
	}},
	{"pattern", "steady", "`steady` or `bursty` (exponential bursts and sleeps)", func(s *spawnLine, v string) error {
		switch v {
		case "steady", "bursty":
			s.req.Profile.Bursty = v == "bursty"
			return nil
		}
		return errno.Errorf(syscall.EINVAL, "want steady or bursty")
	}},
	{"rss", "0", "anonymous memory at start, a size like `200M`", func(s *spawnLine, v string) error {
		return size(&s.req.RSSBytes, v)
	}},
	{"rss_rate", "0", "growth of anonymous memory per second, like `1M/s`", func(s *spawnLine, v string) error {
		return size(&s.req.Profile.RSSRate, strings.TrimSuffix(v, "/s"))
	}},
	{"lifetime", "forever", "it exits after this long, like `2s` or `500ms`", func(s *spawnLine, v string) error {
		if err := duration(&s.req.Profile.LifetimeNs, v); err != nil {
			return err
		}
		if s.req.Profile.LifetimeNs == 0 {
			return errno.Errorf(syscall.EINVAL, "must be positive")
		}
		return nil
	}},
	{"exit", "0", "the code it exits with, 0..255", func(s *spawnLine, v string) error {
		return intIn(&s.req.ExitCode, v, 0, 255)
	}},
	{"nice", "0", "-20..19", func(s *spawnLine, v string) error {
		return intIn(&s.req.Nice, v, -20, 19)
	}},
	{"policy", "normal", "`normal`, `batch`, `idle`, `fifo` or `rr`", func(s *spawnLine, v string) error {
		p, ok := map[string]sched.Policy{"normal": sched.SchedNormal, "other": sched.SchedNormal, "batch": sched.SchedBatch,
			"idle": sched.SchedIdle, "fifo": sched.SchedFIFO, "rr": sched.SchedRR}[strings.ToLower(v)]
		if !ok {
			return errno.Errorf(syscall.EINVAL, "want normal, batch, idle, fifo or rr")
		}
		s.req.Policy = p
		return nil
	}},
	{"prio", "1 for fifo and rr", "real-time priority, 1..99", func(s *spawnLine, v string) error {
		s.prioSet = true
		return intIn(&s.req.RTPriority, v, 1, 99)
	}},
	{"cpus", "all", "affinity, a CPU list like `0-1,3`", func(s *spawnLine, v string) error {
		m, err := cpu.ParseUserList(v, s.cpus)
		if err == nil && m.Empty() {
			err = errno.Errorf(syscall.EINVAL, "no CPU")
		}
		s.req.Allowed = m
		return err
	}},
	{"mempolicy", "default", "NUMA memory policy, as set_mempolicy(2) sets it: `local`, `preferred:1`, `bind:0-1`, `interleave:0-1`", func(s *spawnLine, v string) error {
		p, err := mm.ParseMemPolicy(v, s.nodes)
		s.req.MemPolicy = p
		return err
	}},
	{"reap", "1", "0 makes a parent that never waits: its dead children stay zombies", func(s *spawnLine, v string) error {
		var n int
		err := intIn(&n, v, 0, 1)
		s.req.NoReap = n == 0
		return err
	}},
	{"sigchld", "default", "`ignore` (the kernel reaps its children), `default` or `catch`", func(s *spawnLine, v string) error {
		if v != "ignore" && v != "default" && v != "catch" {
			return errno.Errorf(syscall.EINVAL, "want ignore, default or catch")
		}
		s.sigchld = v
		return nil
	}},
	{"ignore", "none", "signals it ignores, a list like `TERM,HUP,USR1`", func(s *spawnLine, v string) error {
		return sigs(&s.req.Ignored, v)
	}},
	{"catch", "none", "signals it catches", func(s *spawnLine, v string) error {
		return sigs(&s.req.Caught, v)
	}},
	{"block", "none", "signals it blocks", func(s *spawnLine, v string) error {
		return sigs(&s.req.Blocked, v)
	}},
	{"oom_score_adj", "0", "-1000..1000", func(s *spawnLine, v string) error {
		return intIn(&s.req.OOMScoreAdj, v, sched.OOMScoreAdjMin, sched.OOMScoreAdjMax)
	}},
}

// ParseSpawn reads a spawn line, key=value fields separated by white
// space (double quotes keep a value with spaces whole; inside them \" and
// \\ escape), into a request for Spawn, on a machine of possibleCPUs
// CPUs and nodes NUMA nodes. An unknown key or a bad value is EINVAL.
func ParseSpawn(line string, possibleCPUs, nodes int) (SpawnRequest, error) {
	s := spawnLine{cpus: possibleCPUs, nodes: nodes, sigchld: "default"}
	s.req.Spec = sched.Spec{PPid: 1, Threads: 1, Allowed: cpu.MaskAll(possibleCPUs)}
	s.req.Profile.SystemPPM = 100_000
	s.req.Profile.BurstNs = sched.DefaultBurstNs
	fields, err := SplitFields(line)
	if err != nil {
		return s.req, err
	}
	for _, f := range fields {
		key, val, ok := strings.Cut(f, "=")
		if !ok {
			return s.req, errno.Errorf(syscall.EINVAL, "field %q is not key=value", f)
		}
		k := spawnKey(key)
		if k == nil {
			return s.req, errno.Errorf(syscall.EINVAL, "unknown key %q", key)
		}
		if err := k.set(&s, val); err != nil {
			return s.req, errno.Errorf(syscall.EINVAL, "%s=%q: %w", key, val, err)
		}
	}
	spec := &s.req.Spec
	switch s.sigchld {
	case "ignore":
		spec.Ignored = spec.Ignored.With(sched.SIGCHLD)
	case "catch":
		spec.Caught = spec.Caught.With(sched.SIGCHLD)
	}
	if spec.Policy.IsRT() && !s.prioSet {
		spec.RTPriority = 1
	}
	if spec.Comm == "" && len(spec.Cmdline) > 0 {
		spec.Comm = path.Base(spec.Cmdline[0])
	}
	switch {
	case spec.Comm == "":
		return s.req, errno.Errorf(syscall.EINVAL, "no comm or cmdline")
	case spec.Ignored&spec.Caught != 0:
		return s.req, errno.Errorf(syscall.EINVAL, "a signal both ignored and caught")
	}
	return s.req, nil
}

func spawnKey(name string) *SpawnKey {
	for i := range SpawnKeys {
		if SpawnKeys[i].Name == name {
			return &SpawnKeys[i]
		}
	}
	return nil
}

// SplitFields splits a control line on white space, keeping double-quoted
// values whole: cmdline="nginx -g daemon off;". Inside quotes \" and \\
// escape. An unterminated quote is EINVAL.
func SplitFields(s string) ([]string, error) {
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
		return nil, errno.Errorf(syscall.EINVAL, "unterminated quote in %q", s)
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

// intIn reads a decimal within lo..hi.
func intIn(dst *int, v string, lo, hi int) error {
	n, err := parse.Int(v, 10)
	if err != nil {
		return err
	}
	if n < int64(lo) || n > int64(hi) {
		return errno.Errorf(syscall.EINVAL, "want %d..%d", lo, hi)
	}
	*dst = int(n)
	return nil
}

// percent reads "30%", "12.5%" or "30" as parts per million.
func percent(dst *uint64, v string) error {
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil || f < 0 || f > 100 || math.IsNaN(f) {
		return errno.Errorf(syscall.EINVAL, "want a percentage 0..100")
	}
	*dst = uint64(math.Round(f * 10_000))
	return nil
}

// duration reads 2s, 500ms, 1.5m, 1h (Go's syntax), or bare seconds.
func duration(dst *uint64, v string) error {
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < math.MaxInt64/1e9 {
		*dst = uint64(f * 1e9)
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return errno.Errorf(syscall.EINVAL, "want a duration like 2s or 500ms")
	}
	*dst = uint64(d)
	return nil
}

func size(dst *uint64, v string) error {
	n, err := parse.Size(v)
	*dst = n
	return err
}

// sigs reads a signal list; SIGKILL and SIGSTOP cannot be caught,
// ignored or blocked.
func sigs(dst *sched.SigSet, v string) error {
	m, err := sched.ParseSigSet(v)
	if err != nil {
		return err
	}
	if m.Has(sched.SIGKILL) || m.Has(sched.SIGSTOP) {
		return errno.Errorf(syscall.EINVAL, "SIGKILL and SIGSTOP cannot be caught, ignored or blocked")
	}
	*dst = m
	return nil
}

// Kill is a write to sys/kernel/ksim/tasks/kill: "PID [SIGNAL]", the
// signal a number or a name with or without SIG, SIGTERM if none (kill(1)).
func (m *Machine) Kill(line string) error {
	f := strings.Fields(line)
	if len(f) < 1 || len(f) > 2 {
		return errno.Errorf(syscall.EINVAL, "want PID [SIGNAL], got %q", line)
	}
	var pid int
	if err := intIn(&pid, f[0], 1, sched.PidMaxLimit); err != nil {
		return fmt.Errorf("pid %q: %w", f[0], err)
	}
	sig := sched.SIGTERM
	if len(f) == 2 {
		var err error
		if sig, err = sched.ParseSignal(f[1]); err != nil {
			return err
		}
	}
	return m.Sched.Kill(pid, sig)
}

// Exec is a write to sys/kernel/ksim/tasks/exec: "PID PROGRAM [ARG...]",
// as SplitFields splits it. The process runs the program, its comm its
// base name; a program without a directory is in /usr/bin.
func (m *Machine) Exec(line string) error {
	f, err := SplitFields(line)
	if err != nil {
		return err
	}
	if len(f) < 2 {
		return errno.Errorf(syscall.EINVAL, "want PID PROGRAM [ARG...], got %q", line)
	}
	var pid int
	if err := intIn(&pid, f[0], 1, sched.PidMaxLimit); err != nil {
		return fmt.Errorf("pid %q: %w", f[0], err)
	}
	exe := f[1]
	if !path.IsAbs(exe) {
		exe = "/usr/bin/" + exe
	}
	return m.Sched.Exec(pid, exe, f[1:])
}

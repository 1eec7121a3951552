package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"ksim/devfs"
	"ksim/fusemount"
	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/parse"
	"ksim/kernelsim/printk"
	"ksim/kernfs"
	"ksim/procfs"
	"ksim/sysfs"
)

// daemonChildEnv marks the detached server that `mount -d` starts; its
// value is the file descriptor on which the child reports readiness.
const daemonChildEnv = "KSIM_DAEMON_CHILD"

// readyTimeout bounds how long `mount -d` waits for the mount to answer.
const readyTimeout = 30 * time.Second

// syncEvery is how often a realtime clock catches up with the host while nobody reads.
const syncEvery = 20 * time.Millisecond

type mountFlags struct {
	daemon     bool
	logFile    string
	cpus       int
	mem        string
	numa       int
	swap       string
	hz         int
	seed       uint64
	clockMode  string
	speed      float64
	allowOther bool
	bootTime   int64
	hostname   string
	debugFuse  bool
}

func runMount(args []string) error {
	fs := newFlagSet("mount")
	var f mountFlags
	def := kernelsim.DefaultConfig()
	fs.BoolVarP(&f.daemon, "daemon", "d", false, "return once the mount answers and keep serving in the background")
	fs.StringVar(&f.logFile, "log", "", "write the server's log to `FILE` (default: stderr; with -d, "+logDirHint+")")
	fs.IntVar(&f.cpus, "cpus", def.CPUs, fmt.Sprintf("number of CPUs, 1..%d", kernelsim.MaxCPUs))
	fs.StringVar(&f.mem, "mem", kernelsim.FormatSize(def.MemBytes), "memory `SIZE`: bytes, or a number with K, M, G or T (binary multiples); "+
		kernelsim.FormatSize(mm.MinMemBytes)+".."+kernelsim.FormatSize(mm.MaxMemBytes))
	fs.IntVar(&f.numa, "numa", def.NUMANodes, "NUMA `NODES`, at most one per CPU: memory and CPUs are split evenly among them")
	fs.StringVar(&f.swap, "swap", "0", "swap partition `SIZE`, as for --mem; 0 for none")
	fs.IntVar(&f.hz, "hz", def.HZ, "CONFIG_HZ: timer ticks per second (100, 250, 300 or 1000); /proc stays in USER_HZ 100")
	fs.Uint64Var(&f.seed, "seed", def.Seed, "seed of the simulation's random choices")
	fs.StringVar(&f.clockMode, "clock", "realtime", "realtime (follows the host's clock) or manual (moves only by sys/kernel/ksim/clock/advance_ms)")
	fs.Float64Var(&f.speed, "speed", def.Speed, fmt.Sprintf("realtime speed multiplier; CPUs × HZ × speed at most %d", kernelsim.MaxTickRate))
	fs.BoolVar(&f.allowOther, "allow-other", false, "let other users use the mount (default: on when root)")
	fs.Int64Var(&f.bootTime, "boot-time", 0, "wall-clock boot time in Unix `SECONDS` (default: 2026-01-01 with a manual clock, now otherwise)")
	fs.StringVar(&f.hostname, "hostname", def.Hostname, fmt.Sprintf("host `NAME`, 1..%d bytes", kernelsim.MaxHostnameLen))
	fs.BoolVar(&f.debugFuse, "debug-fuse", false, "log every FUSE request")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !fs.Changed("allow-other") {
		f.allowOther = os.Geteuid() == 0
	}
	if fs.NArg() != 1 {
		return usageErrorf("want exactly one MOUNTPOINT")
	}
	cfg, err := f.config()
	if err != nil {
		var ce *kernelsim.ConfigError
		if errors.As(err, &ce) {
			value := ce.Value
			if fl := fs.Lookup(ce.Field); fl != nil && fl.Value.Type() == "string" {
				value = strconv.Quote(fl.Value.String()) // as typed, not as parsed
			} else if fl != nil {
				value = fl.Value.String()
			}
			return usageErrorf("--%s %s: %s", ce.Field, value, ce.Want)
		}
		return err
	}
	dir, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		return err
	}
	if err := fusemount.CheckMountpoint(dir); err != nil {
		return err
	}
	if f.daemon {
		return startDaemon(dir, fs)
	}
	return serve(dir, cfg, f)
}

// config turns the flags into a machine, or a usage error that names the
// flag: each flag is checked on its own terms before anything starts.
func (f *mountFlags) config() (kernelsim.Config, error) {
	cfg := kernelsim.DefaultConfig()
	mode, err := clock.ParseMode(f.clockMode)
	if err != nil {
		return cfg, usageErrorf("--clock %q: want realtime or manual", f.clockMode)
	}
	mem, err := parse.Size(f.mem)
	if err != nil {
		return cfg, usageErrorf("--mem %q: %s", f.mem, sizeSyntax)
	}
	swap := uint64(0)
	if f.swap != "0" {
		if swap, err = parse.Size(f.swap); err != nil {
			return cfg, usageErrorf("--swap %q: %s", f.swap, sizeSyntax)
		}
	}
	if f.bootTime < 0 || f.bootTime > kernelsim.MaxBootWallNs/clock.NsecPerSec {
		return cfg, usageErrorf("--boot-time %d: want 0..%d (Unix seconds; 0 for the default)",
			f.bootTime, kernelsim.MaxBootWallNs/clock.NsecPerSec)
	}
	cfg.CPUs, cfg.MemBytes, cfg.HZ, cfg.Seed, cfg.Clock, cfg.Speed = f.cpus, mem, f.hz, f.seed, mode, f.speed
	cfg.NUMANodes, cfg.SwapBytes = f.numa, swap
	cfg.BootWallNs = f.bootTime * clock.NsecPerSec
	cfg.Hostname = f.hostname
	cfg.WallClock = func() int64 { return time.Now().UnixNano() }
	return cfg, cfg.Validate()
}

// sizeSyntax is what --mem and --swap take, as memparse reads it.
const sizeSyntax = "want bytes, or a number with K, M, G or T (binary multiples), such as 512M or 8G"

// serve boots the kernel, mounts it and serves until a signal or an unmount.
func serve(dir string, cfg kernelsim.Config, f mountFlags) error {
	ready := readyPipe()
	logger, closeLog, err := newLogger(f.logFile, ready != nil)
	if err != nil {
		return reportNotReady(ready, err)
	}
	defer closeLog()
	if ready != nil {
		// A daemon keeps no directory busy; paths were made absolute above.
		_ = os.Chdir("/")
	}
	cfg.Console = func(r printk.Record) {
		logger.Info("console", "time", fmt.Sprintf("%5d.%06d", r.TimeNs/1e9, r.TimeNs%1e9/1e3), "msg", r.Text)
	}
	k, err := kernelsim.New(cfg)
	if err != nil {
		return reportNotReady(ready, err)
	}
	// Catch the signals before the mount shows: Ctrl-C or a SIGTERM that
	// comes while it is being made must stop us cleanly, not kill us
	// half way (go-fuse opens a file on the new mount before Mount returns).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	outbox := kernfs.NewOutbox()
	root := kernfs.NewStaticDir(0o755,
		kernfs.Entry{Name: "dev", Node: devfs.New(k)},
		kernfs.Entry{Name: "proc", Node: procfs.New(k)},
		kernfs.Entry{Name: "sys", Node: sysfs.New(k, outbox)},
	)
	bootWallNs := kernelsim.Get(k, func(m *kernelsim.Machine) int64 { return m.Clock.BootWallNs() })
	srv, err := fusemount.Mount(dir, root, fusemount.Options{
		AllowOther: f.allowOther, TimeNs: bootWallNs, Debug: f.debugFuse, Log: logger, Outbox: outbox,
	})
	if err != nil {
		return reportNotReady(ready, err)
	}
	logger.Info("mounted", "dir", dir, "cpus", cfg.CPUs, "mem", cfg.MemBytes, "hz", cfg.HZ,
		"seed", cfg.Seed, "clock", cfg.Clock.String(), "pid", os.Getpid())

	done := make(chan struct{})
	go func() { srv.Wait(); close(done) }()
	go func() {
		t := time.NewTicker(syncEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				k.Sync()
			}
		}
	}()
	if ready != nil {
		if err := waitAnswering(dir, done); err != nil {
			_ = srv.Unmount()
			return reportNotReady(ready, err)
		}
		fmt.Fprintln(ready, "ok")
		ready.Close()
	}

	select {
	case s := <-sigs:
		logger.Info("stopping", "signal", s.String())
		err := srv.Unmount()
		if errors.Is(err, fusemount.ErrDetachedBusy) {
			// Its users keep the detached mount until we exit; then they get ENOTCONN.
			logger.Info("stopped", "dir", dir, "note", err.Error())
			return nil
		}
		if err != nil {
			logger.Error("unmount", "err", err)
			return err
		}
		<-done
		logger.Info("stopped", "dir", dir)
	case <-done:
		logger.Info("unmounted", "dir", dir)
	}
	return nil
}

// waitAnswering polls until the mount serves proc/meminfo.
func waitAnswering(dir string, done <-chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "proc/meminfo")); err == nil && len(b) > 0 {
			return nil
		}
		select {
		case <-done:
			return errors.New("the mount went away before it answered")
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/proc/meminfo did not answer within %v", dir, readyTimeout)
		}
	}
}

func newLogger(path string, daemon bool) (*slog.Logger, func(), error) {
	var w io.Writer = os.Stderr
	closeFn := func() {}
	switch {
	case path != "":
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("log: %w", err)
		}
		w, closeFn = f, func() { f.Close() }
	case daemon:
		w = io.Discard
	}
	return slog.New(slog.NewTextHandler(w, nil)), closeFn, nil
}

// readyPipe is the daemon child's channel to the waiting parent, or nil.
func readyPipe() *os.File {
	fd, err := strconv.Atoi(os.Getenv(daemonChildEnv))
	if err != nil || fd < 3 {
		return nil
	}
	return os.NewFile(uintptr(fd), "ready")
}

func reportNotReady(ready *os.File, err error) error {
	if ready != nil {
		fmt.Fprintln(ready, strings.ReplaceAll(err.Error(), "\n", " ")) // one line: the parent reads one
		ready.Close()
	}
	return err
}

// startDaemon runs `ksim mount` again without -d as a detached child,
// logging to a file, and returns once the child reports that the mount
// answers, or why it failed.
func startDaemon(dir string, fs *pflag.FlagSet) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var childArgs []string
	fs.Visit(func(fl *pflag.Flag) {
		if fl.Name != "daemon" {
			childArgs = append(childArgs, "--"+fl.Name+"="+fl.Value.String())
		}
	})
	logFile := fs.Lookup("log").Value.String()
	if logFile == "" {
		if logFile, err = defaultLogFile(dir); err != nil {
			return err
		}
		childArgs = append(childArgs, "--log="+logFile)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := exec.Command(self, append(append([]string{"mount"}, childArgs...), "--", dir)...)
	cmd.Env = append(os.Environ(), daemonChildEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start server: %w", err)
	}
	w.Close()
	go func() { _ = cmd.Wait() }() // reaped if it fails early; once detached it outlives us
	line, err := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	if err != nil && line == "" {
		return fmt.Errorf("server exited before the mount answered (see %s)", logFile)
	}
	if line != "ok" {
		return errors.New(line)
	}
	fmt.Printf("ksim: mounted at %s (server pid %d, log %s)\n", dir, cmd.Process.Pid, logFile)
	return nil
}

// logDirHint says where defaultLogFile puts a background server's log.
const logDirHint = "a file named after MOUNTPOINT in /var/log/ksim, or $XDG_STATE_HOME/ksim when not root"

// defaultLogFile is where a background server logs unless --log says
// otherwise: a file named after the mount point, as systemd names mount
// units (/tmp/k is tmp-k.log), in /var/log/ksim for root and in
// $XDG_STATE_HOME/ksim (~/.local/state/ksim) for other users.
func defaultLogFile(dir string) (string, error) {
	logDir := "/var/log/ksim"
	if os.Geteuid() != 0 {
		state := os.Getenv("XDG_STATE_HOME")
		if state == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return "", fmt.Errorf("no directory for the log (%v): pass --log FILE", err)
			}
			state = filepath.Join(home, ".local/state")
		}
		logDir = filepath.Join(state, "ksim")
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return "", fmt.Errorf("log directory: %w (pass --log FILE)", err)
	}
	name := strings.ReplaceAll(strings.Trim(dir, "/"), "/", "-")
	if name == "" {
		name = "-"
	}
	return filepath.Join(logDir, name+".log"), nil
}

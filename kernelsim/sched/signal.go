package sched

import (
	"fmt"
	"strconv"
	"strings"
)

// Signal is a signal number, 1..64 (include/uapi/asm-generic/signal.h).
type Signal int

// The standard signals on x86.
const (
	SIGHUP    Signal = 1
	SIGINT    Signal = 2
	SIGQUIT   Signal = 3
	SIGILL    Signal = 4
	SIGTRAP   Signal = 5
	SIGABRT   Signal = 6
	SIGBUS    Signal = 7
	SIGFPE    Signal = 8
	SIGKILL   Signal = 9
	SIGUSR1   Signal = 10
	SIGSEGV   Signal = 11
	SIGUSR2   Signal = 12
	SIGPIPE   Signal = 13
	SIGALRM   Signal = 14
	SIGTERM   Signal = 15
	SIGSTKFLT Signal = 16
	SIGCHLD   Signal = 17
	SIGCONT   Signal = 18
	SIGSTOP   Signal = 19
	SIGTSTP   Signal = 20
	SIGTTIN   Signal = 21
	SIGTTOU   Signal = 22
	SIGURG    Signal = 23
	SIGXCPU   Signal = 24
	SIGXFSZ   Signal = 25
	SIGVTALRM Signal = 26
	SIGPROF   Signal = 27
	SIGWINCH  Signal = 28
	SIGIO     Signal = 29
	SIGPWR    Signal = 30
	SIGSYS    Signal = 31
	SIGRTMIN  Signal = 34 // glibc reserves 32 and 33, so kill -l starts real-time signals at 34
	SIGRTMAX  Signal = 64
	NSIG      Signal = 64
)

var signalNames = [...]string{
	1: "HUP", "INT", "QUIT", "ILL", "TRAP", "ABRT", "BUS", "FPE", "KILL", "USR1",
	"SEGV", "USR2", "PIPE", "ALRM", "TERM", "STKFLT", "CHLD", "CONT", "STOP", "TSTP",
	"TTIN", "TTOU", "URG", "XCPU", "XFSZ", "VTALRM", "PROF", "WINCH", "IO", "PWR", "SYS",
}

// Name is the signal's name as kill -l prints it, without "SIG": "TERM",
// "RTMIN+3", "RTMAX-1".
func (s Signal) Name() string {
	switch {
	case s >= 1 && s <= SIGSYS:
		return signalNames[s]
	case s == SIGRTMIN:
		return "RTMIN"
	case s > SIGRTMIN && s <= SIGRTMIN+15:
		return fmt.Sprintf("RTMIN+%d", s-SIGRTMIN)
	case s > SIGRTMIN+15 && s < SIGRTMAX:
		return fmt.Sprintf("RTMAX-%d", SIGRTMAX-s)
	case s == SIGRTMAX:
		return "RTMAX"
	}
	return strconv.Itoa(int(s))
}

// ParseSignal reads a signal as kill(1) takes it: a number (0 checks
// only that the target exists), or a name with or without "SIG", in any
// case, including RTMIN+n and RTMAX-n.
func ParseSignal(s string) (Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > int(NSIG) || n == 32 || n == 33 {
			return 0, fmt.Errorf("signal %d: %w", n, ErrInvalidSignal)
		}
		return Signal(n), nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	for sig := Signal(1); sig <= NSIG; sig++ {
		if (sig < 32 || sig >= SIGRTMIN) && sig.Name() == name {
			return sig, nil
		}
	}
	return 0, fmt.Errorf("signal %q: %w", s, ErrInvalidSignal)
}

// Action is what a signal does by default (man 7 signal).
type Action int

const (
	ActTerm Action = iota
	ActCore
	ActIgnore
	ActStop
	ActCont
)

// DefaultAction is the disposition a signal has while nobody handles it.
func (s Signal) DefaultAction() Action {
	switch s {
	case SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS:
		return ActCore
	case SIGCHLD, SIGURG, SIGWINCH:
		return ActIgnore
	case SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU:
		return ActStop
	case SIGCONT:
		return ActCont
	}
	return ActTerm
}

// SigSet is a set of signals as the kernel keeps it: bit n-1 for signal n.
type SigSet uint64

// Has says whether s is in the set.
func (m SigSet) Has(s Signal) bool { return s >= 1 && m&(1<<(s-1)) != 0 }

// With returns the set with s added.
func (m SigSet) With(s Signal) SigSet { return m | 1<<(s-1) }

// Without returns the set with s removed.
func (m SigSet) Without(s Signal) SigSet { return m &^ (1 << (s - 1)) }

// AllSignals is every signal.
const AllSignals = ^SigSet(0)

// unblockable are the signals that cannot be blocked, caught or ignored.
var unblockable = SigSet(0).With(SIGKILL).With(SIGSTOP)

// ParseSigSet reads a comma-separated list of signals.
func ParseSigSet(s string) (SigSet, error) {
	var m SigSet
	for _, f := range strings.Split(s, ",") {
		if f == "" {
			continue
		}
		sig, err := ParseSignal(f)
		if err != nil {
			return 0, err
		}
		if sig == 0 {
			return 0, fmt.Errorf("signal 0 in a set: %w", ErrInvalidSignal)
		}
		m = m.With(sig)
	}
	return m, nil
}

// Kill sends sig to the process pid belongs to, as kill(2) does: signal
// 0 only checks that it exists; kernel threads ignore every signal; init
// ignores those it has no handler for, SIGKILL included
// (SIGNAL_UNKILLABLE); a zombie is past caring.
func (s *Scheduler) Kill(pid int, sig Signal) error {
	t := s.tasks[pid]
	if t == nil {
		return fmt.Errorf("kill %d: %w", pid, ErrNoProcess)
	}
	if sig < 0 || sig > NSIG {
		return fmt.Errorf("kill %d: %w", pid, ErrInvalidSignal)
	}
	p := t.proc
	if sig == 0 || p.exited || t.IsKthread() {
		return nil
	}
	if p.Tgid == 1 && !p.Caught.Has(sig) {
		return nil
	}
	s.sendSignal(p, sig, s.clk.Now())
	return nil
}

// Signal sends sig to t's process on the kernel's behalf (the OOM
// killer's SIGKILL, memory failure's SIGBUS): the rules of delivery hold,
// but not init's or kill(2)'s permission checks.
func (s *Scheduler) Signal(t *Task, sig Signal) {
	if t.proc.exited || t.IsKthread() {
		return
	}
	s.sendSignal(t.proc, sig, s.clk.Now())
}

// sendSignal delivers a process-directed signal (kernel/signal.c
// prepare_signal, complete_signal and the default actions of get_signal).
func (s *Scheduler) sendSignal(p *Process, sig Signal, now uint64) {
	stops := SigSet(0).With(SIGSTOP).With(SIGTSTP).With(SIGTTIN).With(SIGTTOU)
	switch {
	case stops.Has(sig):
		s.clearPending(p, SigSet(0).With(SIGCONT))
	case sig == SIGCONT:
		// SIGCONT continues the process whatever its disposition.
		s.clearPending(p, stops)
		s.continueGroup(p, now)
	}
	if s.ignored(p, sig) {
		return
	}
	if s.blockedByAll(p, sig) {
		p.SharedPending = p.SharedPending.With(sig)
		return
	}
	if p.Caught.Has(sig) && !unblockable.Has(sig) {
		return // its handler runs and returns
	}
	switch sig.DefaultAction() {
	case ActTerm, ActCore:
		// The wait status is the signal; no core is dumped with RLIMIT_CORE 0.
		s.exitGroup(p, int(sig), now)
	case ActStop:
		s.stopGroup(p, now)
	}
}

// ignored is sig_ignored: explicitly ignored, or ignored by default and
// not handled, and not blocked (a blocked signal stays pending).
func (s *Scheduler) ignored(p *Process, sig Signal) bool {
	if unblockable.Has(sig) {
		return false
	}
	if s.blockedByAll(p, sig) {
		return false
	}
	return p.Ignored.Has(sig) || (sig.DefaultAction() == ActIgnore && !p.Caught.Has(sig))
}

func (s *Scheduler) blockedByAll(p *Process, sig Signal) bool {
	if unblockable.Has(sig) {
		return false
	}
	for _, t := range p.threads {
		if !t.Blocked.Has(sig) {
			return false
		}
	}
	return len(p.threads) > 0
}

func (s *Scheduler) clearPending(p *Process, m SigSet) {
	p.SharedPending &^= m
	for _, t := range p.threads {
		t.Pending &^= m
	}
}

// stopGroup stops every thread (do_signal_stop). A thread in D stops when
// its I/O completes.
func (s *Scheduler) stopGroup(p *Process, now uint64) {
	p.stopped = true
	for _, t := range p.threads {
		switch t.State {
		case DiskSleep:
			t.run.stopOnWake = true
		case Running, Sleeping, Idle:
			rq := s.offCPU(t, now)
			t.State = Stopped
			if rq != nil {
				s.schedule(rq, now)
			}
		}
	}
}

// continueGroup resumes a stopped process: its threads run again.
func (s *Scheduler) continueGroup(p *Process, now uint64) {
	if !p.stopped {
		for _, t := range p.threads {
			t.run.stopOnWake = false
		}
		return
	}
	p.stopped = false
	for _, t := range p.threads {
		t.run.stopOnWake = false
		if t.State == Stopped {
			s.wake(t, now)
		}
	}
}

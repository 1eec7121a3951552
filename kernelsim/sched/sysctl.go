package sched

import (
	"syscall"

	"ksim/kernelsim/errno"
	"ksim/kernelsim/sysctl"
)

// Sysctls are the kernel tunables the scheduler and the pid allocator own
// (kernel/pid.c, kernel/pid_namespace.c, kernel/sched/rt.c).
func (s *Scheduler) Sysctls() []sysctl.Row {
	return []sysctl.Row{
		// pid_ns_ctl_handler: CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) writes, 0..pid_max.
		sysctl.IntFunc("kernel.ns_last_pid", 0o666,
			func() int64 { return int64(s.LastPid()) },
			func(v int64) error { return s.SetLastPid(int(v)) }).Min(0).
			Handle(func(op sysctl.Op, standard func() error) error {
				if op.Write && !op.Privileged {
					return errno.Errorf(syscall.EPERM, "ns_last_pid: only a privileged writer may set it")
				}
				return standard()
			}),
		sysctl.Int("kernel.pid_max", 0o644, &s.pidAlloc.max).Range(PidMaxMin, PidMaxLimit),
		// sched_rr_handler: any int; 0 or less restores RR_TIMESLICE.
		sysctl.IntFunc("kernel.sched_rr_timeslice_ms", 0o644,
			func() int64 { return int64(s.RRTimesliceMs()) },
			func(v int64) error { s.SetRRTimesliceMs(int(v)); return nil }),
	}
}

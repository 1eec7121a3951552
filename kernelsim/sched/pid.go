package sched

import (
	"slices"
	"syscall"

	"ksim/kernelsim/errno"
)

const (
	// PidMaxLimit is PID_MAX_LIMIT on 64-bit (include/linux/threads.h): 4M.
	PidMaxLimit = 4 * 1024 * 1024
	// ReservedPids are skipped when allocation wraps (kernel/pid.c RESERVED_PIDS).
	ReservedPids = 300
	// PidMaxMin is the lowest pid_max accepted (kernel/pid.c pid_max_min: RESERVED_PIDS + 1).
	PidMaxMin = ReservedPids + 1
	// PidMaxDefault is what systemd sets kernel.pid_max to at boot
	// (since v243, /usr/lib/sysctl.d/50-pid-max.conf), so a systemd machine shows it.
	PidMaxDefault = PidMaxLimit
)

// ErrPidSpaceFull is returned when no pid is free: fork fails with EAGAIN.
var ErrPidSpaceFull = errno.New(syscall.EAGAIN, "no free pid")

// pidAllocator hands out pids as kernel/pid.c alloc_pid does: the next free
// one after the last allocated, wrapping to RESERVED_PIDS at pid_max.
type pidAllocator struct {
	last  int // ns_last_pid
	max   int // pid_max
	inUse func(pid int) bool
}

func (a *pidAllocator) alloc() (int, error) {
	pids, err := a.allocN(1)
	if err != nil {
		return 0, err
	}
	return pids[0], nil
}

// allocN takes n pids, or none if there are not that many free.
func (a *pidAllocator) allocN(n int) ([]int, error) {
	last := a.last
	taken := make([]int, 0, n)
	for len(taken) < n {
		pid, ok := a.next(taken)
		if !ok {
			a.last = last
			return nil, ErrPidSpaceFull
		}
		taken = append(taken, pid)
		a.last = pid
	}
	return taken, nil
}

// next finds the pid idr_alloc_cyclic would give: the first free one
// after last up to pid_max, then from the minimum, which is 1 until the
// cursor has passed RESERVED_PIDS.
func (a *pidAllocator) next(taken []int) (int, bool) {
	low := 1
	if a.last+1 > ReservedPids {
		low = ReservedPids
	}
	free := func(pid int) bool { return !a.inUse(pid) && !slices.Contains(taken, pid) }
	for _, r := range [][2]int{{a.last + 1, a.max}, {low, a.last + 1}} {
		for pid := max(r[0], 1); pid < r[1]; pid++ {
			if free(pid) {
				return pid, true
			}
		}
	}
	return 0, false
}

// setLast sets ns_last_pid, after which the next allocation searches
// (kernel/pid_namespace.c pid_ns_ctl_handler bounds it to 0..pid_max).
func (a *pidAllocator) setLast(n int) error {
	if n < 0 || n > a.max {
		return errno.Errorf(syscall.EINVAL, "ns_last_pid %d: want 0..%d", n, a.max)
	}
	a.last = n
	return nil
}

package sched

import "ksim/kernelsim/clock"

// CPUTimeState is one of the ten states /proc/stat divides a CPU's time into,
// in the order it prints them (fs/proc/stat.c).
type CPUTimeState int

const (
	TimeUser CPUTimeState = iota
	TimeNice
	TimeSystem
	TimeIdle
	TimeIOWait
	TimeIRQ
	TimeSoftIRQ
	TimeSteal
	TimeGuest
	TimeGuestNice
	NumCPUTimeStates
)

// CPUTimes is one CPU's time accounting (kernel_cpustat).
//
// Time is charged exactly, in ns, tick by tick. /proc/stat shows it in
// USER_HZ ticks; converting each state on its own (as Linux's
// nsec_to_clock_t does) would lose up to a tick per state, so the ten
// numbers would not add up to the CPU's uptime. Instead the shown
// counters only ever count up, one USER_HZ tick at a time, each tick going
// to the state whose exact time is furthest ahead of what is shown. The
// shown sum is then always exactly the elapsed USER_HZ ticks, and each
// shown state stays within a tick or two of its exact time.
type CPUTimes struct {
	exact [NumCPUTimeStates]uint64 // ns
	shown [NumCPUTimeStates]uint64 // USER_HZ ticks
	total uint64                   // ns charged in all
}

// charge adds ns to a state and brings the shown counters up to date.
func (c *CPUTimes) charge(state CPUTimeState, ns uint64) {
	c.exact[state] += ns
	c.total += ns
	target := c.total / clock.NsecPerUserTick
	var shownSum uint64
	for _, v := range c.shown {
		shownSum += v
	}
	for ; shownSum < target; shownSum++ {
		best, bestAhead := 0, int64(-1<<62)
		for s := range c.shown {
			ahead := int64(c.exact[s]) - int64(c.shown[s]*clock.NsecPerUserTick)
			if ahead > bestAhead {
				best, bestAhead = s, ahead
			}
		}
		c.shown[best]++
	}
}

// Ticks is the time spent in a state in USER_HZ ticks, as /proc/stat shows it.
func (c *CPUTimes) Ticks(s CPUTimeState) uint64 { return c.shown[s] }

// Ns is the exact time spent in a state.
func (c *CPUTimes) Ns(s CPUTimeState) uint64 { return c.exact[s] }

// Add sums another CPU's times into c, for the aggregate line.
func (c *CPUTimes) Add(o *CPUTimes) {
	for s := range c.exact {
		c.exact[s] += o.exact[s]
		c.shown[s] += o.shown[s]
	}
	c.total += o.total
}

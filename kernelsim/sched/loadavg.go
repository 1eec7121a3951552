package sched

// Fixed-point load average, as include/linux/sched/loadavg.h defines it.
const (
	FShift = 11          // bits of precision
	Fixed1 = 1 << FShift // 1.0
	Exp1   = 1884        // 1/exp(5s/1min) in fixed point
	Exp5   = 2014        // 1/exp(5s/5min)
	Exp15  = 2037        // 1/exp(5s/15min)
)

// calcLoad is one step of the exponential moving average
// (kernel/sched/loadavg.c calc_load): a1 = a0*e + a*(1-e), rounded up
// while the load rises so it can reach the active count.
func calcLoad(load, exp, active uint64) uint64 {
	newload := load*exp + active*(Fixed1-exp)
	if active >= load {
		newload += Fixed1 - 1
	}
	return newload / Fixed1
}

// loadAvg holds avenrun and when it next samples.
type loadAvg struct {
	avenrun    [3]uint64
	nextSample uint64 // tick number since boot
}

// loadFreq is LOAD_FREQ in ticks: every 5 s plus one tick.
func loadFreq(hz int) uint64 { return uint64(5*hz + 1) }

// sample folds the number of active (running + uninterruptible) tasks into
// the three averages. Linux folds the per-CPU counts at calc_load_update
// and computes 10 ticks later; here both happen at the sample tick.
func (l *loadAvg) sample(active uint64) {
	a := active * Fixed1
	l.avenrun[0] = calcLoad(l.avenrun[0], Exp1, a)
	l.avenrun[1] = calcLoad(l.avenrun[1], Exp5, a)
	l.avenrun[2] = calcLoad(l.avenrun[2], Exp15, a)
}

// LoadInt and LoadFrac split a fixed-point load into the integer part and
// hundredths, as fs/proc/loadavg.c prints it (after adding FIXED_1/200 to round).
func LoadInt(x uint64) uint64  { return x >> FShift }
func LoadFrac(x uint64) uint64 { return LoadInt((x & (Fixed1 - 1)) * 100) }

package sched

// Tick runs one scheduler tick on every CPU. tickNs is the time since the
// previous tick; it is charged to whatever each CPU ran in that time
// (kernel/sched/cputime.c account_process_tick).
func (s *Scheduler) Tick(tickNs uint64) {
	s.ticksDone++
	hz := uint64(s.clk.HZ())

	// Demand builds up while a task waits; a long sleeper may bank at most
	// two ticks, so waking does not let it hog the CPU.
	next := make([]*Task, len(s.cpus))
	for _, pid := range s.pids {
		t := s.tasks[pid]
		w := &t.load
		if w.owed < 2*ppm {
			w.owed += w.sharePPM
		}
		w.wakeupsOwed += w.wakeupsPerSec
		for w.wakeupsOwed >= hz {
			w.wakeupsOwed -= hz
			t.VoluntarySwitches++
			s.cpus[t.CPU].nrSwitches += 2 // to the task and back
		}
		// Each CPU runs its runnable task owed the most; pids break ties.
		if best := next[t.CPU]; w.wantsCPU() && (best == nil || w.owed > best.load.owed) {
			next[t.CPU] = t
		}
	}

	for cpu := range s.cpus {
		c := &s.cpus[cpu]
		t := next[cpu]
		if prev := c.curr; prev != t {
			c.nrSwitches++
			if prev != nil {
				if prev.load.wantsCPU() {
					prev.NonVoluntarySwitches++
				} else {
					prev.VoluntarySwitches++
				}
			}
			c.curr = t
		}
		if t == nil {
			c.times.charge(TimeIdle, tickNs)
			continue
		}
		w := &t.load
		w.owed -= ppm
		w.systemOwed += w.systemPPM
		if w.systemOwed >= ppm {
			w.systemOwed -= ppm
			t.Stime += tickNs
			c.times.charge(TimeSystem, tickNs)
		} else {
			t.Utime += tickNs
			if t.Nice > 0 {
				c.times.charge(TimeNice, tickNs)
			} else {
				c.times.charge(TimeUser, tickNs)
			}
		}
	}

	for _, pid := range s.pids {
		t := s.tasks[pid]
		switch {
		case t.State != Running && t.State != Sleeping && t.State != Idle:
			// stopped, blocked and dead tasks keep their state
		case t.load.runnable():
			t.State = Running
		default:
			t.State = t.load.idleState
		}
	}

	if s.ticksDone == s.load.nextSample {
		s.load.sample(uint64(s.NrRunning() + s.NrBlocked()))
		s.load.nextSample += loadFreq(s.clk.HZ())
	}
}

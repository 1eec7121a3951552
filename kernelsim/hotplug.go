package kernelsim

import (
	"fmt"
	"strings"
	"syscall"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/printk"
	"ksim/kernelsim/sched"
)

// SetCPUOnline is a write to /sys/devices/system/cpu/cpuN/online: it takes
// a CPU down (its per-CPU threads park, its tasks and interrupts move
// elsewhere, its ticks stop) or brings it back. The boot CPU and the last
// online CPU cannot go down. Writing the state a CPU is in does nothing.
// Observers hear of each change.
func (m *Machine) SetCPUOnline(c int, on bool) error {
	if c < 0 || c >= m.CPUs.Possible() {
		return errno.Errorf(syscall.ENODEV, "cpu%d: no such CPU", c)
	}
	if on == m.CPUs.Online(c) {
		return nil
	}
	now := m.Clock.Now()
	if on {
		m.CPUs.SetOnline(c, true)
		m.Sched.OnlineCPU(c, now)
		m.IRQ.CPUOnline(c)
		home := cpu.MaskOf(c)
		for _, pid := range m.perCPUKthreads[c] {
			m.Sched.Unpark(pid, now)
			m.Sched.SetKernelAffinity(pid, home, now)
		}
		t := m.CPUs.Topology(c)
		m.Log.Printk(printk.Info, "smpboot: Booting Node %d Processor %d APIC 0x%x", m.CPUs.Node(c), c, t.APICID)
		m.changed(Change{Kind: CPUOnline, CPU: c})
		return nil
	}
	if c == 0 {
		return errno.Errorf(syscall.EBUSY, "cpu0: the boot CPU cannot go offline")
	}
	// Per-CPU threads first, as the smpboot and workqueue hotplug callbacks run before the CPU dies.
	online := cpu.MaskOf(m.CPUs.OnlineList()...)
	if len(online.List()) == 1 {
		return fmt.Errorf("cpu%d: %w", c, sched.ErrLastCPU)
	}
	var rest cpu.Mask
	for _, o := range online.List() {
		if o != c {
			rest.Set(o)
		}
	}
	for _, pid := range m.perCPUKthreads[c] {
		if t := m.Sched.Task(pid); t != nil && parksWithCPU(t.ProcName()) {
			m.Sched.Park(pid, now)
		} else {
			m.Sched.SetKernelAffinity(pid, rest, now) // an unbound worker until the CPU returns
		}
	}
	broken, err := m.Sched.OfflineCPU(c, now)
	if err != nil {
		return errno.Errorf(syscall.EBUSY, "cpu%d: %w", c, err)
	}
	m.CPUs.SetOnline(c, false)
	m.IRQ.CPUOffline(c)
	for _, t := range broken {
		// select_fallback_rq's printk_deferred has no level: the default, warning.
		m.Log.Printk(printk.Warning, "process %d (%s) no longer affine to cpu%d", t.Pid, t.Comm, c)
	}
	m.Log.Printk(printk.Info, "smpboot: CPU %d is now offline", c)
	m.changed(Change{Kind: CPUOnline, CPU: c})
	return nil
}

// parksWithCPU says whether a per-CPU kernel thread is an smpboot thread,
// which parks while its CPU is down (kernel/smpboot.c), rather than a
// workqueue worker, which runs elsewhere meanwhile.
func parksWithCPU(name string) bool {
	for _, p := range []string{"ksoftirqd/", "migration/", "cpuhp/", "idle_inject/"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

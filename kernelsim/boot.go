package kernelsim

import (
	"fmt"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/printk"
	"ksim/kernelsim/sched"
)

const ms = clock.NsecPerMsec

// boot logs what an x86_64 kernel logs while it starts and creates the
// boot tasks, running the clock through it: the kernel is up at about
// 0.3 s, userland at about 2 s.
func (m *Machine) boot() error {
	m.logEarlyBoot()
	m.runTo(40 * ms)
	if err := m.startKthreads(); err != nil {
		return err
	}
	m.logSMPBoot()
	m.runTo(320 * ms)
	m.Log.Printk(printk.Info, "Freeing unused kernel image (initmem) memory: %dK", m.Mem.Image().Init>>10)
	m.Log.Printk(printk.Info, "Run /sbin/init as init process")
	m.runTo(1100 * ms)
	if err := m.startUserland(); err != nil {
		return err
	}
	m.runTo(2400*ms + m.rng.Uint64N(400)*ms)
	return nil
}

func (m *Machine) logEarlyBoot() {
	l, u := m.Log, m.UTS
	l.Printk(printk.Notice, "Linux version %s (%s) (%s) %s", u.Release, u.Builder, u.Compiler, u.Version)
	l.Printk(printk.Info, "Command line: %s", u.Cmdline)
	l.Printk(printk.Info, "BIOS-provided physical RAM map:")
	for _, r := range m.Mem.E820() {
		l.Printk(printk.Info, "BIOS-e820: [mem 0x%016x-0x%016x] %s", r.Start, r.End, r.Type)
	}
	l.Printk(printk.Info, "NX (Execute Disable) protection: active")
	l.Printk(printk.Info, "DMI: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.3-debian-1.16.3-2 04/01/2014")
	l.Printk(printk.Info, "tsc: Detected %d.%03d MHz processor", m.CPUs.Model().KHz/1000, m.CPUs.Model().KHz%1000)
	l.Printk(printk.Info, "Kernel command line: %s", u.Cmdline)
	present, total := m.Mem.PresentPages(), m.Mem.TotalPages()
	img := m.Mem.Image()
	// mm/mm_init.c mem_init_print_info: reserved is what is present but not managed.
	l.Printk(printk.Info, "Memory: %dK/%dK available (%dK kernel code, %dK rwdata, %dK rodata, %dK init, %dK bss, %dK reserved, 0K cma-reserved)",
		total*mm.PageSize>>10, present*mm.PageSize>>10,
		img.Code>>10, img.RWData>>10, img.ROData>>10, img.Init>>10, img.BSS>>10,
		(present-total)*mm.PageSize>>10)
	l.Printk(printk.Info, "SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs=%d, Nodes=1", m.CPUs.Possible())
	l.Printk(printk.Info, "rcu: Preemptible hierarchical RCU implementation.")
	l.Printk(printk.Info, "NR_IRQS: 524544, nr_irqs: %d, preallocated irqs: 16", m.IRQ.NrIRQs())
	l.Printk(printk.Info, "Console: colour VGA+ 80x25")
	l.Printk(printk.Info, "Calibrating delay loop (skipped), value calculated using timer frequency.. %s BogoMIPS (lpj=%d)",
		m.CPUs.Model().BogoMIPS(), m.CPUs.Model().KHz*1000/uint64(m.Clock.HZ()))
	l.Printk(printk.Info, "pid_max: default: %d minimum: %d", max(32768, 1024*m.CPUs.Possible()), sched.PidMaxMin)
}

func (m *Machine) logSMPBoot() {
	l := m.Log
	n := m.CPUs.Possible()
	l.Printk(printk.Info, "smp: Bringing up secondary CPUs ...")
	if n > 1 {
		cpus := ""
		for c := 1; c < n; c++ {
			cpus += fmt.Sprintf(" #%d", c)
		}
		l.Printk(printk.Info, "x86: Booting SMP configuration:")
		l.Printk(printk.Info, ".... node  #0, CPUs:    %s", cpus)
	}
	l.Printk(printk.Info, "smp: Brought up 1 node, %d CPU%s", n, plural(n))
	hundredths := m.CPUs.Model().KHz * 2 / 10 * uint64(n)
	l.Printk(printk.Info, "smpboot: Total of %d processors activated (%d.%02d BogoMIPS)", n, hundredths/100, hundredths%100)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

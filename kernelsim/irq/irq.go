// Package irq models interrupts: descriptors of the machine's interrupt
// lines with their chips, handlers and affinity; the devices and timers
// that raise them; the softirqs they leave behind; and x86's per-CPU
// architectural counters. It counts per CPU what /proc/interrupts,
// /proc/softirqs and /proc/stat show, and tells the scheduler how much
// CPU time handling took.
//
// Delivery is fixed: an interrupt goes to the first online CPU of its
// affinity mask (its effective affinity), so a NIC whose queues keep the
// default all-CPU mask lands on CPU0 until someone (irqbalance, or a write
// to smp_affinity) spreads it, as on the seed experiment's laptop.
package irq

import (
	"fmt"
	"slices"

	"ksim/kernelsim/cpu"
)

// Softirq is a softirq vector (include/linux/interrupt.h), in the order
// /proc/softirqs and /proc/stat print them.
type Softirq int

const (
	HI Softirq = iota
	Timer
	NetTX
	NetRX
	Block
	IRQPoll
	Tasklet
	Sched
	HRTimer
	RCU
	NrSoftirqs
)

// SoftirqNames are the names /proc/softirqs prints.
var SoftirqNames = [NrSoftirqs]string{"HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "IRQ_POLL", "TASKLET", "SCHED", "HRTIMER", "RCU"}

// Legacy ISA interrupts and the IO-APIC's pins (gsi_top of one IO-APIC).
const (
	nrLegacyIRQs = 16
	gsiTop       = 24
)

// NrIRQs is nr_irqs as arch/x86/kernel/apic/vector.c arch_probe_nr_irqs
// sizes it: the IO-APIC's pins, the legacy IRQs, 8 per CPU, and room for
// MSI (16 per pin once there are more pins than legacy IRQs).
func NrIRQs(nrCPUs int) int {
	return gsiTop + nrLegacyIRQs + 8*nrCPUs + gsiTop*16
}

// What handling costs, in ns of CPU time: the hard interrupt, and the
// softirq work per unit. Orders of magnitude of a current server.
const (
	timerIRQNs    = 1_000
	deviceIRQNs   = 2_000
	ipiNs         = 500
	timerSoftNs   = 1_000
	schedSoftNs   = 2_000
	rcuSoftNs     = 1_000
	hrtimerSoftNs = 500
	rxPacketNs    = 1_000 // GRO and the stack up to the socket, per received packet
	txCleanNs     = 200   // freeing a sent packet's buffers in the NAPI poll
	// maxSoftirqNs is MAX_SOFTIRQ_TIME: __do_softirq on interrupt exit runs
	// at most 2 ms before it leaves the rest to ksoftirqd (kernel/softirq.c).
	maxSoftirqNs = 2_000_000
)

// Hooks connect the interrupt model to the scheduler.
type Hooks struct {
	// Charge takes hardirq and softirq time from what a CPU runs.
	Charge func(cpu int, hardNs, softNs uint64)
	// Ksoftirqd gives softirq work that did not fit on interrupt exit to
	// the CPU's ksoftirqd thread.
	Ksoftirqd func(cpu int, ns uint64)
}

// Interrupts is the machine's interrupt state.
type Interrupts struct {
	cpus   *cpu.Set
	hz     int
	nrIRQs int
	hooks  Hooks

	descs           []*Desc // by IRQ number, ascending
	defaultAffinity cpu.Mask

	nic  *NIC
	nvme *NVMe

	arch     [][NrArch]uint64
	softirqs [][NrSoftirqs]uint64
	// pending is the handling time a tick has raised on each CPU.
	pending []work
}

type work struct{ hard, soft uint64 }

// New lays out the interrupts of the default machine on cpus, ticking at hz.
func New(cpus *cpu.Set, hz int, hooks Hooks) *Interrupts {
	n := cpus.Possible()
	s := &Interrupts{
		cpus:            cpus,
		hz:              hz,
		nrIRQs:          NrIRQs(n),
		hooks:           hooks,
		defaultAffinity: cpu.MaskAll(n),
		arch:            make([][NrArch]uint64, n),
		softirqs:        make([][NrSoftirqs]uint64, n),
		pending:         make([]work, n),
	}
	s.addLegacy()
	next := gsiTop
	s.nic = s.addNIC("eth0", "0000:00:03.0", 0, min(n, maxNICQueues), &next)
	s.nvme = s.addNVMe("nvme0", "0000:00:04.0", cpus.Nodes()-1, min(n, maxNVMeQueues), &next)
	clear(s.pending) // what the devices raised while probing is part of boot
	for _, c := range cpus.OnlineList() {
		s.arch[c][MCP] = 1 // mce_timer's first poll as the CPU comes up
	}
	return s
}

// legacyLines are the ISA interrupts a PC registers handlers on, with the
// counts they reach during boot (on the boot CPU, before the local APIC
// timer takes over from the PIT).
var legacyLines = []struct {
	irq, pin    int
	trigger     string
	action      string
	bootCount   uint64
	noBalancing bool
}{
	{irq: 0, pin: 2, trigger: "edge", action: "timer", bootCount: 34, noBalancing: true},
	{irq: 1, pin: 1, trigger: "edge", action: "i8042", bootCount: 9},
	{irq: 4, pin: 4, trigger: "edge", action: "ttyS0"},
	{irq: 8, pin: 8, trigger: "edge", action: "rtc0", bootCount: 1},
	{irq: 9, pin: 9, trigger: "fasteoi", action: "acpi"},
	{irq: 12, pin: 12, trigger: "edge", action: "i8042", bootCount: 144},
}

// addLegacy makes the 16 ISA descriptors, on the IO-APIC's pins; only
// some have handlers.
func (s *Interrupts) addLegacy() {
	for irq := range nrLegacyIRQs {
		d := s.newDesc(irq, "IO-APIC", irq, "edge", NoNode)
		for _, l := range legacyLines {
			if l.irq == irq {
				d.HWIRQ, d.Trigger, d.Actions, d.NoBalancing = l.pin, l.trigger, []string{l.action}, l.noBalancing
				d.counts[0] = l.bootCount
			}
		}
		s.add(d)
	}
}

func (s *Interrupts) newDesc(irq int, chip string, hwirq int, trigger string, node int) *Desc {
	return &Desc{IRQ: irq, Chip: chip, HWIRQ: hwirq, Trigger: trigger, Node: node,
		affinity: s.defaultAffinity, effective: -1, counts: make([]uint64, s.cpus.Possible())}
}

func (s *Interrupts) add(d *Desc) {
	s.descs = append(s.descs, d)
	s.retarget(d)
}

// NrIRQs is the number of IRQ numbers /proc/stat lists.
func (s *Interrupts) NrIRQs() int { return s.nrIRQs }

// Descs lists the descriptors in IRQ order. The slice must not be modified.
func (s *Interrupts) Descs() []*Desc { return s.descs }

// Desc returns the descriptor of an IRQ number, or nil.
func (s *Interrupts) Desc(irq int) *Desc {
	i, ok := slices.BinarySearchFunc(s.descs, irq, func(d *Desc, n int) int { return d.IRQ - n })
	if !ok {
		return nil
	}
	return s.descs[i]
}

// IRQCount is the number of times irq fired on all CPUs.
func (s *Interrupts) IRQCount(irq int) uint64 {
	if d := s.Desc(irq); d != nil {
		return d.Total()
	}
	return 0
}

// Total is the first number of /proc/stat's intr line: every numbered
// interrupt and every architectural one on every possible CPU
// (kstat_irqs plus arch_irq_stat_cpu and arch_irq_stat).
func (s *Interrupts) Total() uint64 {
	var n uint64
	for _, d := range s.descs {
		n += d.Total()
	}
	for c := range s.arch {
		for _, v := range s.arch[c] {
			n += v
		}
	}
	return n + s.ErrCount()
}

// SoftirqCount is how often vector v ran on cpu.
func (s *Interrupts) SoftirqCount(c int, v Softirq) uint64 { return s.softirqs[c][v] }

// DefaultAffinity is /proc/irq/default_smp_affinity: the mask new
// interrupts start with.
func (s *Interrupts) DefaultAffinity() cpu.Mask { return s.defaultAffinity }

// SetDefaultAffinity changes the mask for interrupts set up from now on
// (kernel/irq/proc.c default_affinity_write). A mask with no online CPU
// is refused.
func (s *Interrupts) SetDefaultAffinity(m cpu.Mask) error {
	if !m.Intersects(s.onlineMask()) {
		return ErrNoOnlineCPU
	}
	s.defaultAffinity = m
	return nil
}

// SetAffinity is a write of smp_affinity or smp_affinity_list: managed and
// no-balancing interrupts refuse, a mask must hold an online CPU, and the
// interrupt moves to the first online CPU of it.
func (s *Interrupts) SetAffinity(irq int, m cpu.Mask) error {
	d := s.Desc(irq)
	if d == nil {
		return fmt.Errorf("irq %d: %w", irq, ErrNoSuchIRQ)
	}
	if !d.UserSettable() {
		return fmt.Errorf("irq %d: %w", irq, ErrNotSettable)
	}
	if !m.Intersects(s.onlineMask()) {
		return fmt.Errorf("irq %d: %w", irq, ErrNoOnlineCPU)
	}
	d.affinity = m
	s.retarget(d)
	return nil
}

// retarget programs an interrupt on the first online CPU of its mask;
// with none, a managed interrupt shuts down until one comes back.
func (s *Interrupts) retarget(d *Desc) {
	d.effective = d.affinity.And(s.onlineMask()).First()
}

func (s *Interrupts) onlineMask() cpu.Mask { return cpu.MaskOf(s.cpus.OnlineList()...) }

// CPUOffline moves interrupts off a CPU that has just gone offline
// (kernel/irq/cpuhotplug.c irq_migrate_all_off_this_cpu): one whose mask
// holds no other online CPU gets every online CPU as its new mask, except
// a managed one, which shuts down.
func (s *Interrupts) CPUOffline(c int) {
	online := s.onlineMask()
	for _, d := range s.descs {
		if d.effective != c {
			continue
		}
		if !d.affinity.Intersects(online) && !d.Managed {
			d.affinity = online
		}
		s.retarget(d)
	}
}

// CPUOnline lets a returning CPU take interrupts again: managed ones that
// were shut down start on it (irq_affinity_online_cpu). The others stay
// where they are until their affinity is written, as on Linux.
func (s *Interrupts) CPUOnline(c int) {
	s.arch[c][MCP]++ // mce_timer restarts with a poll
	for _, d := range s.descs {
		if d.Managed && d.effective < 0 {
			s.retarget(d)
		}
	}
}

// fire counts n interrupts of d on its effective CPU and their hardirq
// time; a shut-down interrupt raises nothing. It returns the CPU, or -1.
func (s *Interrupts) fire(d *Desc, n uint64) int {
	c := d.effective
	if c < 0 || n == 0 {
		return -1
	}
	d.counts[c] += n
	s.pending[c].hard += n * deviceIRQNs
	return c
}

// raise counts n runs of a softirq vector on cpu and the work they do.
func (s *Interrupts) raise(c int, v Softirq, n, workNs uint64) {
	s.softirqs[c][v] += n
	s.pending[c].soft += workNs
}

// Tick is one timer tick (numbered tick) on every online CPU: the local
// timer interrupt and the softirqs it raises, the devices' interrupts for
// the tick's span, and then the CPU time it all took.
func (s *Interrupts) Tick(tick uint64) {
	online := s.cpus.OnlineList()
	for _, c := range online {
		s.archTick(c, tick)
		s.tickSoftirqs(c, tick)
	}
	s.nic.tick(s)
	s.flush(online)
}

// tickSoftirqs are the softirqs a tick raises: the timer wheel has
// expiring timers on about one tick in four, the scheduler balances about
// every third tick, RCU advances a grace period about every eighth, and
// an hrtimer softirq (a timer too coarse for hardirq context) runs now and then.
func (s *Interrupts) tickSoftirqs(c int, tick uint64) {
	t := tick + uint64(c)
	if t%4 == 0 {
		s.raise(c, Timer, 1, timerSoftNs)
	}
	if t%3 == 0 {
		s.raise(c, Sched, 1, schedSoftNs)
	}
	if t%8 == 0 {
		s.raise(c, RCU, 1, rcuSoftNs)
	}
	if t%64 == 0 {
		s.raise(c, HRTimer, 1, hrtimerSoftNs)
	}
}

// flush hands the time the tick's interrupts took to the scheduler:
// hardirq time and up to MAX_SOFTIRQ_TIME of softirq work on the CPU, the
// rest of the softirq work to ksoftirqd. Work beyond one tick per CPU is
// what a saturated CPU cannot do: the device drops it.
func (s *Interrupts) flush(cpus []int) {
	tickNs := uint64(1_000_000_000 / s.hz)
	inlineMax := min(maxSoftirqNs, tickNs/2)
	for _, c := range cpus {
		w := s.pending[c]
		s.pending[c] = work{}
		hard := min(w.hard, tickNs/2)
		soft := min(w.soft, inlineMax)
		if s.hooks.Charge != nil && hard+soft > 0 {
			s.hooks.Charge(c, hard, soft)
		}
		if deferred := min(w.soft-soft, tickNs); deferred > 0 && s.hooks.Ksoftirqd != nil {
			s.hooks.Ksoftirqd(c, deferred)
		}
	}
}

// charge puts handling time outside a tick (an IPI, a disk completion) on a CPU at once.
func (s *Interrupts) charge(c int, hard, soft uint64) {
	if s.hooks.Charge != nil {
		s.hooks.Charge(c, hard, soft)
	}
}

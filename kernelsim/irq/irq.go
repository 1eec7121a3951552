// Package irq counts interrupts and softirqs per CPU.
//
// For now it knows the local timer interrupt that every tick raises and the
// softirqs ticks cause; IRQ descriptors, devices and affinity come with the
// interrupts-and-CPUs issue.
package irq

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

// Stats holds the counters.
type Stats struct {
	nrIRQs     int
	perIRQ     map[int][]uint64 // irq -> per-CPU counts; only IRQs that fired
	localTimer []uint64         // LOC: the local APIC timer, one per tick per CPU
	softirqs   [][NrSoftirqs]uint64
}

// New returns zeroed counters for nrCPUs CPUs.
func New(nrCPUs int) *Stats {
	return &Stats{
		nrIRQs:     NrIRQs(nrCPUs),
		perIRQ:     make(map[int][]uint64),
		localTimer: make([]uint64, nrCPUs),
		softirqs:   make([][NrSoftirqs]uint64, nrCPUs),
	}
}

// NrIRQs is the number of IRQ numbers /proc/stat lists.
func (s *Stats) NrIRQs() int { return s.nrIRQs }

// Tick counts what one scheduler tick on cpu causes: the local timer
// interrupt, and the softirqs it raises. The timer wheel has expiring
// timers on about one tick in four, the scheduler balances about every
// third tick and RCU advances a grace period about every eighth.
func (s *Stats) Tick(cpu int, tick uint64) {
	s.localTimer[cpu]++
	sv := &s.softirqs[cpu]
	if (tick+uint64(cpu))%4 == 0 {
		sv[Timer]++
	}
	if (tick+uint64(cpu))%3 == 0 {
		sv[Sched]++
	}
	if (tick+uint64(cpu))%8 == 0 {
		sv[RCU]++
	}
}

// IRQCount is the number of times irq fired on all CPUs.
func (s *Stats) IRQCount(irq int) uint64 {
	var n uint64
	for _, v := range s.perIRQ[irq] {
		n += v
	}
	return n
}

// Total is the sum of all interrupts, numbered and architectural, as the
// first number of /proc/stat's intr line (kstat_irqs plus arch_irq_stat).
func (s *Stats) Total() uint64 {
	var n uint64
	for _, counts := range s.perIRQ {
		for _, v := range counts {
			n += v
		}
	}
	for _, v := range s.localTimer {
		n += v
	}
	return n
}

// SoftirqCount is how often vector v ran on cpu.
func (s *Stats) SoftirqCount(cpu int, v Softirq) uint64 { return s.softirqs[cpu][v] }

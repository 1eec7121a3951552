// Package kernelsim is the simulated Linux kernel: a Machine holds the
// clock, the CPUs, memory, tasks, interrupts and the kernel log, and one
// timer queue drives them; a Kernel guards a Machine with its lock and
// runs time forward in slices (lock.go). It knows nothing of FUSE; the
// views in procfs, sysfs and devfs render its state and call its methods.
//
// Everything here is deterministic: one seeded random source, one
// simulated clock, no host time except through Config.WallClock in
// realtime mode, and no dependence on map order.
package kernelsim

import (
	"fmt"
	"math/rand/v2"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/irq"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/printk"
	"ksim/kernelsim/sched"
	"ksim/kernelsim/sysctl"
	"ksim/kernelsim/timer"
)

// Machine is the simulated machine's state: the clock, the CPUs, memory,
// tasks, interrupts and the kernel log, and the timer queue that drives
// them. A Kernel hands it, under its lock, to the functions that Read,
// Write and Get run: holding a *Machine is holding the lock, so keep it
// only for the call.
type Machine struct {
	cfg Config
	rng *rand.Rand

	Clock *clock.Clock
	// timers is the one queue of timed events: every subsystem's events
	// and the tick run from it, in one order.
	timers   *timer.Queue
	tickKind timer.Kind
	CPUs     *cpu.Set
	Mem      *mm.Memory
	Sched    *sched.Scheduler
	IRQ      *irq.Interrupts
	Log      *printk.Log
	UTS      UTS

	// Realtime driving: simulated time follows anchorSim + (wall - anchorWall) × speed.
	mode       clock.Mode
	speed      float64
	anchorWall int64
	anchorSim  uint64

	// nextInode numbers the sockets of the boot processes' file tables.
	nextInode uint64
	// lastSpawned is the process the spawn control made last.
	lastSpawned int
	// kswapdPids are the kswapd threads, by node.
	kswapdPids []int
	// ksoftirqdPids are the ksoftirqd threads, by CPU.
	ksoftirqdPids []int
	// perCPUKthreads are the kernel threads bound to each CPU, which CPU hotplug parks or rebinds.
	perCPUKthreads [][]int
	// dropCachesQuiet is set once a drop_caches write asked for no more log (bit 4).
	dropCachesQuiet bool
	// observers are told of changes views may have to tell the host about.
	observers []func(Change)
	// sysctls are the tunables every subsystem registered.
	sysctls *sysctl.Table
	// dropCaches is what was last written to vm.drop_caches.
	dropCaches int
}

// UTS is the kernel's names (struct new_utsname) and build banner.
type UTS struct {
	Sysname, Nodename, Release, Version, Machine, Domainname string
	// Builder and Compiler complete the /proc/version banner.
	Builder, Compiler string
	Cmdline           string
}

// New boots a kernel: it lays out the machine, logs the boot and starts
// the boot tasks, running the clock through the boot.
func New(cfg Config) (*Kernel, error) {
	m, err := boot(cfg)
	if err != nil {
		return nil, err
	}
	return newKernel(m), nil
}

// boot builds a machine for cfg and boots it.
func boot(cfg Config) (*Machine, error) {
	if cfg.Hostname == "" {
		cfg.Hostname = "ksim"
	}
	if cfg.NUMANodes == 0 {
		cfg.NUMANodes = 1
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bootWall := cfg.BootWallNs
	if bootWall == 0 {
		bootWall = DefaultBootWallNs
		if cfg.Clock == clock.Realtime {
			bootWall = cfg.WallClock()
		}
	}
	m := &Machine{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6b73696d)), mode: cfg.Clock, speed: cfg.Speed}
	var err error
	if m.Clock, err = clock.New(cfg.HZ, bootWall); err != nil {
		return nil, err
	}
	if m.CPUs, err = cpu.NewSet(cpu.XeonGold6230, cfg.CPUs, cfg.NUMANodes); err != nil {
		return nil, err
	}
	if m.Mem, err = mm.New(mm.Config{MemBytes: cfg.MemBytes, Nodes: cfg.NUMANodes, SwapBytes: cfg.SwapBytes}, m.rng); err != nil {
		return nil, err
	}
	m.timers = timer.New(m.Clock)
	m.Sched = sched.New(m.Clock, m.Mem, m.rng, m.timers, cfg.CPUs)
	m.IRQ = irq.New(m.CPUs, cfg.HZ, irq.Hooks{
		Charge: m.Sched.ChargeIRQ,
		Ksoftirqd: func(c int, ns uint64) {
			if c < len(m.ksoftirqdPids) {
				m.Sched.Kick(m.ksoftirqdPids[c], ns)
			}
		},
	})
	m.Sched.IPIHook = func(c int, kind sched.IPI) {
		m.IRQ.SendIPI(c, [...]irq.IPI{
			sched.IPIReschedule: irq.Reschedule, sched.IPIWakeup: irq.FunctionCall, sched.IPIFlushTLB: irq.TLBShootdown,
		}[kind])
	}
	m.Log = printk.New(m.Clock, printk.DefaultBufLen, cfg.Console)
	m.tickKind = m.timers.Tick(m.tick)
	m.UTS = defaultUTS(cfg.Hostname)
	m.wireMemory()
	if err := m.registerSysctls(); err != nil {
		return nil, err
	}
	if err := m.boot(); err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	// From here journald waits on /dev/kmsg: each record wakes it through an irq_work.
	m.Log.WakeReaders = func() {
		c := 0
		if t := m.Sched.Current(); t != nil {
			c = t.CPU
		}
		m.IRQ.IRQWork(c)
	}
	m.anchorRealtime()
	return m, nil
}

func defaultUTS(hostname string) UTS {
	return UTS{
		Sysname:    "Linux",
		Nodename:   hostname,
		Release:    "6.18.0-ksim",
		Version:    "#1 SMP PREEMPT_DYNAMIC ksim 6.18.0-1 (2026-01-01)",
		Machine:    "x86_64",
		Domainname: "(none)",
		Builder:    "ksim@ksim",
		Compiler:   "gcc (Debian 14.2.0-19) 14.2.0, GNU ld (GNU Binutils for Debian) 2.44",
		Cmdline:    "BOOT_IMAGE=/boot/vmlinuz-6.18.0-ksim root=/dev/vda1 ro quiet",
	}
}

// RNG is the kernel's one random source.
func (m *Machine) RNG() *rand.Rand { return m.rng }

// Package kernelsim is the simulated Linux kernel: one Kernel value holds
// the clock, the CPUs, memory, tasks, interrupts and the kernel log, and a
// tick loop drives them. It knows nothing of FUSE; the views in procfs,
// sysfs and devfs render its state and call its methods.
//
// Everything here is deterministic: one seeded random source, one
// simulated clock, no host time except through Config.WallClock in
// realtime mode, and no dependence on map order.
package kernelsim

import (
	"fmt"
	"math/rand/v2"
	"sync"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/irq"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/printk"
	"ksim/kernelsim/sched"
	"ksim/kernelsim/timer"
)

// Kernel is one simulated machine. Its methods that touch state take the
// kernel's lock; views read state inside Do.
type Kernel struct {
	mu  sync.Mutex
	cfg Config
	rng *rand.Rand

	Clock *clock.Clock
	// timers is the one queue of timed events: every subsystem's events
	// and the tick run from it, in one order.
	timers *timer.Queue
	CPUs   *cpu.Set
	Mem    *mm.Memory
	Sched  *sched.Scheduler
	IRQ    *irq.Interrupts
	Log    *printk.Log
	UTS    UTS

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
	k := &Kernel{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x6b73696d)), mode: cfg.Clock, speed: cfg.Speed}
	var err error
	if k.Clock, err = clock.New(cfg.HZ, bootWall); err != nil {
		return nil, err
	}
	if k.CPUs, err = cpu.NewSet(cpu.XeonGold6230, cfg.CPUs, cfg.NUMANodes); err != nil {
		return nil, err
	}
	if k.Mem, err = mm.New(mm.Config{MemBytes: cfg.MemBytes, Nodes: cfg.NUMANodes, SwapBytes: cfg.SwapBytes}, k.rng); err != nil {
		return nil, err
	}
	k.timers = timer.New(k.Clock)
	k.Sched = sched.New(k.Clock, k.Mem, k.rng, k.timers, cfg.CPUs)
	k.IRQ = irq.New(k.CPUs, cfg.HZ, irq.Hooks{
		Charge: k.Sched.ChargeIRQ,
		Ksoftirqd: func(c int, ns uint64) {
			if c < len(k.ksoftirqdPids) {
				k.Sched.Kick(k.ksoftirqdPids[c], ns)
			}
		},
	})
	k.Sched.IPIHook = func(c int, kind sched.IPI) {
		k.IRQ.SendIPI(c, [...]irq.IPI{
			sched.IPIReschedule: irq.Reschedule, sched.IPIWakeup: irq.FunctionCall, sched.IPIFlushTLB: irq.TLBShootdown,
		}[kind])
	}
	k.Log = printk.New(k.Clock, printk.DefaultBufLen, cfg.Console)
	k.timers.Tick(k.tick)
	k.UTS = defaultUTS(cfg.Hostname)
	k.wireMemory()
	if err := k.boot(); err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	// From here journald waits on /dev/kmsg: each record wakes it through an irq_work.
	k.Log.WakeReaders = func() {
		c := 0
		if t := k.Sched.Current(); t != nil {
			c = t.CPU
		}
		k.IRQ.IRQWork(c)
	}
	k.anchorRealtime()
	return k, nil
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

// Do runs fn with the kernel locked, after bringing a realtime clock up to
// the host's time. Views render and write inside it.
func (k *Kernel) Do(fn func() error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.catchUp()
	return fn()
}

// Sync brings a realtime clock up to the host's time; a driver calls it
// periodically so the machine lives while nobody looks.
func (k *Kernel) Sync() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.catchUp()
}

// RNG is the kernel's one random source. Callers hold the lock.
func (k *Kernel) RNG() *rand.Rand { return k.rng }

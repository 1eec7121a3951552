package irq

import (
	"syscall"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/errno"
)

// Errors of affinity changes, as kernel/irq/proc.c write_irq_affinity and
// kernel/irq/manage.c irq_set_affinity return them.
var (
	// ErrNotSettable: the kernel manages the IRQ's affinity (managed
	// interrupts, IRQF_NOBALANCING), so userspace may not.
	ErrNotSettable = errno.New(syscall.EPERM, "affinity of this interrupt cannot be set from userspace")
	// ErrNoOnlineCPU: the mask names no online CPU.
	ErrNoOnlineCPU = errno.New(syscall.EINVAL, "mask holds no online CPU")
	// ErrNoSuchIRQ: no descriptor has this number.
	ErrNoSuchIRQ = errno.New(syscall.EINVAL, "no such interrupt")
)

// NoNode is NUMA_NO_NODE, what /proc/irq/N/node prints for an interrupt
// not tied to a node (the IO-APIC's).
const NoNode = -1

// Desc is an interrupt descriptor (struct irq_desc): its line on the
// interrupt chip, the handlers registered on it, where it may be
// delivered and how often each CPU took it.
type Desc struct {
	IRQ     int
	Chip    string // the irq_chip's name: "IO-APIC", "PCI-MSIX-0000:00:03.0"
	HWIRQ   int    // the line on that chip: the IO-APIC pin, the MSI-X vector index
	Trigger string // "edge" or "fasteoi" (the flow handler's name)
	Actions []string
	Node    int // NUMA node of the device, NoNode for none

	// Managed interrupts have their affinity spread by the kernel
	// (irq_create_affinity_masks) and userspace cannot change it.
	Managed bool
	// NoBalancing is IRQF_NOBALANCING: the timer's line stays put.
	NoBalancing bool

	affinity cpu.Mask // smp_affinity
	hint     cpu.Mask // affinity_hint, set by the driver
	// effective is the CPU the vector is programmed on, -1 while shut down.
	effective int
	counts    []uint64 // per possible CPU (kstat_irqs)
}

// Affinity is the mask userspace set or the kernel chose (smp_affinity).
func (d *Desc) Affinity() cpu.Mask { return d.affinity }

// Hint is the driver's affinity hint (affinity_hint), empty if none.
func (d *Desc) Hint() cpu.Mask { return d.hint }

// Effective is the CPU the interrupt is delivered to, -1 if it is shut
// down (a managed interrupt whose CPUs are all offline).
func (d *Desc) Effective() int { return d.effective }

// Count is how often cpu took this interrupt.
func (d *Desc) Count(c int) uint64 { return d.counts[c] }

// Total is the count summed over all CPUs (kstat_irqs).
func (d *Desc) Total() uint64 {
	var n uint64
	for _, v := range d.counts {
		n += v
	}
	return n
}

// UserSettable is irq_can_set_affinity_usr: the smp_affinity files are
// writable only where this holds.
func (d *Desc) UserSettable() bool { return !d.Managed && !d.NoBalancing }

// Shown says whether /proc/interrupts lists it: a handler is registered
// or it has fired (kernel/irq/proc.c show_interrupts).
func (d *Desc) Shown() bool { return len(d.Actions) > 0 || d.Total() > 0 }

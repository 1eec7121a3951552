package procfs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/irq"
	"ksim/kernfs"
)

// irqPrec is the width of the IRQ number column: 3 digits, one more for
// each power of ten nr_irqs reaches (kernel/irq/proc.c show_interrupts).
func irqPrec(nrIRQs int) int {
	prec := 3
	for j := 1000; j <= nrIRQs && prec < 10; j *= 10 {
		prec++
	}
	return prec
}

// interrupts prints /proc/interrupts: a header of online CPUs, a row per
// interrupt with a handler or a count (counts of the online CPUs, chip,
// hwirq-trigger, handler names), then x86's architectural rows
// (kernel/irq/proc.c show_interrupts, arch/x86/kernel/irq.c arch_show_interrupts).
func (v *view) interrupts(b *bytes.Buffer, _ *kernfs.Caller) {
	s := v.k.IRQ
	online := v.k.CPUs.OnlineList()
	prec := irqPrec(s.NrIRQs())
	fmt.Fprintf(b, "%*s", prec+8, "")
	for _, c := range online {
		fmt.Fprintf(b, "CPU%-8d", c)
	}
	b.WriteByte('\n')
	for _, d := range s.Descs() {
		if !d.Shown() {
			continue
		}
		fmt.Fprintf(b, "%*d:", prec, d.IRQ)
		for _, c := range online {
			fmt.Fprintf(b, " %10d", d.Count(c))
		}
		fmt.Fprintf(b, " %8s %*d-%-8s  %s\n", d.Chip, prec, d.HWIRQ, d.Trigger, strings.Join(d.Actions, ", "))
	}
	for _, row := range irq.ArchRows {
		fmt.Fprintf(b, "%*s:", prec, row.Label)
		if row.Global {
			fmt.Fprintf(b, " %10d\n", s.ErrCount())
			continue
		}
		for _, c := range online {
			fmt.Fprintf(b, " %10d", s.ArchCount(row.Counter, c))
		}
		fmt.Fprintf(b, "   %s\n", row.Desc)
	}
}

// softirqs prints /proc/softirqs (fs/proc/softirqs.c): a header of CPUs,
// then a row per vector. Unlike /proc/interrupts it walks every possible
// CPU, so an offline CPU keeps its column (the issue asked for it to go;
// Linux keeps it, and Linux wins).
func (v *view) softirqs(b *bytes.Buffer, _ *kernfs.Caller) {
	s := v.k.IRQ
	n := v.k.CPUs.Possible()
	b.WriteString(strings.Repeat(" ", 20))
	for c := range n {
		fmt.Fprintf(b, "CPU%-8d", c)
	}
	b.WriteByte('\n')
	for vec := range irq.NrSoftirqs {
		fmt.Fprintf(b, "%12s:", irq.SoftirqNames[vec])
		for c := range n {
			fmt.Fprintf(b, " %10d", s.SoftirqCount(c, vec))
		}
		b.WriteByte('\n')
	}
}

// irqDir is /proc/irq: default_smp_affinity and a directory per
// interrupt descriptor (kernel/irq/proc.c register_irq_proc). The
// descriptors are fixed once the machine has booted.
func (v *view) irqDir() kernfs.Dir {
	entries := []kernfs.Entry{}
	for _, d := range v.k.IRQ.Descs() {
		entries = append(entries, kernfs.Entry{Name: strconv.Itoa(d.IRQ), Node: v.irqDescDir(d)})
	}
	entries = append(entries, kernfs.Entry{Name: "default_smp_affinity", Node: v.file(0o644,
		func(b *bytes.Buffer, _ *kernfs.Caller) { v.putMask(b, v.k.IRQ.DefaultAffinity()) },
		func(_ *kernfs.Caller, s string) error {
			m, err := v.parseAffinity(s, false)
			if err != nil {
				return err
			}
			return irqErrno(v.k.IRQ.SetDefaultAffinity(m))
		})})
	return kernfs.NewStaticDir(0o555, entries...)
}

// irqDescDir is /proc/irq/N. The affinity files are writable only where
// userspace may set the affinity (read-only for managed interrupts since 6.12).
func (v *view) irqDescDir(d *irq.Desc) kernfs.Dir {
	k := v.k
	affPerm := fs.FileMode(0o444)
	if d.UserSettable() {
		affPerm = 0o644
	}
	setAffinity := func(list bool) store {
		return func(_ *kernfs.Caller, s string) error {
			if !d.UserSettable() {
				// write_irq_affinity checks this before it parses anything.
				return fmt.Errorf("irq %d: %w: %w", d.IRQ, irq.ErrNotSettable, syscall.EPERM)
			}
			m, err := v.parseAffinity(s, list)
			if err != nil {
				return err
			}
			return irqErrno(k.IRQ.SetAffinity(d.IRQ, m))
		}
	}
	effective := func() []int {
		if e := d.Effective(); e >= 0 {
			return []int{e}
		}
		return nil
	}
	entries := []kernfs.Entry{
		{Name: "affinity_hint", Node: v.file(0o444, func(b *bytes.Buffer, _ *kernfs.Caller) { v.putMask(b, d.Hint()) }, nil)},
		{Name: "effective_affinity", Node: v.file(0o444, func(b *bytes.Buffer, _ *kernfs.Caller) {
			b.WriteString(cpu.FormatMask(effective(), k.CPUs.Possible()))
			b.WriteByte('\n')
		}, nil)},
		{Name: "effective_affinity_list", Node: v.file(0o444, func(b *bytes.Buffer, _ *kernfs.Caller) {
			b.WriteString(cpu.FormatList(effective()))
			b.WriteByte('\n')
		}, nil)},
		{Name: "node", Node: v.file(0o444, func(b *bytes.Buffer, _ *kernfs.Caller) { fmt.Fprintf(b, "%d\n", d.Node) }, nil)},
		{Name: "smp_affinity", Node: v.file(affPerm, func(b *bytes.Buffer, _ *kernfs.Caller) { v.putMask(b, d.Affinity()) }, setAffinity(false))},
		{Name: "smp_affinity_list", Node: v.file(affPerm, func(b *bytes.Buffer, _ *kernfs.Caller) {
			b.WriteString(cpu.FormatList(d.Affinity().List()))
			b.WriteByte('\n')
		}, setAffinity(true))},
		// irq_spurious_proc_show: irq_count runs up to 100000 and starts over; nothing goes unhandled here.
		{Name: "spurious", Node: v.file(0o444, func(b *bytes.Buffer, _ *kernfs.Caller) {
			fmt.Fprintf(b, "count %d\nunhandled 0\nlast_unhandled 0 ms\n", d.Total()%100000)
		}, nil)},
	}
	for _, a := range d.Actions {
		entries = append(entries, kernfs.Entry{Name: a, Node: kernfs.NewStaticDir(0o555)})
	}
	return kernfs.NewStaticDir(0o555, entries...)
}

// putMask prints a CPU mask as "%*pb" with nr_cpu_ids bits and a newline.
func (v *view) putMask(b *bytes.Buffer, m cpu.Mask) {
	b.WriteString(cpu.FormatMask(m.List(), v.k.CPUs.Possible()))
	b.WriteByte('\n')
}

// parseAffinity reads a written mask as cpumask_parse_user or
// cpumask_parselist_user does, with their errnos: bad syntax EINVAL, a
// mask bit past the last CPU EOVERFLOW, a listed CPU past it ERANGE.
func (v *view) parseAffinity(s string, list bool) (cpu.Mask, error) {
	n := v.k.CPUs.Possible()
	var m cpu.Mask
	var err error
	if list {
		m, err = cpu.ParseUserList(s, n)
	} else {
		m, err = cpu.ParseMask(s, n)
	}
	switch {
	case err == nil:
		return m, nil
	case errors.Is(err, cpu.ErrMaskOverflow):
		return m, fmt.Errorf("mask %q: %w: %w", s, err, syscall.EOVERFLOW)
	case errors.Is(err, cpu.ErrListRange):
		return m, fmt.Errorf("list %q: %w: %w", s, err, syscall.ERANGE)
	}
	return m, einval("mask %q: %v", s, err)
}

// irqErrno gives the interrupt model's refusals their errnos.
func irqErrno(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, irq.ErrNotSettable):
		return fmt.Errorf("%w: %w", err, syscall.EPERM)
	}
	return fmt.Errorf("%w: %w", err, syscall.EINVAL)
}

package procfs

import (
	"bytes"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"

	"ksim/kernelsim"
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
func (v *view) interrupts(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	s := m.IRQ
	online := m.CPUs.OnlineList()
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
func (v *view) softirqs(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	s := m.IRQ
	n := m.CPUs.Possible()
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
// descriptors are fixed once the machine has booted, so the tree is
// built once from what they were then.
func (v *view) irqDir() kernfs.Dir {
	descs := kernelsim.Get(v.k, func(m *kernelsim.Machine) []irqDescInfo {
		var out []irqDescInfo
		for _, d := range m.IRQ.Descs() {
			out = append(out, irqDescInfo{irq: d.IRQ, settable: d.UserSettable(), actions: slices.Clone(d.Actions)})
		}
		return out
	})
	entries := []kernfs.Entry{}
	for _, d := range descs {
		entries = append(entries, kernfs.Entry{Name: strconv.Itoa(d.irq), Node: v.irqDescDir(d)})
	}
	entries = append(entries, kernfs.Entry{Name: "default_smp_affinity", Node: v.file(0o644,
		func(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) { putMask(b, m, m.IRQ.DefaultAffinity()) },
		func(m *kernelsim.Machine, _ *kernfs.Caller, s string) error {
			mask, err := parseAffinity(m, s, false)
			if err != nil {
				return err
			}
			return m.IRQ.SetDefaultAffinity(mask)
		})})
	return kernfs.NewStaticDir(0o555, entries...)
}

// irqDescInfo is what /proc/irq/N's shape depends on, read from the
// descriptor once, under the lock, when the tree is built.
type irqDescInfo struct {
	irq      int
	settable bool     // userspace may set the affinity
	actions  []string // the handlers' names, a directory each
}

// irqDescDir is /proc/irq/N. The affinity files are writable only where
// userspace may set the affinity (read-only for managed interrupts since
// 6.12). The files keep the IRQ number, not the descriptor: each render
// and store finds the descriptor in the machine it is handed.
func (v *view) irqDescDir(info irqDescInfo) kernfs.Dir {
	n := info.irq
	affPerm := fs.FileMode(0o444)
	if info.settable {
		affPerm = 0o644
	}
	// descFile is a file of this descriptor: its render is handed the
	// descriptor that the machine it gets under the lock has at number n.
	descFile := func(perm fs.FileMode, r func(b *bytes.Buffer, m *kernelsim.Machine, d *irq.Desc), s store) *kernfs.GenFile {
		return v.file(perm, func(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) { r(b, m, m.IRQ.Desc(n)) }, s)
	}
	setAffinity := func(list bool) store {
		return func(m *kernelsim.Machine, _ *kernfs.Caller, s string) error {
			if !m.IRQ.Desc(n).UserSettable() {
				// write_irq_affinity checks this before it parses anything.
				return fmt.Errorf("irq %d: %w", n, irq.ErrNotSettable)
			}
			mask, err := parseAffinity(m, s, list)
			if err != nil {
				return err
			}
			return m.IRQ.SetAffinity(n, mask)
		}
	}
	effective := func(d *irq.Desc) []int {
		if e := d.Effective(); e >= 0 {
			return []int{e}
		}
		return nil
	}
	entries := []kernfs.Entry{
		{Name: "affinity_hint", Node: descFile(0o444, func(b *bytes.Buffer, m *kernelsim.Machine, d *irq.Desc) { putMask(b, m, d.Hint()) }, nil)},
		{Name: "effective_affinity", Node: descFile(0o444, func(b *bytes.Buffer, m *kernelsim.Machine, d *irq.Desc) {
			b.WriteString(cpu.FormatMask(effective(d), m.CPUs.Possible()))
			b.WriteByte('\n')
		}, nil)},
		{Name: "effective_affinity_list", Node: descFile(0o444, func(b *bytes.Buffer, _ *kernelsim.Machine, d *irq.Desc) {
			b.WriteString(cpu.FormatList(effective(d)))
			b.WriteByte('\n')
		}, nil)},
		{Name: "node", Node: descFile(0o444, func(b *bytes.Buffer, _ *kernelsim.Machine, d *irq.Desc) { fmt.Fprintf(b, "%d\n", d.Node) }, nil)},
		{Name: "smp_affinity", Node: descFile(affPerm, func(b *bytes.Buffer, m *kernelsim.Machine, d *irq.Desc) { putMask(b, m, d.Affinity()) }, setAffinity(false))},
		{Name: "smp_affinity_list", Node: descFile(affPerm, func(b *bytes.Buffer, _ *kernelsim.Machine, d *irq.Desc) {
			b.WriteString(cpu.FormatList(d.Affinity().List()))
			b.WriteByte('\n')
		}, setAffinity(true))},
		// irq_spurious_proc_show: irq_count runs up to 100000 and starts over; nothing goes unhandled here.
		{Name: "spurious", Node: descFile(0o444, func(b *bytes.Buffer, _ *kernelsim.Machine, d *irq.Desc) {
			fmt.Fprintf(b, "count %d\nunhandled 0\nlast_unhandled 0 ms\n", d.Total()%100000)
		}, nil)},
	}
	for _, a := range info.actions {
		entries = append(entries, kernfs.Entry{Name: a, Node: kernfs.NewStaticDir(0o555)})
	}
	return kernfs.NewStaticDir(0o555, entries...)
}

// putMask prints a CPU mask as "%*pb" with nr_cpu_ids bits and a newline.
func putMask(b *bytes.Buffer, m *kernelsim.Machine, mask cpu.Mask) {
	b.WriteString(cpu.FormatMask(mask.List(), m.CPUs.Possible()))
	b.WriteByte('\n')
}

// parseAffinity reads a written mask as cpumask_parse_user or
// cpumask_parselist_user does, with their errnos: bad syntax EINVAL, a
// mask bit past the last CPU EOVERFLOW, a listed CPU past it ERANGE.
func parseAffinity(m *kernelsim.Machine, s string, list bool) (cpu.Mask, error) {
	n := m.CPUs.Possible()
	if list {
		mask, err := cpu.ParseUserList(s, n)
		if err != nil {
			return mask, fmt.Errorf("list %q: %w", s, err)
		}
		return mask, nil
	}
	mask, err := cpu.ParseMask(s, n)
	if err != nil {
		return mask, fmt.Errorf("mask %q: %w", s, err)
	}
	return mask, nil
}

package procfs

import (
	"bytes"
	"fmt"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernelsim/irq"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
)

// stat prints /proc/stat as fs/proc/stat.c show_stat does: the aggregate
// cpu line ("cpu" and two spaces), a line per online CPU, then interrupts,
// context switches, boot time, forks, runnable and blocked tasks, softirqs.
// The sums run over every possible CPU, so an offline CPU's past still
// counts in them while its own line is gone.
func (v *view) stat(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	online := m.CPUs.OnlineList()
	var sum sched.CPUTimes
	for c := range m.CPUs.Possible() {
		sum.Add(m.Sched.CPUTimes(c))
	}
	putCPUTimes(b, "cpu ", &sum)
	for _, c := range online {
		putCPUTimes(b, fmt.Sprintf("cpu%d", c), m.Sched.CPUTimes(c))
	}
	putUint(b, "intr ", m.IRQ.Total())
	for i := range m.IRQ.NrIRQs() {
		putUint(b, " ", m.IRQ.IRQCount(i))
	}
	fmt.Fprintf(b, "\nctxt %d\nbtime %d\nprocesses %d\nprocs_running %d\nprocs_blocked %d\n",
		m.Sched.NrSwitches(), m.Clock.BootTime(), m.Sched.TotalForks(), m.Sched.NrRunning(), m.Sched.NrBlocked())
	var perVector [irq.NrSoftirqs]uint64
	var total uint64
	for c := range m.CPUs.Possible() {
		for s := range irq.NrSoftirqs {
			n := m.IRQ.SoftirqCount(c, s)
			perVector[s] += n
			total += n
		}
	}
	putUint(b, "softirq ", total)
	for _, n := range perVector {
		putUint(b, " ", n)
	}
	b.WriteByte('\n')
}

// putCPUTimes prints one cpu line: the ten states in USER_HZ ticks.
func putCPUTimes(b *bytes.Buffer, label string, t *sched.CPUTimes) {
	b.WriteString(label)
	for s := range sched.NumCPUTimeStates {
		putUint(b, " ", t.Ticks(s))
	}
	b.WriteByte('\n')
}

// uptime prints /proc/uptime (fs/proc/uptime.c): seconds since boot and
// the idle time summed over all CPUs, each with two decimals.
func (v *view) uptime(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	var idle uint64
	for c := range m.Sched.NrCPUs() {
		idle += m.Sched.CPUTimes(c).Ns(sched.TimeIdle)
	}
	up := m.Clock.Now()
	const centi = clock.NsecPerSec / 100
	fmt.Fprintf(b, "%d.%02d %d.%02d\n", up/clock.NsecPerSec, up%clock.NsecPerSec/centi,
		idle/clock.NsecPerSec, idle%clock.NsecPerSec/centi)
}

// loadavg prints /proc/loadavg (fs/proc/loadavg.c): the three averages
// rounded to hundredths, runnable/total tasks, and the last pid allocated.
func (v *view) loadavg(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	s := m.Sched
	avg := s.LoadAvg()
	for i, a := range avg {
		a += sched.Fixed1 / 200
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(b, "%d.%02d", sched.LoadInt(a), sched.LoadFrac(a))
	}
	fmt.Fprintf(b, " %d/%d %d\n", s.NrRunning(), s.NrThreads(), s.LastPid())
}

// version prints the banner (init/version.c linux_proc_banner).
func (v *view) version(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	u := m.UTS
	fmt.Fprintf(b, "%s version %s (%s) (%s) %s\n", u.Sysname, u.Release, u.Builder, u.Compiler, u.Version)
}

// cmdline prints the kernel command line and a newline.
func (v *view) cmdline(b *bytes.Buffer, m *kernelsim.Machine, _ *kernfs.Caller) {
	b.WriteString(m.UTS.Cmdline)
	b.WriteByte('\n')
}

// registeredFilesystems are those of a Debian kernel after boot, in
// registration order; "nodev" marks those that need no block device.
var registeredFilesystems = []struct {
	name  string
	nodev bool
}{
	{"sysfs", true}, {"tmpfs", true}, {"bdev", true}, {"proc", true}, {"cgroup", true},
	{"cgroup2", true}, {"cpuset", true}, {"devtmpfs", true}, {"configfs", true},
	{"debugfs", true}, {"tracefs", true}, {"securityfs", true}, {"sockfs", true},
	{"bpf", true}, {"pipefs", true}, {"ramfs", true}, {"hugetlbfs", true},
	{"devpts", true}, {"ext3", false}, {"ext2", false}, {"ext4", false},
	{"squashfs", false}, {"vfat", false}, {"ecryptfs", true}, {"fuseblk", false},
	{"fuse", true}, {"fusectl", true}, {"efivarfs", true}, {"mqueue", true},
	{"pstore", true}, {"autofs", true}, {"binfmt_misc", true},
}

// filesystems prints /proc/filesystems (fs/filesystems.c): "nodev" or
// nothing, a tab, the name.
func (v *view) filesystems(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller) {
	for _, f := range registeredFilesystems {
		if f.nodev {
			b.WriteString("nodev")
		}
		b.WriteByte('\t')
		b.WriteString(f.name)
		b.WriteByte('\n')
	}
}

// ttyDriverTable is /proc/tty/drivers of a PC with a VGA console, serial
// ports and pseudo-terminals (fs/proc/proc_tty.c show_tty_driver): ps
// names terminals from it.
const ttyDriverTable = `/dev/tty             /dev/tty        5       0 system:/dev/tty
/dev/console         /dev/console    5       1 system:console
/dev/ptmx            /dev/ptmx       5       2 system
/dev/vc/0            /dev/vc/0       4       0 system:vtmaster
serial               /dev/ttyS       4 64-95 serial
pty_slave            /dev/pts      136 0-1048575 pty:slave
pty_master           /dev/ptm      128 0-1048575 pty:master
unknown              /dev/tty        4 1-63 console
`

func ttyDrivers(b *bytes.Buffer, _ *kernelsim.Machine, _ *kernfs.Caller) {
	b.WriteString(ttyDriverTable)
}

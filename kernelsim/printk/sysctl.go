package printk

import "ksim/kernelsim/sysctl"

// Sysctls are the log's tunables (kernel/printk/sysctl.c): kernel.printk,
// the four console levels, as proc_dointvec takes them.
func (l *Log) Sysctls() []sysctl.Row {
	c := &l.levels
	return []sysctl.Row{
		sysctl.Int("kernel.printk", 0o644, &c.Console, &c.DefaultMessage, &c.MinimumConsole, &c.DefaultConsole),
	}
}

package kernelsim

import (
	"slices"

	"ksim/kernelsim/mm"
	"ksim/kernelsim/sysctl"
)

// utsLen is sizeof(new_utsname.nodename): __NEW_UTS_LEN and the NUL.
const utsLen = MaxHostnameLen + 1

// Sysctls is the machine's table of tunables: /proc/sys.
func (m *Machine) Sysctls() *sysctl.Table { return m.sysctls }

// registerSysctls gathers the rows each subsystem owns, and the machine's
// own: the names (kernel/utsname_sysctl.c) and what acts across
// subsystems and logs (fs/drop_caches.c, mm/hugetlb.c).
func (m *Machine) registerSysctls() error {
	own := []sysctl.Row{
		sysctl.String("kernel.hostname", 0o644, &m.UTS.Nodename, utsLen),
		sysctl.String("kernel.osrelease", 0o444, &m.UTS.Release, utsLen),
		sysctl.String("kernel.ostype", 0o444, &m.UTS.Sysname, utsLen),
		// drop_caches_sysctl_handler: 1..4, then drop and log who asked.
		sysctl.Int("vm.drop_caches", 0o200, &m.dropCaches).Range(1, 4).
			Handle(func(op sysctl.Op, standard func() error) error {
				if err := standard(); err != nil || !op.Write {
					return err
				}
				m.DropCaches(m.dropCaches, op.Comm, op.Pid)
				return nil
			}),
		// hugetlb_sysctl_handler: any count; the pool gets what memory allows.
		sysctl.UlongFunc("vm.nr_hugepages", 0o644,
			func() uint64 { return m.Mem.HugePool(mm.Huge2M).Total() },
			func(n uint64) error { m.SetNrHugepages(mm.Huge2M, n); return nil }),
	}
	t, err := sysctl.NewTable(slices.Concat(m.Mem.Sysctls(), m.Sched.Sysctls(), m.Log.Sysctls(), own)...)
	m.sysctls = t
	return err
}

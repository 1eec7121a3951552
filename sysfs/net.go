package sysfs

import (
	"strconv"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/irq"
	"ksim/kernelsim/parse"
	"ksim/kernfs"
)

// netDir is /sys/kernel/ksim/net: the traffic the outside world offers
// each NIC, which Linux has no file for. Packets spread over the queues
// by RSS and raise the queues' interrupts and NET_RX softirqs.
func (v *view) netDir() kernfs.Dir {
	name := kernelsim.Get(v.k, func(m *kernelsim.Machine) string { return m.IRQ.NIC().Name })
	// The NIC is looked up in each show and store, under the lock.
	rate := func(get func(*irq.NIC) uint64, set func(*irq.NIC, uint64) error) *kernfs.GenFile {
		return v.attr(0o644, func(m *kernelsim.Machine) string {
			return strconv.FormatUint(get(m.IRQ.NIC()), 10)
		}, func(m *kernelsim.Machine, s string) error {
			n, err := parse.Uint(s, 10)
			if err != nil {
				return err
			}
			if n > irq.MaxPPS {
				return errno.Errorf(syscall.EINVAL, "%d packets/s: at most %d", n, irq.MaxPPS)
			}
			return set(m.IRQ.NIC(), n)
		})
	}
	return dir(entry(name, dir(
		entry("rx_pps", rate(
			func(nic *irq.NIC) uint64 { rx, _ := nic.Traffic(); return rx },
			func(nic *irq.NIC, n uint64) error { _, tx := nic.Traffic(); return nic.SetTraffic(n, tx) })),
		entry("tx_pps", rate(
			func(nic *irq.NIC) uint64 { _, tx := nic.Traffic(); return tx },
			func(nic *irq.NIC, n uint64) error { rx, _ := nic.Traffic(); return nic.SetTraffic(rx, n) })),
	)))
}

package sysfs

import (
	"fmt"
	"strconv"
	"syscall"

	"ksim/kernelsim/irq"
	"ksim/kernfs"
)

// netDir is /sys/kernel/ksim/net: the traffic the outside world offers
// each NIC, which Linux has no file for. Packets spread over the queues
// by RSS and raise the queues' interrupts and NET_RX softirqs.
func (v *view) netDir() kernfs.Dir {
	nic := v.k.IRQ.NIC()
	rate := func(get func() uint64, set func(uint64) error) *kernfs.GenFile {
		return v.attr(0o644, func() string { return strconv.FormatUint(get(), 10) }, func(s string) error {
			n, err := parseUint(s)
			if err != nil {
				return err
			}
			if n > irq.MaxPPS {
				return fmt.Errorf("%d packets/s: at most %d: %w", n, irq.MaxPPS, syscall.EINVAL)
			}
			return set(n)
		})
	}
	return dir(entry(nic.Name, dir(
		entry("rx_pps", rate(
			func() uint64 { rx, _ := nic.Traffic(); return rx },
			func(n uint64) error { _, tx := nic.Traffic(); return nic.SetTraffic(n, tx) })),
		entry("tx_pps", rate(
			func() uint64 { _, tx := nic.Traffic(); return tx },
			func(n uint64) error { rx, _ := nic.Traffic(); return nic.SetTraffic(rx, n) })),
	)))
}

package sysfs

import (
	"fmt"
	"strconv"

	"ksim/kernelsim"
	"ksim/kernelsim/cpu"
	"ksim/kernelsim/irq"
	"ksim/kernfs"
)

// pciRoot is /sys/devices/pci0000:00: the PCI devices that raise
// interrupts, with the attributes drivers/pci/pci-sysfs.c shows and their
// MSI-X vectors in msi_irqs (drivers/pci/msi/irqdomain.c). Enough for
// irqbalance to tell a NIC from a disk; the full device model comes later.
func (v *view) pciRoot() kernfs.Dir {
	var entries []kernfs.Entry
	for _, d := range pciDevices(v.k) {
		val := func(name, s string) kernfs.Entry { return entry(name, v.value(s)) }
		// cpumask_of_node: the device's node's online CPUs.
		local := func(cpus *cpu.Set) []int { return onlineOf(cpus, cpus.NodeCPUs(max(d.Node, 0))) }
		var msi []kernfs.Entry
		for _, irq := range d.MSIX {
			msi = append(msi, val(strconv.Itoa(irq), "msix"))
		}
		entries = append(entries, entry(d.Address, dir(
			val("class", fmt.Sprintf("0x%06x", d.Class)),
			val("device", fmt.Sprintf("0x%04x", d.Device)),
			val("enable", "1"),
			val("irq", "0"), // no INTx line routed: the driver uses MSI-X
			entry("local_cpulist", v.attr(0o444, func(m *kernelsim.Machine) string { return cpu.FormatList(local(m.CPUs)) }, nil)),
			entry("local_cpus", v.attr(0o444, func(m *kernelsim.Machine) string {
				return cpu.FormatMask(local(m.CPUs), m.CPUs.Possible())
			}, nil)),
			entry("msi_irqs", dir(msi...)),
			val("numa_node", strconv.Itoa(d.Node)),
			val("subsystem_device", fmt.Sprintf("0x%04x", d.SubsystemDevice)),
			val("subsystem_vendor", fmt.Sprintf("0x%04x", d.SubsystemVendor)),
			val("vendor", fmt.Sprintf("0x%04x", d.Vendor)),
		)))
	}
	return dir(entries...)
}

// pciBusDevices is /sys/bus/pci/devices: a link per device into /sys/devices.
func (v *view) pciBusDevices() kernfs.Dir {
	var entries []kernfs.Entry
	for _, d := range pciDevices(v.k) {
		target := "../../../devices/pci0000:00/" + d.Address
		entries = append(entries, entry(d.Address, kernfs.NewLinkAttr(0o777, 0, 0,
			func(*kernfs.Caller) (string, error) { return target, nil })))
	}
	return dir(entries...)
}

// pciDevices lists the PCI devices, which are fixed at boot. PCIDevices
// describes them by value, so the list is the caller's to keep.
func pciDevices(k *kernelsim.Kernel) []irq.PCIDevice {
	return kernelsim.Get(k, func(m *kernelsim.Machine) []irq.PCIDevice { return m.IRQ.PCIDevices() })
}

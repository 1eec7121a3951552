package irq

import (
	"fmt"
	"slices"

	"ksim/kernelsim/cpu"
)

// Queue counts of the machine's devices: ixgbe uses at most 16 RSS queues
// (IXGBE_MAX_RSS_INDICES), an NVMe controller commonly offers 64 I/O queues.
const (
	maxNICQueues  = 16
	maxNVMeQueues = 64
)

// Defaults of the NIC's traffic: a quiet server's background chatter, and
// the interrupt rate the driver's moderation allows per vector (an
// rx-usecs of 50).
const (
	DefaultRxPPS = 100
	DefaultTxPPS = 80
	DefaultITR   = 20_000
	// rssFlows is how many connections the traffic is made of; each hashes
	// to one queue, so queues get uneven shares as on a real NIC.
	rssFlows = 64
	// retaSize is the RSS indirection table's size (ethtool -x).
	retaSize = 128
)

// NIC is a multi-queue Ethernet adapter with MSI-X: one TxRx vector per
// queue and one for link events, named as ixgbe names them.
type NIC struct {
	Name string
	PCI  string

	rxPPS, txPPS uint64
	itr          uint64 // interrupts a second each vector may raise at most

	queues     []*Desc
	other      *Desc
	queueFlows []uint64 // connections whose RSS hash lands on each queue
	rxAcc      []uint64 // packets × flows × HZ not yet whole
	txAcc      []uint64
	itrCredit  []uint64 // interrupts × HZ the moderation still allows
	txFreed    uint64   // sent packets since the last NET_TX run
}

// NVMe is an NVMe controller: an admin queue vector and managed I/O queue
// vectors spread over the CPUs.
type NVMe struct {
	Name   string
	PCI    string
	admin  *Desc
	queues []*Desc
}

// addNIC registers a NIC's vectors from IRQ *next on: queues spread RSS
// over connections by the default indirection table (queue = entry % n).
func (s *Interrupts) addNIC(name, pci string, node, nq int, next *int) *NIC {
	n := &NIC{Name: name, PCI: pci, rxPPS: DefaultRxPPS, txPPS: DefaultTxPPS, itr: DefaultITR,
		queueFlows: make([]uint64, nq), rxAcc: make([]uint64, nq), txAcc: make([]uint64, nq), itrCredit: make([]uint64, nq)}
	chip := "PCI-MSIX-" + pci
	for q := range nq {
		d := s.newDesc(*next, chip, q, "edge", node)
		d.Actions = []string{fmt.Sprintf("%s-TxRx-%d", name, q)}
		// The driver hints one CPU per queue, near the device (cpumask_local_spread).
		d.hint = cpu.MaskOf(s.localSpread(q, node))
		s.add(d)
		n.queues = append(n.queues, d)
		*next++
	}
	n.other = s.newDesc(*next, chip, nq, "edge", node)
	n.other.Actions = []string{name}
	s.add(n.other)
	*next++
	s.fire(n.other, 1) // link up during boot
	for f := range rssFlows {
		bucket := int(splitmix(uint64(f)) % retaSize)
		n.queueFlows[bucket%nq]++
	}
	return n
}

// localSpread is cpumask_local_spread: the i-th CPU counting the node's
// CPUs first, then the others.
func (s *Interrupts) localSpread(i, node int) int {
	order := append([]int(nil), s.cpus.NodeCPUs(node)...)
	for c := range s.cpus.Possible() {
		if s.cpus.Node(c) != node {
			order = append(order, c)
		}
	}
	return order[i%len(order)]
}

// addNVMe registers an NVMe controller's vectors: the admin queue with
// the default affinity, then nq managed I/O queues, each owning a
// consecutive group of CPUs (irq_create_affinity_masks, one node after another).
func (s *Interrupts) addNVMe(name, pci string, node, nq int, next *int) *NVMe {
	v := &NVMe{Name: name, PCI: pci}
	chip := "PCI-MSIX-" + pci
	v.admin = s.newDesc(*next, chip, 0, "edge", node)
	v.admin.Actions = []string{name + "q0"}
	s.add(v.admin)
	*next++
	s.fire(v.admin, 20) // identify and queue setup during probe
	ncpu := s.cpus.Possible()
	for q := range nq {
		d := s.newDesc(*next, chip, q+1, "edge", node)
		d.Actions = []string{fmt.Sprintf("%sq%d", name, q+1)}
		d.Managed = true
		var m cpu.Mask
		for c := q * ncpu / nq; c < (q+1)*ncpu/nq; c++ {
			m.Set(c)
		}
		d.affinity = m
		s.add(d)
		v.queues = append(v.queues, d)
		*next++
	}
	return v
}

// splitmix is SplitMix64's finaliser: a fixed hash, so queues' shares of
// the connections are the same on every boot.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// PCIDevice is what the PCI configuration space says of a device with
// interrupts, as /sys/bus/pci/devices shows it.
type PCIDevice struct {
	Address                          string // domain:bus:slot.function
	Vendor, Device                   uint16
	SubsystemVendor, SubsystemDevice uint16
	Class                            uint32 // base class, subclass, programming interface
	Node                             int
	MSIX                             []int // the IRQs of its MSI-X vectors
}

// PCIDevices lists the devices with MSI-X vectors: an Intel 82599 10 GbE
// adapter (ixgbe) and an Intel P4510 NVMe drive.
func (s *Interrupts) PCIDevices() []PCIDevice {
	irqs := func(ds ...*Desc) []int {
		var l []int
		for _, d := range ds {
			l = append(l, d.IRQ)
		}
		return l
	}
	return []PCIDevice{
		{Address: s.nic.PCI, Vendor: 0x8086, Device: 0x10fb, SubsystemVendor: 0x8086, SubsystemDevice: 0x000c,
			Class: 0x020000, Node: s.nic.queues[0].Node, MSIX: irqs(append(slices.Clone(s.nic.queues), s.nic.other)...)},
		{Address: s.nvme.PCI, Vendor: 0x8086, Device: 0x0a54, SubsystemVendor: 0x8086, SubsystemDevice: 0x4802,
			Class: 0x010802, Node: s.nvme.admin.Node, MSIX: irqs(append([]*Desc{s.nvme.admin}, s.nvme.queues...)...)},
	}
}

// NIC is the machine's Ethernet adapter.
func (s *Interrupts) NIC() *NIC { return s.nic }

// Traffic is the NIC's received and sent packets per second.
func (n *NIC) Traffic() (rxPPS, txPPS uint64) { return n.rxPPS, n.txPPS }

// MaxPPS bounds the traffic a NIC model takes: 100 Mpps is beyond a 40 GbE port.
const MaxPPS = 100_000_000

// SetTraffic sets the packet rates the network offers from now on.
func (n *NIC) SetTraffic(rxPPS, txPPS uint64) error {
	if rxPPS > MaxPPS || txPPS > MaxPPS {
		return fmt.Errorf("traffic %d/%d pps: at most %d", rxPPS, txPPS, MaxPPS)
	}
	n.rxPPS, n.txPPS = rxPPS, txPPS
	return nil
}

// tick delivers one tick's packets: each queue gets its connections'
// share of the received packets and an even share of the sent ones; the
// interrupt moderation allows at most itr interrupts a second per vector,
// each of which runs one NAPI poll (a NET_RX softirq) that handles the
// packets. A NET_TX softirq frees sent buffers now and then.
func (n *NIC) tick(s *Interrupts) {
	hz := uint64(s.hz)
	nq := uint64(len(n.queues))
	for q, d := range n.queues {
		n.rxAcc[q] += n.rxPPS * n.queueFlows[q]
		rx := n.rxAcc[q] / (rssFlows * hz)
		n.rxAcc[q] -= rx * rssFlows * hz
		n.txAcc[q] += n.txPPS
		tx := n.txAcc[q] / (nq * hz)
		n.txAcc[q] -= tx * nq * hz
		n.itrCredit[q] = min(n.itrCredit[q]+n.itr, n.itr)
		ints := min(rx+tx, n.itrCredit[q]/hz)
		if ints == 0 {
			continue
		}
		n.itrCredit[q] -= ints * hz
		c := s.fire(d, ints)
		if c < 0 {
			continue
		}
		s.raise(c, NetRX, ints, rx*rxPacketNs+tx*txCleanNs)
		n.txFreed += tx
		if n.txFreed >= 1000 {
			s.raise(c, NetTX, 1, 0)
			n.txFreed = 0
		}
	}
}

// DiskCompletions counts the interrupts of n block requests that a task
// on cpu submitted and the disk completed: they come on the I/O queue
// whose CPUs include cpu, handled in hard interrupt context (blk-mq
// completes locally, raising no BLOCK softirq on a multi-queue device).
func (s *Interrupts) DiskCompletions(c int, n uint64) {
	for _, d := range s.nvme.queues {
		if d.affinity.Has(c) {
			s.fire(d, n)
			return
		}
	}
}

package mm

// swapSpace is the machine's one swap partition, counted in pages.
type swapSpace struct {
	total, used uint64
}

// SwapPages returns the swap size and what is in use.
func (m *Memory) SwapPages() (total, used uint64) { return m.swap.total, m.swap.used }

// SwapDevice names the swap partition /proc/swaps lists.
const SwapDevice = "/dev/vda2"

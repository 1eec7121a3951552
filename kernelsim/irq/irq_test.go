package irq

import (
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/cpu"
)

func newInterrupts(t *testing.T, nr, nodes int) (*Interrupts, *cpu.Set, map[int]uint64) {
	t.Helper()
	set, err := cpu.NewSet(cpu.XeonGold6230, nr, nodes)
	require.NoError(t, err)
	charged := map[int]uint64{}
	s := New(set, 250, Hooks{Charge: func(c int, hard, soft uint64) { charged[c] += hard + soft }})
	return s, set, charged
}

func byAction(t *testing.T, s *Interrupts, name string) *Desc {
	t.Helper()
	for _, d := range s.Descs() {
		for _, a := range d.Actions {
			if a == name {
				return d
			}
		}
	}
	t.Fatalf("no IRQ %q", name)
	return nil
}

func TestLayout(t *testing.T) {
	s, _, _ := newInterrupts(t, 8, 2)
	require.Equal(t, "timer", s.Desc(0).Actions[0])
	require.Equal(t, 2, s.Desc(0).HWIRQ)
	require.False(t, s.Desc(0).UserSettable(), "the timer is IRQF_NOBALANCING")
	q0 := byAction(t, s, "eth0-TxRx-0")
	require.Equal(t, 24, q0.IRQ)
	require.Equal(t, "PCI-MSIX-0000:00:03.0", q0.Chip)
	require.Equal(t, []int{0, 1, 2, 3, 4, 5, 6, 7}, q0.Affinity().List())
	require.Equal(t, 0, q0.Effective())
	require.Equal(t, []int{5}, byAction(t, s, "eth0-TxRx-5").Hint().List())
	// NVMe I/O queues are managed, one CPU each, on the second node's device.
	q3 := byAction(t, s, "nvme0q3")
	require.True(t, q3.Managed)
	require.Equal(t, []int{2}, q3.Affinity().List())
	require.Equal(t, 1, q3.Node)
	require.Equal(t, NoNode, s.Desc(9).Node)
}

func TestSetAffinity(t *testing.T) {
	s, set, _ := newInterrupts(t, 4, 1)
	q := byAction(t, s, "eth0-TxRx-1")
	require.NoError(t, s.SetAffinity(q.IRQ, cpu.MaskOf(2, 3)))
	require.Equal(t, 2, q.Effective())
	require.ErrorIs(t, s.SetAffinity(q.IRQ, cpu.Mask{}), ErrNoOnlineCPU)
	set.SetOnline(1, false)
	require.ErrorIs(t, s.SetAffinity(q.IRQ, cpu.MaskOf(1)), ErrNoOnlineCPU)
	require.Equal(t, []int{2, 3}, q.Affinity().List(), "unchanged after a refused write")
	require.ErrorIs(t, s.SetAffinity(byAction(t, s, "nvme0q1").IRQ, cpu.MaskOf(0)), ErrNotSettable)
	require.ErrorIs(t, s.SetAffinity(0, cpu.MaskOf(1)), ErrNotSettable)
	require.ErrorIs(t, s.SetAffinity(500, cpu.MaskOf(1)), ErrNoSuchIRQ)
}

func TestHotplugManagedShutdown(t *testing.T) {
	s, set, _ := newInterrupts(t, 4, 1)
	q2 := byAction(t, s, "nvme0q2") // CPU1's queue
	q := byAction(t, s, "eth0-TxRx-0")
	require.NoError(t, s.SetAffinity(q.IRQ, cpu.MaskOf(1)))
	set.SetOnline(1, false)
	s.CPUOffline(1)
	require.Equal(t, -1, q2.Effective(), "a managed IRQ with no CPU left shuts down")
	require.Equal(t, []int{1}, q2.Affinity().List())
	require.Equal(t, []int{0, 2, 3}, q.Affinity().List())
	s.DiskCompletions(1, 5)
	require.Zero(t, q2.Total())
	set.SetOnline(1, true)
	s.CPUOnline(1)
	require.Equal(t, 1, q2.Effective())
	require.Equal(t, 0, q.Effective(), "a moved IRQ stays where it went")
}

// The intr total is every per-IRQ count plus every architectural one, and
// the hooks were charged for what the ticks raised.
func TestTotalsAndCharge(t *testing.T) {
	s, _, charged := newInterrupts(t, 4, 1)
	for n := uint64(1); n <= 2500; n++ {
		s.Tick(n)
	}
	s.SendIPI(3, Reschedule)
	s.SendIPI(2, FunctionCall)
	var sum uint64
	for _, d := range s.Descs() {
		sum += d.Total()
	}
	for c := range 4 {
		for a := range NrArch {
			sum += s.ArchCount(a, c)
		}
		require.Equal(t, uint64(2500), s.ArchCount(LOC, c))
		require.Equal(t, uint64(1), s.ArchCount(NMI, c), "one watchdog NMI in 10 s")
		require.Greater(t, charged[c], uint64(2500*timerIRQNs))
	}
	require.Equal(t, sum, s.Total())
	require.Equal(t, uint64(1), s.ArchCount(RES, 3))
	require.Equal(t, uint64(1), s.ArchCount(CAL, 2))
	// 10 s of 100 rx + 80 tx packets a second, all on CPU0 by default.
	var nic uint64
	for q := range 4 {
		nic += byAction(t, s, "eth0-TxRx-"+string(rune('0'+q))).Count(0)
	}
	require.InDelta(t, 1800, nic, 8)
	require.Equal(t, nic, s.SoftirqCount(0, NetRX))
}

package kernelsim

import (
	"fmt"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/printk"
	"ksim/kernelsim/sched"
)

// kswapdRate is how fast kswapd reclaims clean page cache, pages per
// second, and kswapdPageNs what each page costs it in CPU time.
const (
	kswapdRate   = 2 << 30 / mm.PageSize
	kswapdPageNs = 1000
)

// wireMemory connects memory to the tasks and the log: the OOM killer,
// kswapd's wakeups, and the page cache that tasks' reads fill.
func (m *Machine) wireMemory() {
	m.Mem.OOM = m.outOfMemory
	m.Mem.WakeKswapd = func(node int) {
		if node < len(m.kswapdPids) {
			m.Sched.Kick(m.kswapdPids[node], 50_000)
		}
	}
	m.Mem.LocalNode = func() int {
		if t := m.Sched.Current(); t != nil {
			return m.CPUs.Node(t.CPU)
		}
		return 0
	}
	m.Sched.ReadHook = func(t *sched.Task, pages uint64) {
		m.Mem.AddPageCache(pages, m.CPUs.Node(t.CPU))
		m.IRQ.DiskCompletions(t.CPU, (pages+readRequestPages-1)/readRequestPages)
	}
}

// readRequestPages is the size of a read request, 128 KiB (the block
// layer's default max_sectors_kb); each completes with one interrupt.
const readRequestPages = 32

// memoryTick is what memory does on each timer tick: kswapd reclaims and
// is charged for it; once a second the slab caches follow the tasks.
func (m *Machine) memoryTick(n uint64) {
	tickNs := uint64(clock.NsecPerSec / m.Clock.HZ())
	for node, freed := range m.Mem.KswapdTick(kswapdRate * tickNs / clock.NsecPerSec) {
		if freed > 0 && node < len(m.kswapdPids) {
			m.Sched.Kick(m.kswapdPids[node], freed*kswapdPageNs)
		}
	}
	if n%uint64(m.Clock.HZ()) == 0 {
		m.updateSlabs()
	}
}

// updateSlabs sizes the slab caches of what tasks hold: a task_struct and
// pid per thread; per process an mm_struct, signal and sighand structs, a
// files table, a vm_area_struct per mapping and anon_vmas, a filp per
// open file and a socket inode per socket.
func (m *Machine) updateSlabs() {
	var threads, procs, vmas, files, sockets uint64
	for _, pid := range m.Sched.Pids() {
		t := m.Sched.Task(pid)
		threads++
		p := t.Process()
		if !t.IsLeader() || p.Exited() {
			continue
		}
		procs++
		if p.MM != nil {
			vmas += uint64(len(p.MM.VMAs()))
		}
		for _, f := range p.Fds {
			files++
			if len(f.Path) > 7 && f.Path[:7] == "socket:" {
				sockets++
			}
		}
	}
	set := func(name string, n uint64) {
		if c := m.Mem.SlabCache(name); c != nil {
			_ = m.Mem.SetObjects(c, n) // a cache that cannot grow waits for the next second
		}
	}
	set("task_struct", threads)
	set("pid", threads+threads/4)
	set("cred_jar", threads+64)
	set("mm_struct", procs)
	set("signal_cache", procs)
	set("sighand_cache", procs)
	set("files_cache", procs)
	set("vm_area_struct", vmas)
	set("anon_vma", vmas/2)
	set("anon_vma_chain", vmas)
	set("filp", 3000+files)
	set("sock_inode_cache", 400+sockets)
}

// DropCaches is a write to vm.drop_caches by the process comm[pid]: it
// logs the write as fs/drop_caches.c does, unless bit 4 asks for quiet.
func (m *Machine) DropCaches(mode int, comm string, pid int) {
	m.Mem.DropCaches(mode)
	if mode&4 == 0 && !m.dropCachesQuiet {
		m.Log.Printk(printk.Info, "%s (%d): drop_caches: %d", comm, pid, mode)
	}
	m.dropCachesQuiet = m.dropCachesQuiet || mode&4 != 0
}

// OfflinePage is a write of a physical address to soft_offline_page
// (soft) or hard_offline_page: memory takes the frame out of use, the
// log says what happened, and a process that lost memory gets SIGBUS.
func (m *Machine) OfflinePage(addr uint64, soft bool) error {
	pfn := addr >> mm.PageShift
	var r mm.FailureResult
	var err error
	if soft {
		r, err = m.Mem.SoftOffline(pfn)
	} else {
		r, err = m.Mem.HardOffline(pfn)
	}
	if r.SigbusAS != 0 {
		if t := m.taskOfAddressSpace(r.SigbusAS); t != nil {
			m.Log.Printk(printk.Err, "Memory failure: %#x: Sending SIGBUS to %s:%d due to hardware memory corruption",
				pfn, t.Comm, t.Pid)
			m.Sched.Signal(t, sched.SIGBUS)
		}
	}
	for _, l := range r.Log {
		m.Log.Printk(l.Level, "%s", l.Text)
	}
	return err
}

// taskOfAddressSpace finds the process using an address space.
func (m *Machine) taskOfAddressSpace(id uint64) *sched.Task {
	for _, pid := range m.Sched.Tgids() {
		t := m.Sched.Task(pid)
		if mm := t.Process().MM; mm != nil && mm.ID() == id {
			return t
		}
	}
	return nil
}

// SetNrHugepages resizes a huge page pool and logs when it falls short,
// as hugetlb does ("HugeTLB: allocating N of page size S failed").
func (m *Machine) SetNrHugepages(size mm.HugeSize, n uint64) {
	if got := m.Mem.SetNrHugepages(size, n); got < n {
		kb := m.Mem.HugePool(size).KB()
		unit := fmt.Sprintf("%d MiB", kb>>10)
		if kb >= 1<<20 {
			unit = fmt.Sprintf("%d GiB", kb>>20)
		}
		m.Log.Printk(printk.Warning, "HugeTLB: allocating %d of page size %s failed.  Only allocated %d hugepages.", n, unit, got)
	}
}

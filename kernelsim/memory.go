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
func (k *Kernel) wireMemory() {
	k.Mem.OOM = k.outOfMemory
	k.Mem.WakeKswapd = func(node int) {
		if node < len(k.kswapdPids) {
			k.Sched.Kick(k.kswapdPids[node], 50_000)
		}
	}
	k.Mem.LocalNode = func() int {
		if t := k.Sched.Current(); t != nil {
			return k.CPUs.Node(t.CPU)
		}
		return 0
	}
	k.Sched.ReadHook = func(t *sched.Task, pages uint64) {
		k.Mem.AddPageCache(pages, k.CPUs.Node(t.CPU))
		k.IRQ.DiskCompletions(t.CPU, (pages+readRequestPages-1)/readRequestPages)
	}
}

// readRequestPages is the size of a read request, 128 KiB (the block
// layer's default max_sectors_kb); each completes with one interrupt.
const readRequestPages = 32

// memoryTick is what memory does on each timer tick: kswapd reclaims and
// is charged for it; once a second the slab caches follow the tasks.
func (k *Kernel) memoryTick(n uint64) {
	tickNs := uint64(clock.NsecPerSec / k.Clock.HZ())
	for node, freed := range k.Mem.KswapdTick(kswapdRate * tickNs / clock.NsecPerSec) {
		if freed > 0 && node < len(k.kswapdPids) {
			k.Sched.Kick(k.kswapdPids[node], freed*kswapdPageNs)
		}
	}
	if n%uint64(k.Clock.HZ()) == 0 {
		k.updateSlabs()
	}
}

// updateSlabs sizes the slab caches of what tasks hold: a task_struct and
// pid per thread; per process an mm_struct, signal and sighand structs, a
// files table, a vm_area_struct per mapping and anon_vmas, a filp per
// open file and a socket inode per socket.
func (k *Kernel) updateSlabs() {
	var threads, procs, vmas, files, sockets uint64
	for _, pid := range k.Sched.Pids() {
		t := k.Sched.Task(pid)
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
		if c := k.Mem.SlabCache(name); c != nil {
			_ = k.Mem.SetObjects(c, n) // a cache that cannot grow waits for the next second
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
func (k *Kernel) DropCaches(mode int, comm string, pid int) {
	k.Mem.DropCaches(mode)
	if mode&4 == 0 && !k.dropCachesQuiet {
		k.Log.Printk(printk.Info, "%s (%d): drop_caches: %d", comm, pid, mode)
	}
	k.dropCachesQuiet = k.dropCachesQuiet || mode&4 != 0
}

// Memory failure errors with their errno, for the views.
var (
	ErrNoPage    = mm.ErrNoPage
	ErrNotOnline = mm.ErrNotOnline
	ErrPageBusy  = mm.ErrBusy
	ErrPoisoned  = mm.ErrPoisoned
)

// OfflinePage is a write of a physical address to soft_offline_page
// (soft) or hard_offline_page: memory takes the frame out of use, the
// log says what happened, and a process that lost memory gets SIGBUS.
func (k *Kernel) OfflinePage(addr uint64, soft bool) error {
	pfn := addr >> mm.PageShift
	var r mm.FailureResult
	var err error
	if soft {
		r, err = k.Mem.SoftOffline(pfn)
	} else {
		r, err = k.Mem.HardOffline(pfn)
	}
	if r.SigbusAS != 0 {
		if t := k.taskOfAddressSpace(r.SigbusAS); t != nil {
			k.Log.Printk(printk.Err, "Memory failure: %#x: Sending SIGBUS to %s:%d due to hardware memory corruption",
				pfn, t.Comm, t.Pid)
			k.Sched.Signal(t, sched.SIGBUS)
		}
	}
	for _, l := range r.Log {
		k.Log.Printk(l.Level, "%s", l.Text)
	}
	return err
}

// taskOfAddressSpace finds the process using an address space.
func (k *Kernel) taskOfAddressSpace(id uint64) *sched.Task {
	for _, pid := range k.Sched.Tgids() {
		t := k.Sched.Task(pid)
		if mm := t.Process().MM; mm != nil && mm.ID() == id {
			return t
		}
	}
	return nil
}

// SetNrHugepages resizes a huge page pool and logs when it falls short,
// as hugetlb does ("HugeTLB: allocating N of page size S failed").
func (k *Kernel) SetNrHugepages(size mm.HugeSize, n uint64) error {
	got, err := k.Mem.SetNrHugepages(size, n)
	if err != nil {
		return err
	}
	if got < n {
		kb := k.Mem.HugePool(size).KB()
		unit := fmt.Sprintf("%d MiB", kb>>10)
		if kb >= 1<<20 {
			unit = fmt.Sprintf("%d GiB", kb>>20)
		}
		k.Log.Printk(printk.Warning, "HugeTLB: allocating %d of page size %s failed.  Only allocated %d hugepages.", n, unit, got)
	}
	return nil
}

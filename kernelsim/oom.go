package kernelsim

import (
	"fmt"
	"strings"

	"ksim/kernelsim/mm"
	"ksim/kernelsim/printk"
	"ksim/kernelsim/sched"
)

// outOfMemory is the OOM killer (mm/oom_kill.c out_of_memory), called by
// an allocation that reclaim could not satisfy. It picks the process with
// the highest badness, logs what Linux logs, kills it and reaps its
// memory at once, as the oom_reaper does even for a task stuck in D. It
// reports whether it freed anything.
func (m *Machine) outOfMemory(order int) bool {
	victim := m.oomVictim()
	current := m.Sched.Current()
	if current == nil {
		current = victim
	}
	if victim == nil {
		m.Log.Printk(printk.Emerg, "Out of memory and no killable processes...")
		return false
	}
	m.oomReport(current, victim, order)
	p := victim.Process()
	as := p.MM
	vmKB := as.TotalVM() * 4
	anonKB, fileKB, shmemKB := as.RSSAnon()*4, as.RSSFile()*4, as.RSSShmem()*4
	ptKB := as.PageTableBytes() >> 10
	m.Log.Printk(printk.Err, "Out of memory: Killed process %d (%s) total-vm:%dkB, anon-rss:%dkB, file-rss:%dkB, shmem-rss:%dkB, UID:%d pgtables:%dkB oom_score_adj:%d",
		victim.Pid, victim.Comm, vmKB, anonKB, fileKB, shmemKB, victim.Creds.Uid, ptKB, p.OOMScoreAdj)
	m.Mem.Events.OOMKill++
	m.Sched.Signal(victim, sched.SIGKILL)
	m.Mem.ReleaseAddressSpace(as)
	m.Log.Printk(printk.Info, "oom_reaper: reaped process %d (%s), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB",
		victim.Pid, victim.Comm)
	return true
}

// oomBadness is oom_badness: the pages a process would free (resident,
// swapped, page tables) shifted by oom_score_adj thousandths of memory.
// Kernel threads, init and processes at -1000 are never chosen.
func (m *Machine) oomBadness(t *sched.Task) (int64, bool) {
	p := t.Process()
	if t.IsKthread() || p.Tgid == 1 || p.Exited() || p.MM == nil || p.OOMScoreAdj == sched.OOMScoreAdjMin {
		return 0, false
	}
	as := p.MM
	points := int64(as.RSS() + as.SwapPages() + as.PageTableBytes()/mm.PageSize)
	points += int64(p.OOMScoreAdj) * int64(m.Mem.TotalPages()) / 1000
	return points, true
}

// oomVictim is select_bad_process: the highest badness, the first found on ties.
func (m *Machine) oomVictim() *sched.Task {
	var victim *sched.Task
	var best int64
	for _, pid := range m.Sched.Tgids() {
		t := m.Sched.Task(pid)
		points, ok := m.oomBadness(t)
		if !ok {
			continue
		}
		if victim == nil || points > best {
			victim, best = t, points
		}
	}
	return victim
}

// oomReport is dump_header: who invoked the killer, the memory picture
// and every task's memory.
func (m *Machine) oomReport(current, victim *sched.Task, order int) {
	l := m.Log
	l.Printk(printk.Warning, "%s invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=%d, oom_score_adj=%d",
		current.Comm, order, current.Process().OOMScoreAdj)
	l.Printk(printk.Warning, "CPU: %d UID: %d PID: %d Comm: %s Not tainted %s %s",
		current.CPU, current.Creds.Uid, current.Pid, current.Comm, m.UTS.Release, strings.Fields(m.UTS.Version)[0])
	l.Printk(printk.Warning, "Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.3-debian-1.16.3-2 04/01/2014")
	l.Printk(printk.Warning, "Call Trace:")
	for _, f := range []string{" <TASK>", " dump_stack_lvl+0x5d/0x80", " dump_header+0x43/0x1b0",
		" oom_kill_process+0x118/0x280", " out_of_memory+0x246/0x590", " __alloc_pages_slowpath.constprop.0+0xa8e/0xe30",
		" __alloc_pages_noprof+0x31f/0x340", " alloc_pages_mpol_noprof+0xd9/0x1e0", " vma_alloc_folio_noprof+0x64/0xd0",
		" do_anonymous_page+0x1b7/0x7d0", " __handle_mm_fault+0x30a/0x6e0", " handle_mm_fault+0x10c/0x280",
		" do_user_addr_fault+0x1f8/0x6c0", " exc_page_fault+0x7e/0x180", " asm_exc_page_fault+0x26/0x30", " </TASK>"} {
		l.Printk(printk.Warning, "%s", f)
	}
	in := m.Mem.Info()
	l.Printk(printk.Info, "Mem-Info:")
	l.Printk(printk.Info, "active_anon:%d inactive_anon:%d isolated_anon:0\n active_file:%d inactive_file:%d isolated_file:0\n unevictable:0 dirty:%d writeback:%d\n slab_reclaimable:%d slab_unreclaimable:%d\n mapped:%d shmem:%d pagetables:%d\n sec_pagetables:0 bounce:0\n kernel_misc_reclaimable:0\n free:%d free_pcp:0 free_cma:0",
		in.ActiveAnon, in.InactiveAnon, in.ActiveFile, in.InactiveFile, in.Dirty, in.Writeback,
		in.SReclaimable, in.SUnreclaim, in.Mapped, in.Shmem, in.PageTables, in.Free)
	for _, z := range m.Mem.Zones() {
		if !z.Populated() {
			continue
		}
		l.Printk(printk.Info, "Node %d %s free:%dkB boost:0kB min:%dkB low:%dkB high:%dkB reserved_highatomic:0KB present:%dkB managed:%dkB mlocked:0kB bounce:0kB free_pcp:0kB local_pcp:0kB free_cma:0kB",
			z.Node, mm.ZoneNames[z.Type], z.FreePages()*4, z.WatermarkMin*4, z.WatermarkLow*4, z.WatermarkHigh*4,
			z.Present*4, z.Managed*4)
		var buddy strings.Builder
		var total uint64
		blocks := z.FreeBlocks()
		for o := range mm.NrOrders {
			var n uint64
			for _, c := range blocks[o] {
				n += c
			}
			total += n << o * 4
			fmt.Fprintf(&buddy, "%d*%dkB ", n, 4<<o)
		}
		l.Printk(printk.Info, "Node %d %s: %s= %dkB", z.Node, mm.ZoneNames[z.Type], buddy.String(), total)
	}
	swapTotal, swapUsed := m.Mem.SwapPages()
	l.Printk(printk.Info, "%d total pagecache pages", in.FilePages)
	l.Printk(printk.Info, "0 pages in swap cache")
	l.Printk(printk.Info, "Free swap  = %dkB", (swapTotal-swapUsed)*4)
	l.Printk(printk.Info, "Total swap = %dkB", swapTotal*4)
	l.Printk(printk.Info, "%d pages RAM", m.Mem.PresentPages())
	l.Printk(printk.Info, "0 pages HighMem/MovableOnly")
	l.Printk(printk.Info, "%d pages reserved", m.Mem.PresentPages()-m.Mem.TotalPages())
	l.Printk(printk.Info, "Tasks state (memory values in pages):")
	l.Printk(printk.Info, "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents oom_score_adj name")
	for _, pid := range m.Sched.Tgids() {
		t := m.Sched.Task(pid)
		p := t.Process()
		if t.IsKthread() || p.MM == nil {
			continue
		}
		as := p.MM
		l.Printk(printk.Info, "[%7d] %5d %5d %8d %8d %8d %8d %9d %8d %8d         %5d %s",
			t.Pid, t.Creds.Uid, p.Tgid, as.TotalVM(), as.RSS(), as.RSSAnon(), as.RSSFile(), as.RSSShmem(),
			as.PageTableBytes(), as.SwapPages(), p.OOMScoreAdj, t.Comm)
	}
	vp := victim.Process()
	l.Printk(printk.Info, "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,task_memcg=%s,task=%s,pid=%d,uid=%d",
		vp.Cgroup, victim.Comm, victim.Pid, victim.Creds.Uid)
}

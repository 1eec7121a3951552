package procfs

import (
	"bytes"
	"fmt"
	"io/fs"
	"strconv"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
)

// rootDir is /proc: the static table, then a directory per process.
type rootDir struct {
	*kernfs.StaticDir
	v *view
}

// Lookup finds a static entry or a task. Any thread's id finds it, though
// only processes are listed (fs/proc/base.c proc_pid_lookup). A caller
// always finds itself at its own pid, as a visitor (see visitors.go), even
// where a simulated task has that pid: to every other caller that pid is
// the simulated task.
func (d *rootDir) Lookup(c *kernfs.Caller, name string) (kernfs.Node, error) {
	if n, err := d.StaticDir.Lookup(c, name); err == nil {
		return n, nil
	}
	pid, ok := parsePid(name)
	if !ok {
		return nil, kernfs.ErrNotExist
	}
	if id := c.Identity(); id.Pid == pid {
		t, serial := d.v.visitors.get(d.v.k, c)
		return d.v.taskDir(taskRef{t: t, pid: pid}, serial, false), nil
	}
	r := kernelsim.Get(d.v.k, func(m *kernelsim.Machine) taskRef {
		if t := m.Sched.Task(pid); t != nil {
			return refOf(t)
		}
		return taskRef{}
	})
	if r.t == nil {
		return nil, kernfs.ErrNotExist
	}
	return d.v.taskDir(r, 0, false), nil
}

// ReadDir lists the static entries, then the processes by pid. Threads and
// visitors are not listed.
func (d *rootDir) ReadDir(c *kernfs.Caller) ([]kernfs.Dirent, error) {
	ents, _ := d.StaticDir.ReadDir(c)
	tasks := kernelsim.Get(d.v.k, func(m *kernelsim.Machine) []taskRef {
		var out []taskRef
		for _, pid := range m.Sched.Tgids() {
			out = append(out, refOf(m.Sched.Task(pid)))
		}
		return out
	})
	for _, r := range tasks {
		ents = append(ents, kernfs.Dirent{Name: strconv.Itoa(r.pid), Node: d.v.taskDir(r, 0, false)})
	}
	return ents, nil
}

// parsePid accepts a pid as /proc names it: decimal, no sign, no leading zero.
func parsePid(name string) (int, bool) {
	if name == "" || name[0] < '1' || name[0] > '9' {
		return 0, false
	}
	n, err := strconv.Atoi(name)
	return n, err == nil && n <= sched.PidMaxLimit
}

func (v *view) selfLink(c *kernfs.Caller) (string, error) {
	id := c.Identity()
	if id.Pid == 0 {
		return "", kernfs.ErrNotExist
	}
	return strconv.Itoa(id.Pid), nil
}

func (v *view) threadSelfLink(c *kernfs.Caller) (string, error) {
	id := c.Identity()
	if id.Pid == 0 {
		return "", kernfs.ErrNotExist
	}
	return fmt.Sprintf("%d/task/%d", id.Pid, id.Tid), nil
}

// taskRef is a task and what a directory needs of it without the lock:
// its pid and serial, read under the lock when the directory is made.
type taskRef struct {
	t      *sched.Task
	pid    int
	serial uint64
}

// refOf reads a task's ref; it is called with the machine, under the lock.
func refOf(t *sched.Task) taskRef { return taskRef{t: t, pid: t.Pid, serial: t.Serial()} }

// taskDirNode is /proc/PID or /proc/PID/task/TID: owned by the task's
// effective uid and gid (fs/proc/base.c task_dump_owner), so top shows
// the user.
type taskDirNode struct {
	v *view
	// t outlives the lock it was found under: it is looked into only
	// inside a Read, Get or Write of the kernel, as the machine's own.
	t *sched.Task
	// serial tells a reused pid's directory from the last one.
	serial uint64
	// visitor is the serial of a visitor's directory, 0 for a simulated task.
	visitor uint64
	// thread is true for task/TID: per-thread numbers, no task/ of its own.
	thread bool
}

func (v *view) taskDir(r taskRef, visitor uint64, thread bool) *taskDirNode {
	return &taskDirNode{v: v, t: r.t, serial: r.serial, visitor: visitor, thread: thread}
}

// owner is who owns the task's files: its effective uid and gid.
func (d *taskDirNode) owner() (uid, gid uint32) {
	d.v.k.Read(func(*kernelsim.Machine) { uid, gid = d.t.Creds.Euid, d.t.Creds.Egid })
	return uid, gid
}

// permitted says, under the lock, whether c may look into the task.
func (d *taskDirNode) permitted(c *kernfs.Caller) bool {
	return kernelsim.Get(d.v.k, func(*kernelsim.Machine) bool { return permitted(c, d.t) })
}

// Attr implements kernfs.Node.
func (d *taskDirNode) Attr() kernfs.Attr {
	return kernelsim.Get(d.v.k, func(m *kernelsim.Machine) kernfs.Attr {
		return kernfs.Attr{Mode: fs.ModeDir | 0o555, Uid: d.t.Creds.Euid, Gid: d.t.Creds.Egid,
			MtimeNs: m.Clock.BootWallNs() + int64(d.t.StartTime)}
	})
}

// Generation implements kernfs.Generationer: a reused pid is a new directory.
func (d *taskDirNode) Generation() uint64 {
	if d.visitor != 0 {
		return 1<<63 | d.visitor
	}
	return d.serial
}

// where says in which of the two per-task directories an entry appears.
type where int

const (
	both       where = iota
	tgidOnly         // /proc/PID only
	threadOnly       // /proc/PID/task/TID only
)

// taskEntry is one row of the per-task table (fs/proc/base.c
// tgid_base_stuff and tid_base_stuff): a file with a renderer and maybe a
// writer, a symlink, or a directory.
type taskEntry struct {
	name  string
	perm  fs.FileMode
	where where
	read  func(b *bytes.Buffer, m *kernelsim.Machine, c *kernfs.Caller, d *taskDirNode) error
	write func(m *kernelsim.Machine, c *kernfs.Caller, t *sched.Task, s string) error
	link  func(m *kernelsim.Machine, c *kernfs.Caller, t *sched.Task) (string, error)
	dir   func(d *taskDirNode) kernfs.Node
}

// taskEntries are in Linux's order, which readdir shows.
var taskEntries = []taskEntry{
	{name: "task", perm: 0o555, where: tgidOnly, dir: (*taskDirNode).threadsDir},
	{name: "fd", perm: 0o500, dir: (*taskDirNode).fdDir},
	{name: "fdinfo", perm: 0o500, dir: (*taskDirNode).fdinfoDir},
	{name: "ns", perm: 0o511, dir: (*taskDirNode).nsDir},
	{name: "environ", perm: 0o400, read: taskEnviron},
	{name: "status", perm: 0o444, read: taskStatus},
	{name: "personality", perm: 0o444, read: taskPersonality},
	{name: "limits", perm: 0o444, read: taskLimits},
	{name: "sched", perm: 0o644, read: taskSched, write: resetSchedStats},
	{name: "comm", perm: 0o644, read: taskComm, write: setComm},
	{name: "children", perm: 0o444, where: threadOnly, read: taskChildren},
	{name: "cmdline", perm: 0o444, read: taskCmdline},
	{name: "stat", perm: 0o444, read: taskStat},
	{name: "statm", perm: 0o444, read: taskStatm},
	{name: "maps", perm: 0o444, read: taskMaps},
	{name: "cwd", link: taskCwd},
	{name: "root", link: taskRoot},
	{name: "exe", link: taskExe},
	{name: "numa_maps", perm: 0o444, read: taskNumaMaps},
	{name: "smaps", perm: 0o444, read: taskSmaps},
	{name: "smaps_rollup", perm: 0o444, read: taskSmapsRollup},
	{name: "wchan", perm: 0o444, read: taskWchan},
	{name: "stack", perm: 0o400, read: taskStack},
	{name: "schedstat", perm: 0o444, read: taskSchedstat},
	{name: "cgroup", perm: 0o444, read: taskCgroup},
	{name: "oom_score", perm: 0o444, read: taskOOMScore},
	{name: "oom_adj", perm: 0o644, read: taskOOMAdj, write: setOOMAdj},
	{name: "oom_score_adj", perm: 0o644, read: taskOOMScoreAdj, write: setOOMScoreAdj},
	{name: "loginuid", perm: 0o644, read: taskLoginUID, write: setLoginUID},
	{name: "sessionid", perm: 0o444, read: taskSessionID},
	{name: "io", perm: 0o400, read: taskIO},
}

func (d *taskDirNode) has(e taskEntry) bool {
	return e.where == both || (e.where == threadOnly) == d.thread
}

// Lookup implements kernfs.Dir.
func (d *taskDirNode) Lookup(_ *kernfs.Caller, name string) (kernfs.Node, error) {
	for _, e := range taskEntries {
		if e.name == name && d.has(e) {
			return d.node(e), nil
		}
	}
	return nil, kernfs.ErrNotExist
}

// ReadDir implements kernfs.Dir.
func (d *taskDirNode) ReadDir(*kernfs.Caller) ([]kernfs.Dirent, error) {
	var ents []kernfs.Dirent
	for _, e := range taskEntries {
		if d.has(e) {
			ents = append(ents, kernfs.Dirent{Name: e.name, Node: d.node(e)})
		}
	}
	return ents, nil
}

// alive fails with ESRCH once the task is gone from its pid, as a gone
// task's files do in Linux; a visitor lives as long as its directory.
// It is called with the machine, under the lock.
func (d *taskDirNode) alive(m *kernelsim.Machine) error {
	if d.visitor == 0 && m.Sched.Task(d.t.Pid) != d.t {
		return syscall.ESRCH
	}
	return nil
}

// read runs fn with the machine, under the lock, if the task is alive.
func (d *taskDirNode) read(fn func(m *kernelsim.Machine) error) error {
	return kernelsim.Get(d.v.k, func(m *kernelsim.Machine) error {
		if err := d.alive(m); err != nil {
			return err
		}
		return fn(m)
	})
}

// write is read for a change to the machine: it waits for its turn, and
// gives up with EINTR if c's request is interrupted first.
func (d *taskDirNode) write(c *kernfs.Caller, fn func(m *kernelsim.Machine) error) error {
	return d.v.k.Write(c.Context(), func(m *kernelsim.Machine) error {
		if err := d.alive(m); err != nil {
			return err
		}
		return fn(m)
	})
}

func (d *taskDirNode) node(e taskEntry) kernfs.Node {
	uid, gid := d.owner()
	switch {
	case e.dir != nil:
		return e.dir(d)
	case e.link != nil:
		return kernfs.NewLinkAttr(0o777, uid, gid, func(c *kernfs.Caller) (target string, err error) {
			err = d.read(func(m *kernelsim.Machine) error { target, err = e.link(m, c, d.t); return err })
			return target, err
		})
	}
	render := func(c *kernfs.Caller) ([]byte, error) {
		var b bytes.Buffer
		err := d.read(func(m *kernelsim.Machine) error { return e.read(&b, m, c, d) })
		return b.Bytes(), err
	}
	var st kernfs.Store
	if e.write != nil {
		st = func(c *kernfs.Caller, data []byte, _ int64) error {
			return d.write(c, func(m *kernelsim.Machine) error { return e.write(m, c, d.t, string(data)) })
		}
	}
	return kernfs.NewFile(e.perm, render, st).WithOwner(uid, gid)
}

// threadsDir is /proc/PID/task: a directory per thread of the process.
func (d *taskDirNode) threadsDir() kernfs.Node { return &threadsDir{d: d} }

type threadsDir struct{ d *taskDirNode }

func (l *threadsDir) Attr() kernfs.Attr  { return l.d.Attr() }
func (l *threadsDir) Generation() uint64 { return l.d.Generation() }

func (l *threadsDir) threads() []taskRef {
	return kernelsim.Get(l.d.v.k, func(*kernelsim.Machine) []taskRef {
		var out []taskRef
		for _, t := range l.d.t.Process().Threads() {
			out = append(out, refOf(t))
		}
		return out
	})
}

func (l *threadsDir) Lookup(c *kernfs.Caller, name string) (kernfs.Node, error) {
	tid, ok := parsePid(name)
	if !ok {
		return nil, kernfs.ErrNotExist
	}
	if l.d.visitor != 0 && tid == c.Identity().Tid {
		return l.d.v.taskDir(taskRef{t: l.d.t}, l.d.visitor, true), nil // a visitor's threads share its one task
	}
	for _, r := range l.threads() {
		if r.pid == tid {
			return l.d.v.taskDir(r, l.d.visitor, true), nil
		}
	}
	return nil, kernfs.ErrNotExist
}

func (l *threadsDir) ReadDir(*kernfs.Caller) ([]kernfs.Dirent, error) {
	var ents []kernfs.Dirent
	for _, r := range l.threads() {
		ents = append(ents, kernfs.Dirent{Name: strconv.Itoa(r.pid), Node: l.d.v.taskDir(r, l.d.visitor, true)})
	}
	return ents, nil
}

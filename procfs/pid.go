package procfs

import (
	"bytes"
	"fmt"
	"io/fs"
	"strconv"
	"syscall"

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
		return d.v.taskDir(t, serial, false), nil
	}
	var t *sched.Task
	_ = d.v.k.Do(func() error { t = d.v.k.Sched.Task(pid); return nil })
	if t == nil {
		return nil, kernfs.ErrNotExist
	}
	return d.v.taskDir(t, 0, false), nil
}

// ReadDir lists the static entries, then the processes by pid. Threads and
// visitors are not listed.
func (d *rootDir) ReadDir(c *kernfs.Caller) ([]kernfs.Dirent, error) {
	ents, _ := d.StaticDir.ReadDir(c)
	var tasks []*sched.Task
	_ = d.v.k.Do(func() error {
		for _, pid := range d.v.k.Sched.Tgids() {
			tasks = append(tasks, d.v.k.Sched.Task(pid))
		}
		return nil
	})
	for _, t := range tasks {
		ents = append(ents, kernfs.Dirent{Name: strconv.Itoa(t.Pid), Node: d.v.taskDir(t, 0, false)})
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

// taskDirNode is /proc/PID or /proc/PID/task/TID: owned by the task's
// effective uid and gid (fs/proc/base.c task_dump_owner), so top shows
// the user.
type taskDirNode struct {
	v *view
	t *sched.Task
	// visitor is the serial of a visitor's directory, 0 for a simulated task.
	visitor uint64
	// thread is true for task/TID: per-thread numbers, no task/ of its own.
	thread bool
}

func (v *view) taskDir(t *sched.Task, visitor uint64, thread bool) *taskDirNode {
	return &taskDirNode{v: v, t: t, visitor: visitor, thread: thread}
}

// owner is who owns the task's files: its effective uid and gid.
func (d *taskDirNode) owner() (uid, gid uint32) {
	_ = d.v.k.Do(func() error { uid, gid = d.t.Creds.Euid, d.t.Creds.Egid; return nil })
	return uid, gid
}

// Attr implements kernfs.Node.
func (d *taskDirNode) Attr() kernfs.Attr {
	var a kernfs.Attr
	_ = d.v.k.Do(func() error {
		a = kernfs.Attr{Mode: fs.ModeDir | 0o555, Uid: d.t.Creds.Euid, Gid: d.t.Creds.Egid,
			MtimeNs: d.v.k.Clock.BootWallNs() + int64(d.t.StartTime)}
		return nil
	})
	return a
}

// Generation implements kernfs.Generationer: a reused pid is a new directory.
func (d *taskDirNode) Generation() uint64 {
	if d.visitor != 0 {
		return 1<<63 | d.visitor
	}
	return d.t.Serial()
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
	read  func(v *view, b *bytes.Buffer, c *kernfs.Caller, d *taskDirNode) error
	write func(v *view, c *kernfs.Caller, t *sched.Task, s string) error
	link  func(v *view, c *kernfs.Caller, t *sched.Task) (string, error)
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

// alive runs fn under the kernel lock if the task still exists; an open
// of a gone task's file fails with ESRCH, as Linux's do.
func (d *taskDirNode) alive(fn func() error) error {
	return d.v.k.Do(func() error {
		if d.visitor == 0 && d.v.k.Sched.Task(d.t.Pid) != d.t {
			return syscall.ESRCH
		}
		return fn()
	})
}

func (d *taskDirNode) node(e taskEntry) kernfs.Node {
	uid, gid := d.owner()
	switch {
	case e.dir != nil:
		return e.dir(d)
	case e.link != nil:
		return kernfs.NewLinkAttr(0o777, uid, gid, func(c *kernfs.Caller) (target string, err error) {
			err = d.alive(func() error { target, err = e.link(d.v, c, d.t); return err })
			return target, err
		})
	}
	render := func(c *kernfs.Caller) ([]byte, error) {
		var b bytes.Buffer
		err := d.alive(func() error { return e.read(d.v, &b, c, d) })
		return b.Bytes(), err
	}
	var st kernfs.Store
	if e.write != nil {
		st = func(c *kernfs.Caller, data []byte, _ int64) error {
			return d.alive(func() error { return e.write(d.v, c, d.t, string(data)) })
		}
	}
	return kernfs.NewFile(e.perm, render, st).WithOwner(uid, gid)
}

// threadsDir is /proc/PID/task: a directory per thread of the process.
func (d *taskDirNode) threadsDir() kernfs.Node { return &threadsDir{d: d} }

type threadsDir struct{ d *taskDirNode }

func (l *threadsDir) Attr() kernfs.Attr  { return l.d.Attr() }
func (l *threadsDir) Generation() uint64 { return l.d.Generation() }

func (l *threadsDir) threads() []*sched.Task {
	var out []*sched.Task
	_ = l.d.v.k.Do(func() error {
		out = append(out, l.d.t.Process().Threads()...)
		return nil
	})
	return out
}

func (l *threadsDir) Lookup(c *kernfs.Caller, name string) (kernfs.Node, error) {
	tid, ok := parsePid(name)
	if !ok {
		return nil, kernfs.ErrNotExist
	}
	if l.d.visitor != 0 && tid == c.Identity().Tid {
		return l.d.v.taskDir(l.d.t, l.d.visitor, true), nil // a visitor's threads share its one task
	}
	for _, t := range l.threads() {
		if t.Pid == tid {
			return l.d.v.taskDir(t, l.d.visitor, true), nil
		}
	}
	return nil, kernfs.ErrNotExist
}

func (l *threadsDir) ReadDir(*kernfs.Caller) ([]kernfs.Dirent, error) {
	var ents []kernfs.Dirent
	for _, t := range l.threads() {
		ents = append(ents, kernfs.Dirent{Name: strconv.Itoa(t.Pid), Node: l.d.v.taskDir(t, l.d.visitor, true)})
	}
	return ents, nil
}

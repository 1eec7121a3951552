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

// rootDir is /proc: the static table, then a directory per task.
type rootDir struct {
	*kernfs.StaticDir
	v *view
}

// Lookup finds a static entry or a task. A caller always finds itself at
// its own pid, as a visitor (see visitors.go), even where a simulated task
// has that pid: to every other caller that pid is the simulated task.
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
		return d.v.taskDir(t, serial), nil
	}
	var t *sched.Task
	_ = d.v.k.Do(func() error { t = d.v.k.Sched.Task(pid); return nil })
	if t == nil {
		return nil, kernfs.ErrNotExist
	}
	return d.v.taskDir(t, 0), nil
}

// ReadDir lists the static entries, then the simulated tasks by pid.
// Visitors are never listed.
func (d *rootDir) ReadDir(c *kernfs.Caller) ([]kernfs.Dirent, error) {
	ents, _ := d.StaticDir.ReadDir(c)
	var tasks []*sched.Task
	_ = d.v.k.Do(func() error {
		for _, pid := range d.v.k.Sched.Pids() {
			tasks = append(tasks, d.v.k.Sched.Task(pid))
		}
		return nil
	})
	for _, t := range tasks {
		ents = append(ents, kernfs.Dirent{Name: strconv.Itoa(t.Pid), Node: d.v.taskDir(t, 0)})
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
	// threadLevel is true for task/TID directories, which have no task/ of their own.
	threadLevel bool
}

func (v *view) taskDir(t *sched.Task, visitor uint64) *taskDirNode {
	return &taskDirNode{v: v, t: t, visitor: visitor}
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

// taskFile is one row of the per-task table.
type taskFile struct {
	name   string
	perm   fs.FileMode
	render func(v *view, b *bytes.Buffer, c *kernfs.Caller, t *sched.Task)
}

// taskFiles are the files of /proc/PID and /proc/PID/task/TID (fs/proc/base.c tgid_base_stuff).
var taskFiles = []taskFile{
	{"cmdline", 0o444, (*view).taskCmdline},
	{"comm", 0o644, (*view).taskComm},
	{"stat", 0o444, (*view).taskStat},
	{"statm", 0o444, (*view).taskStatm},
	{"status", 0o444, (*view).taskStatus},
}

// Lookup implements kernfs.Dir.
func (d *taskDirNode) Lookup(c *kernfs.Caller, name string) (kernfs.Node, error) {
	for _, f := range taskFiles {
		if f.name == name {
			return d.file(f), nil
		}
	}
	if name == "task" && !d.threadLevel {
		return &taskListDir{d: d}, nil
	}
	return nil, kernfs.ErrNotExist
}

// ReadDir implements kernfs.Dir.
func (d *taskDirNode) ReadDir(c *kernfs.Caller) ([]kernfs.Dirent, error) {
	var ents []kernfs.Dirent
	for _, f := range taskFiles {
		ents = append(ents, kernfs.Dirent{Name: f.name, Node: d.file(f)})
	}
	if !d.threadLevel {
		ents = append(ents, kernfs.Dirent{Name: "task", Node: &taskListDir{d: d}})
	}
	return ents, nil
}

// file makes a task file that fails with ESRCH once the task is gone, as
// Linux's do for an open /proc/PID whose task exited.
func (d *taskDirNode) file(f taskFile) kernfs.Node {
	v, t := d.v, d.t
	render := func(c *kernfs.Caller) ([]byte, error) {
		var b bytes.Buffer
		err := v.k.Do(func() error {
			if d.visitor == 0 && v.k.Sched.Task(t.Pid) != t {
				return syscall.ESRCH
			}
			f.render(v, &b, c, t)
			return nil
		})
		return b.Bytes(), err
	}
	var st kernfs.Store
	if f.name == "comm" {
		// fs/proc/base.c comm_write: only the task's own thread group may rename it.
		st = func(*kernfs.Caller, []byte, int64) error { return syscall.EINVAL }
	}
	a := d.Attr()
	return kernfs.NewFile(f.perm, render, st).WithOwner(a.Uid, a.Gid)
}

// taskListDir is /proc/PID/task: one directory per thread of the process.
type taskListDir struct{ d *taskDirNode }

func (l *taskListDir) Attr() kernfs.Attr { return l.d.Attr() }

func (l *taskListDir) Generation() uint64 { return l.d.Generation() }

func (l *taskListDir) Lookup(c *kernfs.Caller, name string) (kernfs.Node, error) {
	tid, ok := parsePid(name)
	// A visitor's threads share its one simulated task.
	if ok && (tid == l.d.t.Pid || l.d.visitor != 0 && tid == c.Identity().Tid) {
		return &taskDirNode{v: l.d.v, t: l.d.t, visitor: l.d.visitor, threadLevel: true}, nil
	}
	return nil, kernfs.ErrNotExist
}

func (l *taskListDir) ReadDir(*kernfs.Caller) ([]kernfs.Dirent, error) {
	return []kernfs.Dirent{{Name: strconv.Itoa(l.d.t.Pid),
		Node: &taskDirNode{v: l.d.v, t: l.d.t, visitor: l.d.visitor, threadLevel: true}}}, nil
}

package procfs

import (
	"sync"

	"ksim/kernelsim"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
)

// Visitors are the processes that read the tree: a tool run by ksim exec,
// or a plain cat on the host. As in Linux, /proc/self is the caller and
// the caller has a pid directory, at the pid it sees for itself. A
// visitor is a task of its own that lives outside the simulation: it is
// reachable only by itself, never listed, and counted nowhere, so that
// looking never changes what is looked at.
type visitors struct {
	mu         sync.Mutex
	tasks      map[visitorKey]visitor
	lastSerial uint64
}

type visitor struct {
	task   *sched.Task
	serial uint64 // tells visitors' directories apart, like a task's serial
}

type visitorKey struct {
	pid   int
	start uint64
}

// maxVisitors bounds the cache; visitors are cheap to make again.
const maxVisitors = 4096

func newVisitors() *visitors { return &visitors{tasks: make(map[visitorKey]visitor)} }

// get returns the caller's visitor task, made on its first visit so that
// its start time stays put. The task is the machine's kind of object and
// kept here long after the lock: only renders, under the lock, look into it.
func (vs *visitors) get(k *kernelsim.Kernel, c *kernfs.Caller) (*sched.Task, uint64) {
	id := c.Identity()
	key := visitorKey{id.Pid, id.Start}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vis, ok := vs.tasks[key]; ok {
		return vis.task, vis.serial
	}
	if len(vs.tasks) >= maxVisitors {
		clear(vs.tasks)
	}
	// Making a visitor reads the machine (its clock, its CPUs) and changes
	// nothing in it, so it needs the lock but no turn to write.
	t := kernelsim.Get(k, func(m *kernelsim.Machine) *sched.Task {
		return m.Sched.NewVisitor(id.Pid, id.Comm, id.Cmdline, sched.UserCreds(c.Uid, c.Gid))
	})
	vs.lastSerial++
	vs.tasks[key] = visitor{t, vs.lastSerial}
	return t, vs.lastSerial
}

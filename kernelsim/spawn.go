package kernelsim

import (
	"fmt"
	"path"
	"syscall"

	"ksim/kernelsim/cpu"
	"ksim/kernelsim/errno"
	"ksim/kernelsim/mm"
	"ksim/kernelsim/sched"
)

// SpawnRequest asks for a new process, as a user steering the machine
// describes it: what sched.Spec says, plus its memory.
type SpawnRequest struct {
	sched.Spec
	// RSSBytes is the anonymous memory it touches at start.
	RSSBytes uint64
	// SetUID and SetGID say whether Creds were given; otherwise the child
	// has its parent's credentials, as after fork.
	SetUID, SetGID bool
	// MemPolicy is its NUMA memory policy (set_mempolicy).
	MemPolicy mm.MemPolicy
}

// homeNode is the node of the CPU a new process will start on, where it
// faults its image in; the parent's node if it can start nowhere yet.
func (m *Machine) homeNode(allowed cpu.Mask, ppid int) int {
	c := m.Sched.PlaceNew(allowed, ppid)
	if c < 0 {
		return m.Mem.LocalNodeOr0()
	}
	return m.CPUs.Node(c)
}

// Spawn forks a process from Spec.PPid and execs the program described:
// it inherits what a child inherits (credentials unless given, session,
// terminal, cgroup, login), gets a fresh address space, and starts
// running. As in Linux, ns_last_pid then names its last thread; LastSpawned
// names the process.
func (m *Machine) Spawn(req SpawnRequest) (*sched.Task, error) {
	spec := req.Spec
	parentTask := m.Sched.Task(spec.PPid)
	if parentTask == nil || !parentTask.IsLeader() || parentTask.Process().Exited() {
		return nil, fmt.Errorf("parent %d: %w", spec.PPid, sched.ErrNoProcess)
	}
	parent := parentTask.Process()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	creds := parentTask.Creds
	if parentTask.IsKthread() {
		creds = sched.RootCreds
	}
	if req.SetUID {
		creds.Uid, creds.Euid, creds.Suid, creds.Fsuid = spec.Creds.Uid, spec.Creds.Uid, spec.Creds.Uid, spec.Creds.Uid
		if !req.SetGID {
			spec.Creds.Gid = spec.Creds.Uid
		}
	}
	if req.SetUID || req.SetGID {
		g := spec.Creds.Gid
		creds.Gid, creds.Egid, creds.Sgid, creds.Fsgid = g, g, g, g
	}
	spec.Creds = creds
	if len(spec.Cmdline) == 0 {
		spec.Cmdline = []string{spec.Comm}
	}
	exe := spec.Cmdline[0]
	if !path.IsAbs(exe) {
		exe = "/usr/bin/" + path.Base(exe)
	}
	spec.Exe = exe
	spec.Flags = userFlags
	if creds.Euid == 0 {
		spec.Flags = initFlags
	}
	spec.TTY, spec.Cgroup, spec.LoginUID, spec.SessionID = parent.TTY, parent.Cgroup, parent.LoginUID, parent.SessionID
	if spec.Environ == nil {
		spec.Environ = daemonEnviron
	}
	spec.Fds = []sched.OpenFile{
		{Fd: 0, Path: "/dev/null", Flags: 0o100002}, {Fd: 1, Path: "/dev/null", Flags: 0o100002}, {Fd: 2, Path: "/dev/null", Flags: 0o100002},
	}
	var argBytes uint64
	for _, a := range spec.Cmdline {
		argBytes += uint64(len(a)) + 1
	}
	img := mm.Image{
		Text: 256 * kiB, Data: 16 * kiB, Libs: 2 * miB, Heap: max(req.RSSBytes, 132*kiB), Stack: 132 * kiB,
		RSSAnon: req.RSSBytes + 128*kiB, RSSFile: 1536 * kiB, ArgBytes: argBytes, EnvBytes: 200, Path: exe,
	}
	m.Sched.SetCurrent(parentTask) // the fork's memory comes from where the parent runs
	defer m.Sched.SetCurrent(nil)
	as, err := m.Mem.NewAddressSpace(img, m.rng, req.MemPolicy, m.homeNode(spec.Allowed, spec.PPid))
	if err != nil {
		return nil, errno.Errorf(syscall.ENOMEM, "%s: %w", spec.Comm, err)
	}
	spec.MM = as
	t, err := m.Sched.Spawn(spec)
	if err != nil {
		m.Mem.ReleaseAddressSpace(as)
		return nil, err
	}
	m.lastSpawned = t.Pid
	return t, nil
}

// LastSpawned is the pid of the process Spawn last created, 0 if none.
func (m *Machine) LastSpawned() int { return m.lastSpawned }

package procfs

import (
	"strings"

	"ksim/kernelsim"
	"ksim/kernelsim/sysctl"
	"ksim/kernfs"
)

// sysDir is /proc/sys: a directory per dotted prefix and a file per row of
// the machine's sysctl table, as proc_sys_root shows the registered
// ctl_tables. Every file goes through the table, which renders, parses,
// range-checks and answers with the row's errno.
func (v *view) sysDir() kernfs.Dir {
	rows := kernelsim.Get(v.k, func(m *kernelsim.Machine) []sysctl.Entry { return m.Sysctls().Entries() })
	root := &sysNode{}
	for _, r := range rows {
		root.add(strings.Split(r.Name, "."), v.sysctlFile(r))
	}
	return root.dir()
}

// sysNode gathers the tree of /proc/sys before it becomes static tables.
type sysNode struct {
	names    []string
	children map[string]*sysNode
	files    map[string]kernfs.Node
}

func (n *sysNode) add(path []string, f kernfs.Node) {
	if n.children == nil {
		n.children, n.files = map[string]*sysNode{}, map[string]kernfs.Node{}
	}
	name := path[0]
	if len(path) == 1 {
		n.files[name] = f
		n.names = append(n.names, name)
		return
	}
	c, ok := n.children[name]
	if !ok {
		c = &sysNode{}
		n.children[name] = c
		n.names = append(n.names, name)
	}
	c.add(path[1:], f)
}

// dir lists entries in name order, as the rows come sorted.
func (n *sysNode) dir() *kernfs.StaticDir {
	var entries []kernfs.Entry
	for _, name := range n.names {
		if f, ok := n.files[name]; ok {
			entries = append(entries, kernfs.Entry{Name: name, Node: f})
		} else {
			entries = append(entries, kernfs.Entry{Name: name, Node: n.children[name].dir()})
		}
	}
	return kernfs.NewStaticDir(0o555, entries...)
}

// sysctlFile is one row's file, with sysctl's permission rules. A write
// learns who writes before it takes the lock (finding out may ask the
// host): handlers log the writer, and some need privilege.
func (v *view) sysctlFile(e sysctl.Entry) *kernfs.GenFile {
	name := e.Name
	render := func(*kernfs.Caller) ([]byte, error) {
		type result struct {
			b   []byte
			err error
		}
		r := kernelsim.Get(v.k, func(m *kernelsim.Machine) result {
			b, err := m.Sysctls().Read(name)
			return result{b, err}
		})
		return r.b, r.err
	}
	store := func(c *kernfs.Caller, data []byte, _ int64) error {
		id := c.Identity()
		op := sysctl.Op{Privileged: c.IsRoot(), Comm: id.Comm, Pid: id.Pid}
		return v.k.Write(c.Context(), func(m *kernelsim.Machine) error {
			return m.Sysctls().Write(name, op, string(data))
		})
	}
	return kernfs.NewFile(e.Mode, render, store).SysctlPermissions()
}

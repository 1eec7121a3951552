package mm

import (
	"math/bits"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim/errno"
)

// PolicyMode is a NUMA memory policy's mode, as set_mempolicy(2) names
// them (include/uapi/linux/mempolicy.h).
type PolicyMode int

const (
	// PolicyDefault allocates on the node of the CPU that allocates.
	PolicyDefault PolicyMode = iota
	// PolicyPreferred tries one node first, then falls back.
	PolicyPreferred
	// PolicyBind allocates only on the policy's nodes.
	PolicyBind
	// PolicyInterleave spreads pages over the policy's nodes in turn.
	PolicyInterleave
	// PolicyLocal is MPOL_LOCAL: the local node, as Default.
	PolicyLocal
)

// MemPolicy is a process's NUMA memory policy (struct mempolicy): a mode
// and a set of nodes (up to MaxNodes, a bit each).
type MemPolicy struct {
	Mode  PolicyMode
	Nodes uint64
}

// NodeList is the policy's nodes in order.
func (p MemPolicy) NodeList() []int {
	var out []int
	for n := p.Nodes; n != 0; n &= n - 1 {
		out = append(out, bits.TrailingZeros64(n))
	}
	return out
}

func (p MemPolicy) has(node int) bool { return p.Nodes&(1<<node) != 0 }

// String is the policy as numa_maps shows it (mm/mempolicy.c
// mpol_to_str): "default", "local", "prefer:1", "bind:0-1", "interleave:0-1".
func (p MemPolicy) String() string {
	switch p.Mode {
	case PolicyPreferred:
		return "prefer:" + nodeList(p.NodeList())
	case PolicyBind:
		return "bind:" + nodeList(p.NodeList())
	case PolicyInterleave:
		return "interleave:" + nodeList(p.NodeList())
	case PolicyLocal:
		return "local"
	}
	return "default"
}

// nodeList prints nodes as a list with ranges, as %*pbl does.
func nodeList(nodes []int) string {
	var parts []string
	for i := 0; i < len(nodes); {
		j := i
		for j+1 < len(nodes) && nodes[j+1] == nodes[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, strconv.Itoa(nodes[i])+"-"+strconv.Itoa(nodes[j]))
		} else {
			parts = append(parts, strconv.Itoa(nodes[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// ParseMemPolicy reads a policy as mpol_parse_str does for tmpfs's mpol=
// (mm/mempolicy.c): "default", "local", "prefer[red]:N", "bind:LIST",
// "interleave:LIST" (LIST of nodes like 0-1,3; interleave without one
// takes every node). Nodes past the machine's are EINVAL.
func ParseMemPolicy(s string, nodes int) (MemPolicy, error) {
	mode, list, hasList := strings.Cut(s, ":")
	var p MemPolicy
	if hasList {
		for _, part := range strings.Split(list, ",") {
			lo, hi, isRange := strings.Cut(part, "-")
			a, err := strconv.Atoi(lo)
			b := a
			if err == nil && isRange {
				b, err = strconv.Atoi(hi)
			}
			if err != nil || a < 0 || b < a || b >= nodes {
				return p, errno.Errorf(syscall.EINVAL, "mempolicy %q: nodes 0..%d", s, nodes-1)
			}
			for n := a; n <= b; n++ {
				p.Nodes |= 1 << n
			}
		}
	}
	switch mode {
	case "default", "local":
		p.Mode = map[string]PolicyMode{"default": PolicyDefault, "local": PolicyLocal}[mode]
		if hasList {
			return p, errno.Errorf(syscall.EINVAL, "mempolicy %q: %s takes no nodes", s, mode)
		}
	case "prefer", "preferred":
		p.Mode = PolicyPreferred
		if len(p.NodeList()) != 1 {
			return p, errno.Errorf(syscall.EINVAL, "mempolicy %q: prefer takes one node", s)
		}
	case "bind":
		p.Mode = PolicyBind
		if p.Nodes == 0 {
			return p, errno.Errorf(syscall.EINVAL, "mempolicy %q: bind takes nodes", s)
		}
	case "interleave":
		p.Mode = PolicyInterleave
		if !hasList {
			p.Nodes = 1<<nodes - 1
		}
	default:
		return p, errno.Errorf(syscall.EINVAL, "mempolicy %q: want default, local, prefer:N, bind:LIST or interleave:LIST", s)
	}
	return p, nil
}

// NumaEvents are a zone's NUMA allocation counters (enum numa_stat_item),
// as zone_statistics counts them for every page allocated.
type NumaEvents struct {
	Hit, Miss, Foreign, Interleave, Local, Other uint64
}

// Add sums two sets of counters.
func (e NumaEvents) Add(o NumaEvents) NumaEvents {
	return NumaEvents{e.Hit + o.Hit, e.Miss + o.Miss, e.Foreign + o.Foreign, e.Interleave + o.Interleave,
		e.Local + o.Local, e.Other + o.Other}
}

// NodeNuma sums a node's zones' counters: its numastat.
func (m *Memory) NodeNuma(node int) NumaEvents {
	var sum NumaEvents
	for _, z := range m.nodes[node].Zones {
		sum = sum.Add(z.Numa)
	}
	return sum
}

// countNuma is zone_statistics for k pages taken from z: a hit if z is on
// the preferred node, else a miss here and a foreign allocation on the
// preferred zone; local or other by the allocating CPU's node.
func countNuma(z, preferred *Zone, local int, k uint64) {
	if z.Node == preferred.Node {
		z.Numa.Hit += k
	} else {
		z.Numa.Miss += k
		preferred.Numa.Foreign += k
	}
	if z.Node == local {
		z.Numa.Local += k
	} else {
		z.Numa.Other += k
	}
}

// interleave splits n pages over the policy's nodes, one page a node in
// turn from *next (the task's il_prev), as interleave_nodes hands them out.
func interleave(n uint64, p MemPolicy, next *int) []nodePages {
	nodes := p.NodeList()
	out := make([]nodePages, len(nodes))
	start := *next % len(nodes)
	for i := range nodes {
		j := (start + i) % len(nodes)
		out[i] = nodePages{node: nodes[j], n: n / uint64(len(nodes))}
		if uint64(i) < n%uint64(len(nodes)) {
			out[i].n++
		}
	}
	*next = (start + int(n%uint64(len(nodes)))) % len(nodes)
	return out
}

type nodePages struct {
	node int
	n    uint64
}

// NodePages counts an address space's pages of one kind on each node.
func (m *Memory) NodePages(as *AddressSpace, kind OwnerKind) []uint64 {
	out := make([]uint64, len(m.nodes))
	if !as.accounted {
		return out
	}
	for _, z := range m.zones {
		if z.frames != nil {
			out[z.Node] += z.frames.count(is(kind, as.id))
		}
	}
	return out
}

// NodeCachePages counts the page cache's pages on each node.
func (m *Memory) NodeCachePages() []uint64 {
	out := make([]uint64, len(m.nodes))
	for _, z := range m.zones {
		out[z.Node] += z.Count(FileCache)
	}
	return out
}

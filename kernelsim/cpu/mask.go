package cpu

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim/errno"
)

// FormatList prints ascending bit numbers as the kernel's "%*pbl" does:
// ranges joined by commas, e.g. "0-3,6,8-9".
func FormatList(bits []int) string {
	var b strings.Builder
	for i := 0; i < len(bits); {
		j := i
		for j+1 < len(bits) && bits[j+1] == bits[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(bits[i]))
		if j > i {
			b.WriteByte('-')
			b.WriteString(strconv.Itoa(bits[j]))
		}
		i = j + 1
	}
	return b.String()
}

// FormatMask prints a bitmap of nbits bits as the kernel's "%*pb" does
// (lib/vsprintf.c bitmap_string): hex in 32-bit chunks, most significant
// first, separated by commas; the top chunk is as wide as its bits need,
// the others are eight digits.
func FormatMask(bits []int, nbits int) string {
	chunks := (nbits + 31) / 32
	vals := make([]uint32, chunks)
	for _, b := range bits {
		if b >= 0 && b < nbits {
			vals[b/32] |= 1 << (b % 32)
		}
	}
	var sb strings.Builder
	for c := chunks - 1; c >= 0; c-- {
		width := 8
		if c == chunks-1 {
			top := nbits - c*32
			width = (top + 3) / 4
		}
		if c != chunks-1 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "%0*x", width, vals[c])
	}
	return sb.String()
}

// Mask is a set of CPUs (cpumask_t).
type Mask struct{ words []uint64 }

// MaskOf returns the set of the listed CPUs.
func MaskOf(cpus ...int) Mask {
	var m Mask
	for _, c := range cpus {
		m.Set(c)
	}
	return m
}

// MaskAll returns CPUs 0..n-1.
func MaskAll(n int) Mask {
	var m Mask
	for c := range n {
		m.Set(c)
	}
	return m
}

// Set adds cpu to the set.
func (m *Mask) Set(cpu int) {
	for len(m.words) <= cpu/64 {
		m.words = append(m.words, 0)
	}
	m.words[cpu/64] |= 1 << (cpu % 64)
}

// Has says whether cpu is in the set.
func (m Mask) Has(cpu int) bool {
	return cpu >= 0 && cpu/64 < len(m.words) && m.words[cpu/64]&(1<<(cpu%64)) != 0
}

// List returns the CPUs in ascending order.
func (m Mask) List() []int {
	var l []int
	for w, bits := range m.words {
		for b := range 64 {
			if bits&(1<<b) != 0 {
				l = append(l, w*64+b)
			}
		}
	}
	return l
}

// Empty says whether the set has no CPU.
func (m Mask) Empty() bool {
	for _, w := range m.words {
		if w != 0 {
			return false
		}
	}
	return true
}

// And returns the CPUs in both sets.
func (m Mask) And(o Mask) Mask {
	var r Mask
	for i := range min(len(m.words), len(o.words)) {
		r.words = append(r.words, m.words[i]&o.words[i])
	}
	return r
}

// First returns the lowest CPU in the set, or -1.
func (m Mask) First() int {
	if l := m.List(); len(l) > 0 {
		return l[0]
	}
	return -1
}

// Errors of parsing a CPU mask or list written by a user, with the errno
// Linux returns for each (lib/bitmap-str.c).
var (
	ErrMaskSyntax   = errno.New(syscall.EINVAL, "invalid cpu mask")
	ErrMaskOverflow = errno.New(syscall.EOVERFLOW, "cpu mask has bits past the last CPU")
	ErrListRange    = errno.New(syscall.ERANGE, "cpu list names a CPU past the last")
)

// ParseMask reads a hex mask as cpumask_parse_user does: comma-separated
// 32-bit chunks, most significant first, each at most eight hex digits;
// a trailing newline is allowed. A set bit at or past nbits is
// ErrMaskOverflow; anything else malformed is ErrMaskSyntax.
func ParseMask(s string, nbits int) (Mask, error) {
	s = strings.TrimSuffix(s, "\n")
	var m Mask
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	chunks := strings.Split(s, ",")
	for i, c := range chunks {
		c = strings.TrimSpace(c)
		if c == "" || len(c) > 8 {
			return Mask{}, ErrMaskSyntax
		}
		v, err := strconv.ParseUint(c, 16, 32)
		if err != nil {
			return Mask{}, ErrMaskSyntax
		}
		base := 32 * (len(chunks) - 1 - i)
		for b := range 32 {
			if v&(1<<b) == 0 {
				continue
			}
			if base+b >= nbits {
				return Mask{}, ErrMaskOverflow
			}
			m.Set(base + b)
		}
	}
	return m, nil
}

// ParseUserList reads a CPU list as cpulist_parse does: ranges like
// "0-3,6", with an optional stride "0-7:2/4", or "all"; a trailing newline
// is allowed. A CPU at or past n is ErrListRange; bad syntax ErrMaskSyntax.
func ParseUserList(s string, n int) (Mask, error) {
	s = strings.TrimSpace(s)
	var m Mask
	if s == "all" {
		return MaskAll(n), nil
	}
	if s == "" {
		return m, nil
	}
	for _, part := range strings.Split(s, ",") {
		rng, group, hasGroup := strings.Cut(part, ":")
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return Mask{}, ErrMaskSyntax
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return Mask{}, ErrMaskSyntax
			}
		}
		used, size := 1, 1
		if hasGroup {
			u, g, ok := strings.Cut(group, "/")
			if used, err = strconv.Atoi(u); !ok || err != nil {
				return Mask{}, ErrMaskSyntax
			}
			if size, err = strconv.Atoi(g); err != nil || size < 1 || used < 1 || used > size {
				return Mask{}, ErrMaskSyntax
			}
		}
		if b >= n {
			return Mask{}, ErrListRange
		}
		for c := a; c <= b; c++ {
			if (c-a)%size < used {
				m.Set(c)
			}
		}
	}
	return m, nil
}

// Intersects says whether the two sets share a CPU.
func (m Mask) Intersects(o Mask) bool { return !m.And(o).Empty() }

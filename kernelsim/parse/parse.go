// Package parse reads what userspace writes to kernel files, as the
// kernel's own parsers do: kstrtoull and its kin (lib/kstrtox.c),
// kstrtobool, memparse (lib/cmdline.c), and the integer vectors of the
// sysctl handlers (kernel/sysctl.c proc_get_long). CPU masks and lists
// are parsed with the masks they make, in package cpu (lib/bitmap-str.c).
// Every error carries the errno the kernel returns: EINVAL for what is
// not a number, ERANGE for a number too large.
package parse

import (
	"strings"
	"syscall"

	"ksim/kernelsim/errno"
)

// digits parses the longest run of digits of base at the start of s, as
// _parse_integer does, and returns the value, how many bytes it took and
// whether it overflowed 64 bits.
func digits(s string, base uint64) (v uint64, n int, overflow bool) {
	for ; n < len(s); n++ {
		c := s[n]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case 'a' <= c && c <= 'f':
			d = uint64(c-'a') + 10
		case 'A' <= c && c <= 'F':
			d = uint64(c-'A') + 10
		default:
			return v, n, overflow
		}
		if d >= base {
			return v, n, overflow
		}
		if v > (^uint64(0)-d)/base {
			overflow = true
		}
		v = v*base + d
	}
	return v, n, overflow
}

// radix is _parse_integer_fixup_radix: base 0 means 16 after "0x" (with a
// hex digit after it), 8 after a leading "0", else 10; base 16 skips a
// "0x". It returns the base and what follows the prefix.
func radix(s string, base int) (uint64, string) {
	hexPrefix := len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && isHex(s[2])
	switch {
	case base == 0 && hexPrefix:
		return 16, s[2:]
	case base == 0 && len(s) > 0 && s[0] == '0':
		return 8, s
	case base == 0:
		return 10, s
	case base == 16 && hexPrefix:
		return 16, s[2:]
	}
	return uint64(base), s
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Uint reads an unsigned number as kstrtoull does: an optional '+', the
// digits of base (0 picks it from the prefix as C does), and at most one
// newline after them; nothing else, not even a space.
func Uint(s string, base int) (uint64, error) {
	return uintNL(strings.TrimPrefix(s, "+"), base, s)
}

func uintNL(s string, base int, orig string) (uint64, error) {
	b, rest := radix(s, base)
	v, n, overflow := digits(rest, b)
	switch {
	case overflow:
		return 0, errno.Errorf(syscall.ERANGE, "%q is too large", orig)
	case n == 0:
		return 0, errno.Errorf(syscall.EINVAL, "%q is not a number", orig)
	}
	if tail := strings.TrimPrefix(rest[n:], "\n"); tail != "" {
		return 0, errno.Errorf(syscall.EINVAL, "%q is not a number", orig)
	}
	return v, nil
}

// Int reads a signed number as kstrtoll does: an optional '-' (or '+')
// before the digits of Uint. A value past the 64-bit range is ERANGE.
func Int(s string, base int) (int64, error) {
	if rest, neg := strings.CutPrefix(s, "-"); neg {
		v, err := uintNL(rest, base, s)
		if err != nil {
			return 0, err
		}
		if v > 1<<63 {
			return 0, errno.Errorf(syscall.ERANGE, "%q is too small", s)
		}
		return -int64(v), nil
	}
	v, err := Uint(s, base)
	if err != nil {
		return 0, err
	}
	if v > 1<<63-1 {
		return 0, errno.Errorf(syscall.ERANGE, "%q is too large", s)
	}
	return int64(v), nil
}

// Int32 reads an int as kstrtoint does: Int, within 32 bits (ERANGE).
func Int32(s string, base int) (int, error) {
	v, err := Int(s, base)
	if err != nil {
		return 0, err
	}
	if v < -1<<31 || v > 1<<31-1 {
		return 0, errno.Errorf(syscall.ERANGE, "%q does not fit an int", s)
	}
	return int(v), nil
}

// Uint32 reads an unsigned int as kstrtouint does: Uint, within 32 bits.
func Uint32(s string, base int) (uint32, error) {
	v, err := Uint(s, base)
	if err != nil {
		return 0, err
	}
	if v > 1<<32-1 {
		return 0, errno.Errorf(syscall.ERANGE, "%q does not fit an unsigned int", s)
	}
	return uint32(v), nil
}

// Bool reads a boolean as kstrtobool does, from the first characters
// only: y, Y, t, T, e, E, 1 and "on" are true; n, N, f, F, d, D, 0 and
// "off" are false.
func Bool(s string) (bool, error) {
	if s != "" {
		switch s[0] {
		case 'y', 'Y', 't', 'T', 'e', 'E', '1':
			return true, nil
		case 'n', 'N', 'f', 'F', 'd', 'D', '0':
			return false, nil
		case 'o', 'O':
			if len(s) > 1 {
				switch s[1] {
				case 'n', 'N':
					return true, nil
				case 'f', 'F':
					return false, nil
				}
			}
		}
	}
	return false, errno.Errorf(syscall.EINVAL, "%q is not a boolean", s)
}

// Size reads a size as memparse does for mem=: a number in C notation
// (0x hex, leading-0 octal) and an optional suffix K, M, G, T, P or E, in
// either case, for binary multiples. Unlike memparse, which stops at the
// first thing it does not know, anything after the suffix is EINVAL, and
// so is a size past 64 bits (ERANGE).
func Size(s string) (uint64, error) {
	num, shift := s, 0
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGTPE", upper(s[n-1])); i >= 0 {
			num, shift = s[:n-1], 10*(i+1)
		}
	}
	b, rest := radix(num, 0)
	v, n, overflow := digits(rest, b)
	switch {
	case n == 0 || n != len(rest):
		return 0, errno.Errorf(syscall.EINVAL, "size %q: want a number with an optional K, M, G, T, P or E suffix", s)
	case overflow || v > ^uint64(0)>>shift:
		return 0, errno.Errorf(syscall.ERANGE, "size %q is too large", s)
	}
	return v << shift, nil
}

// Memparse is the kernel's memparse itself, for the files that use it
// directly (hugetlb's demote_size): the number and suffix it can read at
// the start of s, and 0 if there is none; whatever follows is ignored.
func Memparse(s string) uint64 {
	b, rest := radix(s, 0)
	v, n, overflow := digits(rest, b)
	if n == 0 || overflow {
		return 0
	}
	if n < len(rest) {
		if i := strings.IndexByte("KMGTPE", upper(rest[n])); i >= 0 && v <= ^uint64(0)>>(10*(i+1)) {
			v <<= 10 * (i + 1)
		}
	}
	return v
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// Long is one number of a sysctl write, as proc_get_long reads it: a
// magnitude and a sign.
type Long struct {
	Abs uint64
	Neg bool
}

// longMaxLen is TMPBUFLEN-1: proc_get_long refuses a number of 21 bytes
// or more, not knowing what follows it.
const longMaxLen = 21

// Longs reads up to max numbers written to a sysctl, as __do_proc_dointvec
// and its kin do: white space (space, tab, newline) around and between
// them, each an optional '-' and then digits in C notation (0x hex,
// leading-0 octal), each followed by white space or the end. What follows
// the first max numbers is ignored, as the kernel stops reading there. No
// number at all, or a malformed one, is EINVAL; so is one past 64 bits.
func Longs(s string, max int) ([]Long, error) {
	var out []Long
	rest := s
	for len(out) < max {
		rest = strings.TrimLeft(rest, " \t\n\v\f\r") // proc_skip_spaces: isspace
		if rest == "" {
			break
		}
		var l Long
		if len(rest) > 1 && rest[0] == '-' {
			l.Neg, rest = true, rest[1:]
		}
		if rest[0] < '0' || rest[0] > '9' {
			return nil, errno.Errorf(syscall.EINVAL, "%q: not a number", s)
		}
		b, digitsAt := radix(rest, 0)
		v, n, overflow := digits(digitsAt, b)
		taken := len(rest) - len(digitsAt) + n
		if l.Neg {
			taken++
		}
		if overflow || taken >= longMaxLen {
			return nil, errno.Errorf(syscall.EINVAL, "%q: number too long", s)
		}
		rest = digitsAt[n:]
		if rest != "" && !strings.ContainsRune(" \t\n", rune(rest[0])) {
			return nil, errno.Errorf(syscall.EINVAL, "%q: not a number", s)
		}
		l.Abs = v
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, errno.Errorf(syscall.EINVAL, "%q: no number", s)
	}
	return out, nil
}

package cpu

import (
	"fmt"
	"strconv"
	"strings"
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

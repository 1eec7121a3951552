package devfs

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/printk"
	"ksim/kernfs"
)

// recordMax is PRINTKRB_RECORD_MAX: the longest record a write may add.
const recordMax = 1024

// SEEK_DATA as lseek(2) numbers it.
const seekData = 3

// kmsgFile is /dev/kmsg (kernel/printk/printk.c devkmsg_*): each open
// reads the log from its oldest record, one record per read; writes add
// records. Unlike Linux, a read at the end of the log returns end of file
// rather than blocking, so `cat dev/kmsg` ends.
type kmsgFile struct{ k *kernelsim.Kernel }

// Attr implements kernfs.Node: root may read and write, others read (crw-r--r--).
func (f *kmsgFile) Attr() kernfs.Attr { return kernfs.Attr{Mode: 0o644} }

// Open implements kernfs.File: a reader starts at the oldest record held.
func (f *kmsgFile) Open(*kernfs.Caller, int) (kernfs.Handle, error) {
	h := &kmsgReader{k: f.k}
	h.seq = kernelsim.Get(f.k, func(m *kernelsim.Machine) uint64 { return m.Log.FirstSeq() })
	return h, nil
}

type kmsgReader struct {
	k   *kernelsim.Kernel
	seq uint64
}

// Read returns the next record whole. A buffer too small for it is
// EINVAL; a record overwritten before it was read is EPIPE, after which
// reading resumes at the oldest record.
func (h *kmsgReader) Read(_ *kernfs.Caller, dst []byte, _ int64) (int, error) {
	var line []byte
	err := kernelsim.Get(h.k, func(m *kernelsim.Machine) error {
		rec, ok, err := m.Log.Read(h.seq)
		if err != nil {
			h.seq = m.Log.FirstSeq()
			return syscall.EPIPE
		}
		if !ok {
			return io.EOF
		}
		line = formatRecord(&rec)
		if len(line) > len(dst) {
			return syscall.EINVAL
		}
		h.seq++
		return nil
	})
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return copy(dst, line), nil
}

// formatRecord is info_print_ext_header and msg_add_ext_text:
// "prio,seq,usec,flags;text\n", bytes outside printable ASCII and
// backslashes escaped as \xNN.
func formatRecord(r *printk.Record) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d,%d,%d,-;", r.Prio(), r.Seq, r.TimeNs/1000)
	for i := 0; i < len(r.Text); i++ {
		c := r.Text[i]
		if c < ' ' || c >= 127 || c == '\\' {
			fmt.Fprintf(&b, "\\x%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteByte('\n')
	return b.Bytes()
}

// Write adds one record, as devkmsg_write: a leading "<N>" gives the
// level (N & 7) and, when N has one, the facility; without it the record
// is at the default message level. Userspace records default to LOG_USER.
func (h *kmsgReader) Write(c *kernfs.Caller, data []byte, _ int64) (int, error) {
	if len(data) > recordMax {
		return 0, fmt.Errorf("a record of %d bytes: at most %d: %w", len(data), recordMax, syscall.EINVAL)
	}
	text := string(data)
	err := h.k.Write(c.Context(), func(m *kernelsim.Machine) error {
		level, facility := m.Log.Levels().DefaultMessage, printk.FacilityUser
		if strings.HasPrefix(text, "<") {
			if end := strings.IndexByte(text, '>'); end > 1 {
				if u, err := strconv.ParseUint(text[1:end], 10, 32); err == nil {
					level = int(u & 7)
					if fac := int(u >> 3); fac != 0 {
						facility = fac
					}
					text = text[end+1:]
				}
			}
		}
		m.Log.Append(facility, level, text)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(data), nil
}

// Seek is devkmsg_llseek: only offset 0; SEEK_SET goes to the oldest
// record, SEEK_DATA to the first after the last clear, SEEK_END past the newest.
func (h *kmsgReader) Seek(_ *kernfs.Caller, off int64, whence int) (int64, error) {
	if off != 0 {
		return 0, syscall.ESPIPE
	}
	return 0, kernelsim.Get(h.k, func(m *kernelsim.Machine) error {
		switch whence {
		case io.SeekStart:
			h.seq = m.Log.FirstSeq()
		case seekData:
			h.seq = m.Log.ClearSeq()
		case io.SeekEnd:
			h.seq = m.Log.NextSeq()
		default:
			return syscall.EINVAL
		}
		return nil
	})
}

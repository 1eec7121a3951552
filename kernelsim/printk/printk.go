// Package printk is the kernel log: a ring buffer of records with levels,
// facilities, sequence numbers and timestamps (kernel/printk/printk.c), and
// the console log levels of kernel.printk.
package printk

import (
	"fmt"
	"strings"
	"syscall"

	"ksim/kernelsim/clock"
	"ksim/kernelsim/errno"
)

// Log levels (include/linux/kern_levels.h).
const (
	Emerg = iota
	Alert
	Crit
	Err
	Warning
	Notice
	Info
	Debug
)

// Facilities: the kernel logs as 0 (LOG_KERN); /dev/kmsg writes default to 1 (LOG_USER).
const (
	FacilityKern = 0
	FacilityUser = 1
)

// Record is one log record (struct printk_info plus its text).
type Record struct {
	Seq      uint64
	Facility int
	Level    int
	TimeNs   uint64 // local_clock() at logging
	Text     string
}

// Prio is the syslog priority, facility<<3 | level, as /dev/kmsg prints it.
func (r *Record) Prio() int { return r.Facility<<3 | r.Level }

// recordOverhead approximates what a record costs in the ring beyond its
// text (descriptor and info), so that the buffer holds about as many
// records as Linux's would.
const recordOverhead = 16

// DefaultBufLen is the ring size, 2^CONFIG_LOG_BUF_SHIFT with shift 18 as
// distribution kernels set it.
const DefaultBufLen = 256 << 10

// ErrOverwritten says a reader's next record was overwritten: /dev/kmsg's EPIPE.
var ErrOverwritten = errno.New(syscall.EPIPE, "record overwritten")

// Log is the ring buffer. It is not safe for concurrent use; the kernel's lock guards it.
type Log struct {
	clk      *clock.Clock
	records  []Record // oldest first
	bytes    int
	limit    int
	nextSeq  uint64
	clearSeq uint64 // where "dmesg -C" left off; SEEK_DATA goes here
	levels   ConsoleLevels
	console  func(Record)
	// WakeReaders is called for each new record: printk wakes the readers
	// waiting on the log through an irq_work (wake_up_klogd).
	WakeReaders func()
}

// ConsoleLevels are the four values of kernel.printk (kernel/printk/printk.c console_printk).
type ConsoleLevels struct {
	// Console is console_loglevel: records with a level below it reach the console.
	Console int
	// DefaultMessage is the level of records logged without one.
	DefaultMessage int
	// MinimumConsole is the lowest console_loglevel syslog(2) may set.
	MinimumConsole int
	// DefaultConsole is console_loglevel's value at boot.
	DefaultConsole int
}

// DefaultConsoleLevels are what a distribution kernel booted with "quiet"
// shows: console 4, default message 4, minimum 1, default console 7.
var DefaultConsoleLevels = ConsoleLevels{Console: 4, DefaultMessage: 4, MinimumConsole: 1, DefaultConsole: 7}

// New returns an empty log of bufLen bytes. console, if not nil, receives
// every record whose level is below the console log level, as a serial
// console would.
func New(clk *clock.Clock, bufLen int, console func(Record)) *Log {
	return &Log{clk: clk, limit: bufLen, levels: DefaultConsoleLevels, console: console}
}

// Printk logs a kernel message at a level.
func (l *Log) Printk(level int, format string, args ...any) {
	l.Append(FacilityKern, level, fmt.Sprintf(format, args...))
}

// Append stores a record, dropping the oldest ones when the ring is full.
// A trailing newline ends the record and is not part of its text.
func (l *Log) Append(facility, level int, text string) {
	text = strings.TrimSuffix(text, "\n")
	r := Record{Seq: l.nextSeq, Facility: facility, Level: level & 7, TimeNs: l.clk.Now(), Text: text}
	l.nextSeq++
	l.records = append(l.records, r)
	l.bytes += len(text) + recordOverhead
	for l.bytes > l.limit && len(l.records) > 1 {
		l.bytes -= len(l.records[0].Text) + recordOverhead
		l.records = l.records[1:]
	}
	if l.console != nil && r.Level < l.levels.Console {
		l.console(r)
	}
	if l.WakeReaders != nil {
		l.WakeReaders()
	}
}

// FirstSeq is the sequence number of the oldest record still held.
func (l *Log) FirstSeq() uint64 {
	if len(l.records) == 0 {
		return l.nextSeq
	}
	return l.records[0].Seq
}

// NextSeq is the sequence number the next record will get.
func (l *Log) NextSeq() uint64 { return l.nextSeq }

// ClearSeq is the first record "dmesg -C" did not clear.
func (l *Log) ClearSeq() uint64 { return max(l.clearSeq, l.FirstSeq()) }

// Read returns the record with sequence number seq. It fails with
// ErrOverwritten if that record is gone, and returns false at the end of
// the log.
func (l *Log) Read(seq uint64) (Record, bool, error) {
	first := l.FirstSeq()
	if seq < first {
		return Record{}, false, ErrOverwritten
	}
	if seq >= l.nextSeq {
		return Record{}, false, nil
	}
	return l.records[seq-first], true, nil
}

// Levels returns kernel.printk.
func (l *Log) Levels() ConsoleLevels { return l.levels }

// SetLevels replaces kernel.printk.
func (l *Log) SetLevels(c ConsoleLevels) { l.levels = c }

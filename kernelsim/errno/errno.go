// Package errno gives every error the kernel returns its Linux errno, as
// the kernel's own functions return -EINVAL or -ESRCH: an error says what
// went wrong for the log, and carries the errno a system call fails with.
// There is one mapping from errors to errnos, Of; an error that carries
// none is a bug, which the server reports (and tests catch) instead of
// failing the call with a silent EIO.
package errno

import (
	"errors"
	"fmt"
	"syscall"
)

// EHWPOISON is the errno of a page already poisoned
// (include/uapi/asm-generic/errno.h); Go's syscall has no name for it.
const EHWPOISON = syscall.Errno(133)

// Error is what went wrong and the errno it fails a system call with. Its
// errno is found first: it wins over any errno of an error it wraps.
type Error struct {
	Errno syscall.Errno
	msg   string
	err   error // what it wraps, if anything
}

func (e *Error) Error() string { return e.msg }

// Unwrap gives the errno, then the wrapped error, so errors.Is finds both.
func (e *Error) Unwrap() []error {
	if e.err == nil {
		return []error{e.Errno}
	}
	return []error{e.Errno, e.err}
}

// New returns an error with a fixed message, for sentinels such as
// sched.ErrNoProcess.
func New(e syscall.Errno, msg string) *Error { return &Error{Errno: e, msg: msg} }

// Errorf formats a message as fmt.Errorf does, %w included, and gives the
// error errno e.
func Errorf(e syscall.Errno, format string, args ...any) error {
	err := fmt.Errorf(format, args...) // wraps what %w names, for errors.Is
	return &Error{Errno: e, msg: err.Error(), err: err}
}

// Of returns the errno err carries, the outermost if several, and whether
// it carries one. A nil error has none.
func Of(err error) (syscall.Errno, bool) {
	var e syscall.Errno
	if err == nil || !errors.As(err, &e) {
		return 0, false
	}
	return e, true
}

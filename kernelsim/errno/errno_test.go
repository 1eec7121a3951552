package errno

import (
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

var errGone = New(syscall.ESRCH, "no such process")

func TestTheOutermostErrnoWins(t *testing.T) {
	inner := fmt.Errorf("pid 7: %w", errGone)
	e, ok := Of(inner)
	require.True(t, ok)
	require.Equal(t, syscall.ESRCH, e)
	require.Equal(t, "pid 7: no such process", inner.Error())

	outer := Errorf(syscall.EINVAL, "kill %d: %w", 7, inner)
	e, _ = Of(outer)
	require.Equal(t, syscall.EINVAL, e)
	require.ErrorIs(t, outer, errGone, "the wrapped sentinel is still found")
	require.ErrorIs(t, outer, syscall.EINVAL)
	require.Equal(t, "kill 7: pid 7: no such process", outer.Error())

	// A plain wrapped errno counts too.
	e, ok = Of(fmt.Errorf("x: %w", syscall.EPERM))
	require.True(t, ok)
	require.Equal(t, syscall.EPERM, e)
}

func TestAnErrorWithoutErrnoHasNone(t *testing.T) {
	_, ok := Of(errors.New("a bug"))
	require.False(t, ok)
	_, ok = Of(nil)
	require.False(t, ok)
}

func TestErrorfWrapsEveryW(t *testing.T) {
	other := errors.New("other")
	err := Errorf(syscall.EBUSY, "%w and %w", errGone, other)
	require.ErrorIs(t, err, errGone)
	require.ErrorIs(t, err, other)
	e, _ := Of(err)
	require.Equal(t, syscall.EBUSY, e)
}

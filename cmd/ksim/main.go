// Command ksim boots a simulated Linux kernel and mounts its /proc, /sys
// and /dev with FUSE, so real tools can read and steer it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(args []string) error
}

var commands []command

func init() {
	commands = []command{
		{"mount", "[flags] MOUNTPOINT", "boot a simulated kernel and mount its proc/, sys/ and dev/", runMount},
		{"umount", "MOUNTPOINT", "stop the kernel mounted at MOUNTPOINT and unmount it", runUmount},
		{"exec", "MOUNTPOINT -- CMD [ARG...]", "run CMD with the simulated /proc, /sys and /dev/kmsg", runExec},
		{"mkfs", "[flags] IMAGE", "make an ext4 file system in an image file, as mkfs.ext4 does", runMkfs},
		{"version", "", "print ksim's version", runVersion},
	}
}

// exitError carries a status for main to exit with, as a child's exit
// code from exec.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a command line ksim cannot run as given: a bad flag, a
// flag value out of range, missing arguments. It exits 2, as getopt
// tools do; an error in running a good command line exits 1.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// usage lists the commands: on stdout when asked for, on stderr after a mistake.
func usage(w io.Writer) {
	fmt.Fprintf(w, "ksim simulates a Linux kernel behind a FUSE mount.\n\nUsage:\n  ksim COMMAND [ARGS]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'ksim COMMAND --help' for a command's flags.\n")
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run runs a command line and returns the exit status.
func run(args []string) int {
	if len(args) == 0 {
		usage(os.Stderr)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "help":
		if len(args) > 1 { // ksim help COMMAND
			return run([]string{args[1], "--help"})
		}
		usage(os.Stdout)
		return 0
	case execInitCommand:
		return execInit(args[1:])
	case execStageCommand:
		return execStage(args[1:])
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:])
		var ee *exitError
		var ue *usageError
		switch {
		case err == nil, errors.Is(err, pflag.ErrHelp):
			return 0
		case errors.As(err, &ee):
			return ee.code
		case errors.As(err, &ue):
			fmt.Fprintf(os.Stderr, "ksim %s: %v\nRun 'ksim %s --help' for usage.\n", c.name, err, c.name)
			return 2
		}
		fmt.Fprintf(os.Stderr, "ksim %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "ksim: unknown command %q\n", args[0])
	usage(os.Stderr)
	return 2
}

// newFlagSet returns a flag set whose --help prints the command's usage
// on stdout.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("ksim "+name, pflag.ContinueOnError)
	fs.SetOutput(os.Stdout)
	for _, c := range commands {
		if c.name == name {
			fs.Usage = func() {
				w := fs.Output()
				fmt.Fprintf(w, "Usage: ksim %s %s\n\n%s.\n", c.name, c.args, strings.ToUpper(c.summary[:1])+c.summary[1:])
				if fs.HasFlags() {
					fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
				}
			}
		}
	}
	return fs
}

// parseFlags parses a command's flags; a mistake is a usage error, --help is pflag.ErrHelp.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err != nil && !errors.Is(err, pflag.ErrHelp) {
		return &usageError{err}
	}
	return err
}

func runVersion(args []string) error {
	fs := newFlagSet("version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("want no arguments")
	}
	fmt.Printf("ksim %s\n", version)
	return nil
}

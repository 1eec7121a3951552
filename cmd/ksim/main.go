// Command ksim boots a simulated Linux kernel and mounts its /proc, /sys
// and /dev with FUSE, so real tools can read and steer it.
package main

import (
	"errors"
	"fmt"
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
		{"version", "", "print ksim's version", runVersion},
	}
}

// exitError carries a status for main to exit with, as a child's exit
// code from exec.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func usage() {
	fmt.Fprintf(os.Stderr, "ksim simulates a Linux kernel behind a FUSE mount.\n\nUsage:\n  ksim COMMAND [ARGS]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(os.Stderr, "\nRun 'ksim COMMAND --help' for a command's flags.\n")
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	switch os.Args[1] {
	case execInitCommand:
		os.Exit(execInit(os.Args[2:]))
	case execStageCommand:
		os.Exit(execStage(os.Args[2:]))
	}
	for _, c := range commands {
		if c.name == os.Args[1] {
			err := c.run(os.Args[2:])
			var ee *exitError
			switch {
			case err == nil:
				return
			case errors.As(err, &ee):
				os.Exit(ee.code)
			case errors.Is(err, pflag.ErrHelp):
				return
			}
			fmt.Fprintf(os.Stderr, "ksim %s: %v\n", c.name, err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "ksim: unknown command %q\n", os.Args[1])
	usage()
	os.Exit(2)
}

// newFlagSet returns a flag set whose --help prints the command's usage.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet("ksim "+name, pflag.ContinueOnError)
	for _, c := range commands {
		if c.name == name {
			fs.Usage = func() {
				fmt.Fprintf(os.Stderr, "Usage: ksim %s %s\n\n%s.\n", c.name, c.args, strings.ToUpper(c.summary[:1])+c.summary[1:])
				if fs.HasFlags() {
					fmt.Fprintf(os.Stderr, "\nFlags:\n%s", fs.FlagUsages())
				}
			}
		}
	}
	return fs
}

func runVersion(args []string) error {
	fs := newFlagSet("version")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Printf("ksim %s\n", version)
	return nil
}

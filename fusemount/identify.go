package fusemount

import (
	"bytes"
	"os"
	"strconv"
	"strings"

	"ksim/kernfs"
)

// hostProc is where the host's own /proc is; the server runs in the
// host's pid namespace, so the pids FUSE reports are valid there.
const hostProc = "/proc"

// identify finds who the thread with host id tid is, as it sees itself:
// the last fields of NStgid and NSpid in its status are its pid and thread
// id in its innermost pid namespace, the one `ksim exec` makes for a tool.
// A process that is gone gives the zero Identity.
func identify(tid int) kernfs.Identity {
	if tid <= 0 {
		return kernfs.Identity{}
	}
	dir := hostProc + "/" + strconv.Itoa(tid)
	status, err := os.ReadFile(dir + "/status")
	if err != nil {
		return kernfs.Identity{}
	}
	var id kernfs.Identity
	for _, line := range strings.Split(string(status), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		switch key {
		case "Name":
			id.Comm = strings.TrimSpace(val)
		case "NStgid":
			id.Pid = lastInt(fields)
		case "NSpid":
			id.Tid = lastInt(fields)
		}
	}
	if cmdline, err := os.ReadFile(dir + "/cmdline"); err == nil && len(cmdline) > 0 {
		id.Cmdline = strings.Split(string(bytes.TrimSuffix(cmdline, []byte{0})), "\x00")
	}
	id.Start = startTime(dir)
	return id
}

func lastInt(fields []string) int {
	if len(fields) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(fields[len(fields)-1])
	return n
}

// startTime is field 22 of the host's stat, which tells a process from an
// earlier one with the same pid.
func startTime(dir string) uint64 {
	stat, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(fields[19], 10, 64)
	return n
}

package sysfs

import (
	"strconv"

	"ksim/kernelsim"
	"ksim/kernfs"
)

// tasksDir is /sys/kernel/ksim/tasks: what Linux has no file for, a way
// to fork processes and send signals from a shell. The model reads the
// lines (kernelsim.ParseSpawn and its key table, Machine.Kill and Exec).
func (v *view) tasksDir() kernfs.Dir {
	return dir(
		entry("exec", v.attr(0o200, nil, (*kernelsim.Machine).Exec)),
		entry("kill", v.attr(0o200, nil, (*kernelsim.Machine).Kill)),
		entry("last_pid", v.attr(0o444, func(m *kernelsim.Machine) string { return strconv.Itoa(m.LastSpawned()) }, nil)),
		entry("spawn", v.attr(0o200, nil, spawn)),
	)
}

// spawn forks a process from one line of key=value fields; see
// kernelsim.SpawnKeys. Unknown keys and bad values are EINVAL, a missing
// parent ESRCH, a full pid space EAGAIN, no memory ENOMEM; nothing is
// created on error.
func spawn(m *kernelsim.Machine, line string) error {
	req, err := kernelsim.ParseSpawn(line, m.CPUs.Possible(), m.CPUs.Nodes())
	if err != nil {
		return err
	}
	_, err = m.Spawn(req)
	return err
}

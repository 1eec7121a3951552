package procfs

import (
	"fmt"
	"hash/fnv"
	"io/fs"
	"slices"
	"strconv"
	"syscall"

	"ksim/kernelsim"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
)

// namespaces are the ones every task shares, with the fixed inode
// numbers of the initial namespaces: include/uapi/linux/nsfs.h enum
// init_ns_ino, which include/linux/proc_ns.h names PROC_*_INIT_INO. On
// 6.18 the mount and network namespaces have fixed numbers too.
var namespaces = []struct {
	name string
	ino  uint64
}{
	{"cgroup", 0xEFFFFFFB}, // CGROUP_NS_INIT_INO
	{"ipc", 0xEFFFFFFF},    // IPC_NS_INIT_INO
	{"mnt", 0xEFFFFFF8},    // MNT_NS_INIT_INO
	{"net", 0xEFFFFFF9},    // NET_NS_INIT_INO
	{"pid", 0xEFFFFFFC},    // PID_NS_INIT_INO
	{"pid_for_children", 0xEFFFFFFC},
	{"time", 0xEFFFFFFA}, // TIME_NS_INIT_INO
	{"time_for_children", 0xEFFFFFFA},
	{"user", 0xEFFFFFFD}, // USER_NS_INIT_INO
	{"uts", 0xEFFFFFFE},  // UTS_NS_INIT_INO
}

// nsDir is /proc/PID/ns: a link per namespace, "type:[inode]", readable
// by one who may look into the task.
func (d *taskDirNode) nsDir() kernfs.Node {
	uid, gid := d.owner()
	var ents []kernfs.Entry
	for _, ns := range namespaces {
		kind := ns.name
		if i := len(kind) - len("_for_children"); i > 0 && kind[i:] == "_for_children" {
			kind = kind[:i]
		}
		target := fmt.Sprintf("%s:[%d]", kind, ns.ino)
		ents = append(ents, kernfs.Entry{Name: ns.name, Node: kernfs.NewLinkAttr(0o777, uid, gid,
			func(c *kernfs.Caller) (string, error) {
				if !d.permitted(c) {
					return "", syscall.EACCES
				}
				return target, nil
			})})
	}
	return kernfs.NewStaticDir(0o511, ents...).WithOwner(uid, gid)
}

// openFiles is a snapshot of the process's file table.
func (d *taskDirNode) openFiles() []sched.OpenFile {
	return kernelsim.Get(d.v.k, func(*kernelsim.Machine) []sched.OpenFile {
		if p := d.t.Process(); p.MM != nil {
			return slices.Clone(p.Fds)
		}
		return nil
	})
}

// fdLinkPerm is a /proc/PID/fd link's mode: the file's open mode for the
// owner only (fs/proc/fd.c tid_fd_update_inode).
func fdLinkPerm(flags int) fs.FileMode {
	switch flags & syscall.O_ACCMODE {
	case syscall.O_WRONLY:
		return 0o300
	case syscall.O_RDWR:
		return 0o700
	}
	return 0o500
}

// fdDir is /proc/PID/fd: a link per open file.
func (d *taskDirNode) fdDir() kernfs.Node {
	uid, gid := d.owner()
	var ents []kernfs.Entry
	for _, f := range d.openFiles() {
		target := f.Path
		ents = append(ents, kernfs.Entry{Name: strconv.Itoa(f.Fd), Node: kernfs.NewLinkAttr(fdLinkPerm(f.Flags), uid, gid,
			func(c *kernfs.Caller) (string, error) {
				if !d.permitted(c) {
					return "", syscall.EACCES
				}
				return target, nil
			})})
	}
	return kernfs.NewStaticDir(0o500, ents...).WithOwner(uid, gid)
}

// Mount ids fdinfo reports: the root file system and /dev/pts.
const (
	rootMountID   = 24
	devptsMountID = 27
)

// fdinfoDir is /proc/PID/fdinfo: position, flags, mount and inode of each
// open file (fs/proc/fd.c seq_show).
func (d *taskDirNode) fdinfoDir() kernfs.Node {
	uid, gid := d.owner()
	var ents []kernfs.Entry
	for _, f := range d.openFiles() {
		mnt := rootMountID
		if len(f.Path) > 9 && f.Path[:9] == "/dev/pts/" {
			mnt = devptsMountID
		}
		ino := f.Inode
		if ino == 0 {
			h := fnv.New32a()
			h.Write([]byte(f.Path))
			ino = uint64(h.Sum32() % 100000)
		}
		content := []byte(fmt.Sprintf("pos:\t0\nflags:\t0%o\nmnt_id:\t%d\nino:\t%d\n", f.Flags, mnt, ino))
		ents = append(ents, kernfs.Entry{Name: strconv.Itoa(f.Fd), Node: kernfs.NewFile(0o400,
			func(c *kernfs.Caller) ([]byte, error) {
				if !d.permitted(c) {
					return nil, syscall.EACCES
				}
				return content, nil
			}, nil).WithOwner(uid, gid)})
	}
	return kernfs.NewStaticDir(0o500, ents...).WithOwner(uid, gid)
}

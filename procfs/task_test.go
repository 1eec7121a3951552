package procfs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim"
	"ksim/kernelsim/sched"
	"ksim/kernfs"
)

// TestSchedValueColumns holds /proc/PID/sched to kernel/sched/debug.c:
// SPLIT_NS fields print "%-45s:%14Ld.%06ld", plain ones "%-45s:%21Ld", so
// every value line is 45+1+21 bytes. The reference line is measured on
// Linux 6.18 (cat /proc/self/sched).
func TestSchedValueColumns(t *testing.T) {
	const measured = "se.vruntime                                  :          1536.370481"
	splitNs := func(key string) *regexp.Regexp {
		return regexp.MustCompile(fmt.Sprintf(`^%s {%d}:[ \d]{14}\.\d{6}$`, regexp.QuoteMeta(key), 45-len(key)))
	}
	require.Regexp(t, splitNs("se.vruntime"), measured)

	_, d := newTestTree(t)
	for _, pid := range []string{"1", "2"} {
		lines := strings.Split(read(t, d, pid+"/sched"), "\n")
		require.Equal(t, strings.Repeat("-", 67), lines[1])
		for _, key := range []string{"se.exec_start", "se.vruntime", "se.sum_exec_runtime"} {
			require.Contains(t, lines, func() string {
				for _, l := range lines {
					if strings.HasPrefix(l, key+" ") {
						require.Regexp(t, splitNs(key), l)
						return l
					}
				}
				return ""
			}(), key)
		}
		for _, l := range lines[2:] {
			if strings.HasPrefix(l, "current_node=") {
				break
			}
			require.Len(t, l, 67, "%q", l)
			require.Equal(t, byte(':'), l[45], "%q", l)
		}
	}
}

// TestNamespaceInodesAreTheInitialOnes: every task is in the initial
// namespaces, whose inode numbers are fixed (include/uapi/linux/nsfs.h
// enum init_ns_ino, PROC_*_INIT_INO in include/linux/proc_ns.h). The
// targets are those `ls -l /proc/2/ns` shows on Linux 6.18.
func TestNamespaceInodesAreTheInitialOnes(t *testing.T) {
	want := map[string]string{
		"cgroup":            "cgroup:[4026531835]", // CGROUP_NS_INIT_INO 0xEFFFFFFB
		"ipc":               "ipc:[4026531839]",    // IPC_NS_INIT_INO 0xEFFFFFFF
		"mnt":               "mnt:[4026531832]",    // MNT_NS_INIT_INO 0xEFFFFFF8
		"net":               "net:[4026531833]",    // NET_NS_INIT_INO 0xEFFFFFF9
		"pid":               "pid:[4026531836]",    // PID_NS_INIT_INO 0xEFFFFFFC
		"pid_for_children":  "pid:[4026531836]",
		"time":              "time:[4026531834]", // TIME_NS_INIT_INO 0xEFFFFFFA
		"time_for_children": "time:[4026531834]",
		"user":              "user:[4026531837]", // USER_NS_INIT_INO 0xEFFFFFFD
		"uts":               "uts:[4026531838]",  // UTS_NS_INIT_INO 0xEFFFFFFE
	}
	_, d := newTestTree(t)
	for _, pid := range []string{"1", "2", "self"} {
		n, err := kernfs.Resolve(d, reader, pid+"/ns")
		require.NoError(t, err)
		ents, err := n.(kernfs.Dir).ReadDir(reader)
		require.NoError(t, err)
		got := map[string]string{}
		for _, e := range ents {
			target, err := e.Node.(kernfs.Symlink).Readlink(reader)
			require.NoError(t, err)
			got[e.Name] = target
		}
		require.Equal(t, want, got, pid)
	}
}

// kthreads are the pids of kthreadd and of the kernel threads it started.
func kthreads(t *testing.T, k *kernelsim.Kernel) (kthreadd int, children []int) {
	t.Helper()
	k.Read(func(m *kernelsim.Machine) {
		for _, pid := range m.Sched.Tgids() {
			task := m.Sched.Task(pid)
			switch {
			case !task.IsKthread():
			case task.Comm == "kthreadd":
				kthreadd = pid
			default:
				children = append(children, pid)
			}
		}
	})
	require.Equal(t, 2, kthreadd)
	require.NotEmpty(t, children)
	return kthreadd, children
}

// TestKernelThreadFiles holds kernel threads to what Linux 6.18 shows of
// kthreadd and its children, measured on this kind of host:
// Umask 0022 (they share init_fs, whose umask is 0022), all-zero I/O
// accounting (they make no read or write system calls), environ and
// smaps_rollup failing with ESRCH ("No such process": proc_mem_open finds
// no mm), and kthreadd's stack without the kthread() frame the others
// have (rest_init starts kthreadd with kernel_thread, not kthread_create).
func TestKernelThreadFiles(t *testing.T) {
	k, d := newTestTree(t)
	require.NoError(t, k.Advance(t.Context(), 5000)) // let the counters move
	kthreadd, children := kthreads(t, k)
	all := append([]int{kthreadd}, children...)

	t.Run("umask", func(t *testing.T) {
		for _, pid := range all {
			require.Regexp(t, `\nUmask:\t0022\n`, read(t, d, strconv.Itoa(pid)+"/status"), pid)
		}
	})
	t.Run("io", func(t *testing.T) {
		const zeroIO = "rchar: 0\nwchar: 0\nsyscr: 0\nsyscw: 0\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n"
		for _, pid := range all {
			require.Equal(t, zeroIO, read(t, d, strconv.Itoa(pid)+"/io"), pid)
		}
		// A user process still counts its system calls.
		require.NotEqual(t, zeroIO, read(t, d, "1/io"))
	})
	t.Run("no mm", func(t *testing.T) {
		for _, pid := range all {
			p := strconv.Itoa(pid)
			for _, f := range []string{"environ", "smaps_rollup"} {
				for _, c := range []*kernfs.Caller{reader, nobody} {
					_, err := kernfs.ReadFile(d, c, p+"/"+f)
					if c == nobody && f == "environ" {
						require.ErrorIs(t, err, syscall.EACCES, "0400 keeps others out before open")
						continue
					}
					require.ErrorIs(t, err, syscall.ESRCH, "%s/%s", p, f)
				}
			}
			// maps and smaps of a task without mm are empty, not an error,
			// to anyone (fs/proc/task_mmu.c proc_maps_open lets a NULL mm
			// through before any access check): as nobody reads /proc/2/maps.
			for _, f := range []string{"maps", "smaps"} {
				for _, c := range []*kernfs.Caller{reader, nobody} {
					b, err := kernfs.ReadFile(d, c, p+"/"+f)
					require.NoError(t, err, "%s/%s", p, f)
					require.Empty(t, b)
				}
			}
		}
	})
	t.Run("stack", func(t *testing.T) {
		frame := `\[<0>\] %s\+0x[0-9a-f]+/0x[0-9a-f]+\n`
		require.Regexp(t, "^"+fmt.Sprintf(frame, "kthreadd")+fmt.Sprintf(frame, "ret_from_fork")+
			fmt.Sprintf(frame, "ret_from_fork_asm")+"$", read(t, d, "2/stack"))
		var sleeping string
		k.Read(func(m *kernelsim.Machine) {
			for _, pid := range children {
				if m.Sched.Task(pid).State != sched.Running {
					sleeping = strconv.Itoa(pid)
					return
				}
			}
		})
		require.Regexp(t, "^"+fmt.Sprintf(frame, `\w+`)+fmt.Sprintf(frame, "kthread")+fmt.Sprintf(frame, "ret_from_fork")+
			fmt.Sprintf(frame, "ret_from_fork_asm")+"$", read(t, d, sleeping+"/stack"))
	})
}

// TestZombieHasNoMM: a zombie has dropped its mm, so environ and
// smaps_rollup fail as a kernel thread's do (proc_mem_open: ESRCH), and
// its fs_struct, so status has no Umask line (get_task_umask). Measured on
// Linux 6.18 with a child that exited unwaited for.
func TestZombieHasNoMM(t *testing.T) {
	k, d := newTestTree(t)
	var zombie int
	require.NoError(t, k.Write(t.Context(), func(m *kernelsim.Machine) error {
		spawn := func(line string) (*sched.Task, error) {
			req, err := kernelsim.ParseSpawn(line, m.CPUs.Possible(), m.CPUs.Nodes())
			if err != nil {
				return nil, err
			}
			return m.Spawn(req)
		}
		parent, err := spawn("comm=a.out reap=0")
		if err != nil {
			return err
		}
		child, err := spawn(fmt.Sprintf("comm=a.out ppid=%d lifetime=1s", parent.Pid))
		if err != nil {
			return err
		}
		zombie = child.Pid
		return nil
	}))
	require.NoError(t, k.Advance(t.Context(), 2000))
	status := read(t, d, strconv.Itoa(zombie)+"/status")
	require.Regexp(t, "^Name:\ta.out\nState:\tZ \\(zombie\\)\n", status)
	for _, f := range []string{"environ", "smaps_rollup"} {
		_, err := kernfs.ReadFile(d, reader, strconv.Itoa(zombie)+"/"+f)
		require.ErrorIs(t, err, syscall.ESRCH, f)
	}
}

// mapsHeader matches a maps line (fs/proc/task_mmu.c show_map_vma).
var mapsHeader = regexp.MustCompile(`^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]{8} [0-9a-f]{2}:[0-9a-f]{2} \d+ *(\S*)$`)

// TestSpecialMappings holds maps and smaps to what Linux 6.18 shows of an
// x86_64 process's special mappings (measured: grep -A24 on
// /proc/self/smaps): [vvar] of 16 kB, [vvar_vclock] of 8 kB and [vdso] of
// 8 kB back to back (arch/x86/entry/vdso/vma.c map_vdso), then the gate
// page [vsyscall], which smaps shows as maps does. VmFlags are
// show_smap_vma_flags of the flags the kernel gives them: the vvar pages
// VM_READ|VM_MAYREAD|VM_IO|VM_DONTDUMP|VM_PFNMAP, the vdso
// VM_READ|VM_EXEC|VM_MAYREAD|VM_MAYWRITE|VM_MAYEXEC, both with
// VM_DONTEXPAND and VM_SOFTDIRTY from __install_special_mapping (sd, as on
// every mapping of a CONFIG_MEM_SOFT_DIRTY kernel such as Debian's), and
// the execute-only gate page (vsyscall=xonly) VM_EXEC alone.
func TestSpecialMappings(t *testing.T) {
	_, d := newTestTree(t)
	maps := strings.Split(strings.TrimSuffix(read(t, d, "1/maps"), "\n"), "\n")
	type vma struct {
		start, end uint64
		perms      string
	}
	parse := func(l string) (string, vma) {
		m := mapsHeader.FindStringSubmatch(l)
		require.NotNil(t, m, "%q", l)
		s, _ := strconv.ParseUint(m[1], 16, 64)
		e, _ := strconv.ParseUint(m[2], 16, 64)
		return m[4], vma{s, e, m[3]}
	}
	byName := map[string]vma{}
	var tail []string
	for _, l := range maps[len(maps)-4:] {
		name, v := parse(l)
		byName[name] = v
		tail = append(tail, name)
	}
	t.Run("maps", func(t *testing.T) {
		require.Equal(t, []string{"[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]"}, tail)
		for _, c := range []struct {
			name  string
			kB    uint64
			perms string
		}{{"[vvar]", 16, "r--p"}, {"[vvar_vclock]", 8, "r--p"}, {"[vdso]", 8, "r-xp"}, {"[vsyscall]", 4, "--xp"}} {
			v := byName[c.name]
			require.Equal(t, c.kB<<10, v.end-v.start, c.name)
			require.Equal(t, c.perms, v.perms, c.name)
		}
		require.Equal(t, byName["[vvar]"].end, byName["[vvar_vclock]"].start)
		require.Equal(t, byName["[vvar_vclock]"].end, byName["[vdso]"].start)
		require.Equal(t, "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]", maps[len(maps)-1])
	})

	smaps := read(t, d, "1/smaps")
	var headers []string
	flags := map[string]string{}
	var name string
	for _, l := range strings.Split(strings.TrimSuffix(smaps, "\n"), "\n") {
		if mapsHeader.MatchString(l) {
			headers = append(headers, l)
			name, _ = parse(l)
			continue
		}
		if f, ok := strings.CutPrefix(l, "VmFlags: "); ok {
			flags[name] = f
		}
	}
	t.Run("smaps headers", func(t *testing.T) {
		require.Equal(t, maps, headers, "smaps shows every mapping maps shows, [vsyscall] too")
		i := strings.Index(smaps, "[vsyscall]\n")
		require.Positive(t, i)
		require.Regexp(t, `^\[vsyscall\]\nSize:                  4 kB\nKernelPageSize:        4 kB\nMMUPageSize:           4 kB\nRss:                   0 kB\n`, smaps[i:])
	})
	t.Run("VmFlags", func(t *testing.T) {
		require.Equal(t, map[string]string{
			"[vvar]":        "rd mr pf io de dd sd ",
			"[vvar_vclock]": "rd mr pf io de dd sd ",
			"[vdso]":        "rd ex mr mw me de sd ",
			"[vsyscall]":    "ex ",
			"[stack]":       "rd wr mr mw me gd ac sd ",
			"[heap]":        "rd wr mr mw me ac sd ",
		}, map[string]string{
			"[vvar]": flags["[vvar]"], "[vvar_vclock]": flags["[vvar_vclock]"], "[vdso]": flags["[vdso]"],
			"[vsyscall]": flags["[vsyscall]"], "[stack]": flags["[stack]"], "[heap]": flags["[heap]"],
		})
	})
}

// VmSize is the mappings' sum, [vvar_vclock] included, and the gate page
// ([vsyscall]) outside it, as task_mem counts total_vm.
func TestVmSizeIsTheMappingsSum(t *testing.T) {
	_, d := newTestTree(t)
	for _, pid := range []string{"1", "300"} {
		if _, err := kernfs.Resolve(d, reader, pid); err != nil {
			continue
		}
		var sum uint64
		for _, l := range strings.Split(strings.TrimSuffix(read(t, d, pid+"/maps"), "\n"), "\n") {
			m := mapsHeader.FindStringSubmatch(l)
			require.NotNil(t, m, "%q", l)
			if m[4] == "[vsyscall]" {
				continue
			}
			s, _ := strconv.ParseUint(m[1], 16, 64)
			e, _ := strconv.ParseUint(m[2], 16, 64)
			sum += e - s
		}
		var vmSize uint64
		for _, l := range strings.Split(read(t, d, pid+"/status"), "\n") {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "VmSize:" {
				vmSize, _ = strconv.ParseUint(f[1], 10, 64)
			}
		}
		require.Equal(t, sum>>10, vmSize, "pid %s", pid)
	}
}

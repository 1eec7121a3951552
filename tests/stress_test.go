package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"ksim/devfs"
	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernfs"
	"ksim/procfs"
	"ksim/sysfs"
)

// tree assembles the mount's file tree, as ksim mount does, without FUSE.
func tree(t *testing.T, mode clock.Mode) (kernfs.Dir, *kernelsim.Kernel) {
	t.Helper()
	cfg := kernelsim.DefaultConfig()
	cfg.Clock, cfg.CPUs, cfg.Seed = mode, 4, 3
	cfg.WallClock = func() int64 { return time.Now().UnixNano() }
	k, err := kernelsim.New(cfg)
	require.NoError(t, err)
	return kernfs.NewStaticDir(0o755,
		kernfs.Entry{Name: "dev", Node: devfs.New(k)},
		kernfs.Entry{Name: "proc", Node: procfs.New(k)},
		kernfs.Entry{Name: "sys", Node: sysfs.New(k, kernfs.NewOutbox())},
	), k
}

// Readers, writers and advances at once, through the file tree, with
// both clocks: run with -race, this holds the lock discipline (no state
// is touched outside the kernel's lock), and no request fails but as
// Linux would make it fail.
func TestConcurrentReadsWritesAndAdvances(t *testing.T) {
	for _, mode := range []clock.Mode{clock.Manual, clock.Realtime} {
		t.Run(mode.String(), func(t *testing.T) {
			root, k := tree(t, mode)
			who := kernfs.NewCaller(0, 0, kernfs.Identity{Pid: 1 << 21, Tid: 1 << 21, Comm: "stress"})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 64)
			worker := func(seed uint64, step func(r *rand.Rand) error) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(seed, 0))
					for i := 0; i < 150 && ctx.Err() == nil; i++ {
						if err := step(r); err != nil {
							errs <- err
							cancel()
							return
						}
					}
				}()
			}
			read := func(path string) error {
				_, err := kernfs.ReadFile(root, who, path)
				if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH) {
					return nil // a task that exited meanwhile
				}
				return err
			}
			write := func(path, data string, allowed ...syscall.Errno) error {
				err := kernfs.WriteFile(root, who, path, []byte(data))
				for _, e := range allowed {
					if errors.Is(err, e) {
						return nil
					}
				}
				if err != nil {
					return fmt.Errorf("%s <- %q: %w", path, data, err)
				}
				return nil
			}
			for i := range 3 { // readers
				worker(uint64(i), func(r *rand.Rand) error {
					for _, f := range []string{"proc/stat", "proc/meminfo", "proc/interrupts", "proc/uptime",
						"proc/loadavg", "proc/zoneinfo", "sys/devices/system/cpu/online", "sys/kernel/ksim/clock/uptime_ns"} {
						if err := read(f); err != nil {
							return err
						}
					}
					pids, err := kernfs.ReadDirNames(root, who, "proc")
					if err != nil {
						return err
					}
					for _, p := range pids {
						if _, err := strconv.Atoi(p); err == nil && r.IntN(8) == 0 {
							if err := read("proc/" + p + "/stat"); err != nil {
								return err
							}
						}
					}
					return nil
				})
			}
			worker(10, func(r *rand.Rand) error { // processes come and go
				if err := write("sys/kernel/ksim/tasks/spawn", fmt.Sprintf("comm=w%d cpu=%d%% lifetime=%dms", r.IntN(9), r.IntN(100), 1+r.IntN(300))); err != nil {
					return err
				}
				last, err := kernfs.ReadFile(root, who, "sys/kernel/ksim/tasks/last_pid")
				if err != nil {
					return err
				}
				return write("sys/kernel/ksim/tasks/kill", strings.TrimSpace(string(last))+" STOP", syscall.ESRCH)
			})
			worker(11, func(r *rand.Rand) error { // tunables, affinity, hotplug
				switch r.IntN(4) {
				case 0:
					return write("proc/irq/24/smp_affinity_list", strconv.Itoa(r.IntN(4)), syscall.EINVAL)
				case 1:
					return write(fmt.Sprintf("sys/devices/system/cpu/cpu%d/online", 1+r.IntN(3)), strconv.Itoa(r.IntN(2)), syscall.EBUSY)
				case 2:
					return write("proc/sys/vm/drop_caches", "1")
				}
				return write("proc/sys/vm/min_free_kbytes", strconv.Itoa(20000+r.IntN(40000)))
			})
			worker(12, func(r *rand.Rand) error { // time
				if mode == clock.Realtime {
					k.Sync()
					return nil
				}
				return write("sys/kernel/ksim/clock/advance_ms", strconv.Itoa(1+r.IntN(200)))
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
		})
	}
}

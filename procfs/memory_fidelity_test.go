package procfs

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim"
	"ksim/kernelsim/clock"
	"ksim/kernfs"
	"ksim/sysfs"
)

// The machine of the byte-level audit: a manual clock, 2 CPUs, 8 GiB,
// one node unless nodes says otherwise; with /sys beside /proc for the
// node files.
func newAuditTree(t *testing.T, nodes int) (*kernelsim.Kernel, kernfs.Dir, kernfs.Dir) {
	t.Helper()
	cfg := kernelsim.DefaultConfig()
	cfg.Clock, cfg.CPUs, cfg.MemBytes, cfg.NUMANodes = clock.Manual, 2, 8<<30, nodes
	k, err := kernelsim.New(cfg)
	require.NoError(t, err)
	return k, New(k), sysfs.New(k, kernfs.NewOutbox())
}

// zoneSection is one "Node N, zone NAME" block of /proc/zoneinfo.
type zoneSection struct {
	node       int
	name       string
	fields     map[string]uint64 // "pages free", "spanned", "nr_zone_active_anon", "start_pfn", ...
	protection []uint64
}

var zoneHeader = regexp.MustCompile(`^Node (\d+), zone +(\S+)$`)

// parseZoneinfo splits /proc/zoneinfo into zones, leaving out the
// per-node stats (they sit under the node's first populated zone).
func parseZoneinfo(t *testing.T, text string) []zoneSection {
	t.Helper()
	var out []zoneSection
	perNode := false
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if m := zoneHeader.FindStringSubmatch(line); m != nil {
			n, err := strconv.Atoi(m[1])
			require.NoError(t, err)
			out = append(out, zoneSection{node: n, name: m[2], fields: map[string]uint64{}})
			perNode = false
			continue
		}
		z := &out[len(out)-1]
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "per-node stats":
			perNode = true
		case strings.HasPrefix(trimmed, "pages free"):
			perNode = false
			z.fields["pages free"] = atou(t, strings.Fields(trimmed)[2])
		case strings.HasPrefix(trimmed, "protection: ("):
			for _, f := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(trimmed, "protection: ("), ")"), ", ") {
				z.protection = append(z.protection, atou(t, f))
			}
		case perNode:
		default:
			f := strings.Fields(strings.ReplaceAll(trimmed, ":", ""))
			if len(f) == 2 {
				if n, err := strconv.ParseUint(f[1], 10, 64); err == nil {
					z.fields[f[0]] = n
				}
			}
		}
	}
	return out
}

func atou(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	require.NoError(t, err, s)
	return n
}

// systemRAM reads the top-level "System RAM" ranges of /proc/iomem as
// pfn ranges [start, end).
func systemRAM(t *testing.T, d kernfs.Dir) [][2]uint64 {
	t.Helper()
	var out [][2]uint64
	for _, line := range strings.Split(strings.TrimSuffix(read(t, d, "iomem"), "\n"), "\n") {
		if !strings.HasSuffix(line, " : System RAM") || strings.HasPrefix(line, " ") {
			continue
		}
		span, _, _ := strings.Cut(line, " : ")
		a, b, _ := strings.Cut(span, "-")
		s, err := strconv.ParseUint(a, 16, 64)
		require.NoError(t, err)
		e, err := strconv.ParseUint(b, 16, 64)
		require.NoError(t, err)
		out = append(out, [2]uint64{(s + 4095) / 4096, (e + 1) / 4096})
	}
	return out
}

// ramIn counts the RAM frames of [s, e).
func ramIn(ram [][2]uint64, s, e uint64) uint64 {
	var n uint64
	for _, r := range ram {
		if a, b := max(r[0], s), min(r[1], e); a < b {
			n += b - a
		}
	}
	return n
}

// advanceWithLoad spawns tasks that fault in anonymous memory and read
// files, so the LRU counters move, then runs the clock.
func advanceWithLoad(t *testing.T, k *kernelsim.Kernel, sys kernfs.Dir) {
	t.Helper()
	for _, line := range []string{
		"comm=grow rss=64M rss_rate=3M/s cpu=20%",
		"comm=reader cpu=10% io=50% rss=5M",
		"comm=odd rss=1236K",
	} {
		require.NoError(t, kernfs.WriteFile(sys, reader, "kernel/ksim/tasks/spawn", []byte(line+"\n")))
	}
	require.NoError(t, k.Advance(context.Background(), 3000))
}

// Item 2: mm/vmstat.c sums every zone's NR_ZONE_* counters into the
// global ones, and a node's vmstat sums its zones (node_read_vmstat), so
// /proc/vmstat, the zones of /proc/zoneinfo and the nodes' vmstat files
// must agree page for page; the zone LRU counters count the same pages
// as the node's NR_*_ANON/FILE.
func TestVmstatZoneCountersAreTheZonesSum(t *testing.T) {
	for _, nodes := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d nodes", nodes), func(t *testing.T) {
			k, d, sys := newAuditTree(t, nodes)
			for step := range 2 {
				if step == 1 {
					advanceWithLoad(t, k, sys)
				}
				vm := kv(t, read(t, d, "vmstat"), " ")
				zones := parseZoneinfo(t, read(t, d, "zoneinfo"))
				nodeSums := map[string]uint64{}
				for n := range nodes {
					nv := kv(t, read(t, sys, fmt.Sprintf("devices/system/node/node%d/vmstat", n)), " ")
					for name, v := range nv {
						nodeSums[name] += v
					}
				}
				for _, name := range []string{"nr_zone_inactive_anon", "nr_zone_active_anon", "nr_zone_inactive_file",
					"nr_zone_active_file", "nr_zone_unevictable", "nr_zone_write_pending", "nr_free_pages"} {
					var sum uint64
					for _, z := range zones {
						if name == "nr_free_pages" {
							sum += z.fields["pages free"]
						} else {
							sum += z.fields[name]
						}
					}
					require.Equal(t, vm[name], sum, "%s: /proc/vmstat is the zones' sum", name)
					require.Equal(t, vm[name], nodeSums[name], "%s: /proc/vmstat is the nodes' sum", name)
				}
				for _, lru := range []string{"inactive_anon", "active_anon", "inactive_file", "active_file"} {
					require.Equal(t, vm["nr_"+lru], vm["nr_zone_"+lru], "the zone and node LRU counters count the same pages")
					require.Equal(t, vm["nr_"+lru], nodeSums["nr_"+lru])
				}
			}
		})
	}
}

// Item 4: setup_per_zone_lowmem_reserve (mm/page_alloc.c, 6.18) gives
// zone i, for every higher zone j up to ZONE_DEVICE, the managed pages of
// zones i+1..j over zone i's ratio: the running total carries on through
// empty zones; only an empty zone i or a zero ratio (Movable) clears its
// row. Measured here: DMA (0, 3018, 4298, 4298, 4298).
func TestZoneinfoProtectionCarriesTheRunningTotal(t *testing.T) {
	_, d, _ := newAuditTree(t, 1)
	zones := parseZoneinfo(t, read(t, d, "zoneinfo"))
	require.Len(t, zones, 5, "DMA, DMA32, Normal, Movable, Device")
	ratio := []uint64{256, 256, 32, 0, 0} // sysctl_lowmem_reserve_ratio
	for i, z := range zones {
		want := make([]uint64, len(zones))
		var upper uint64
		for j := i + 1; j < len(zones); j++ {
			upper += zones[j].fields["managed"]
			if i < len(zones)-1 && ratio[i] > 0 && z.fields["managed"] > 0 {
				want[j] = upper / ratio[i]
			}
		}
		require.Equal(t, want, z.protection, "zone %s", z.name)
	}
	dma := zones[0].protection
	require.NotZero(t, dma[2])
	require.Equal(t, []uint64{dma[2], dma[2]}, dma[3:], "Movable and Device are empty: the total carries on")
}

// Item 5: pagetypeinfo_showblockcount_print (mm/vmstat.c) walks the
// zone from zone_start_pfn in steps of pageblock_nr_pages and counts the
// block of every step whose frame is online (pfn_to_online_page: its
// 2 MiB subsection has RAM). Measured here with the same e820 shape:
// DMA 8 blocks (1 Unmovable, 7 Movable), DMA32 1528; and 2560 for the
// 5 GiB of Normal.
func TestPagetypeinfoCountsWholePageblocksOfTheSpan(t *testing.T) {
	_, d, _ := newAuditTree(t, 1)
	ram := systemRAM(t, d)
	zones := map[string]zoneSection{}
	for _, z := range parseZoneinfo(t, read(t, d, "zoneinfo")) {
		zones[z.name] = z
	}
	text := read(t, d, "pagetypeinfo")
	_, counts, ok := strings.Cut(text, "Number of blocks type")
	require.True(t, ok)
	rows := map[string][]uint64{}
	for _, line := range strings.Split(strings.TrimSpace(counts), "\n")[1:] {
		f := strings.Fields(line)
		for _, c := range f[4:] {
			rows[f[3]] = append(rows[f[3]], atou(t, c))
		}
	}
	require.Equal(t, []uint64{1, 7, 0, 0, 0}, rows["DMA"], "block 0 never became Movable: its first frame is not RAM")
	for name, want := range map[string]uint64{"DMA": 8, "DMA32": 1528, "Normal": 2560} {
		z := zones[name]
		var blocks uint64
		for pfn := z.fields["start_pfn"]; pfn < z.fields["start_pfn"]+z.fields["spanned"]; pfn += 512 {
			if sub := pfn &^ 511; ramIn(ram, sub, sub+512) > 0 {
				blocks++
			}
		}
		require.Equal(t, want, blocks, "%s: the rule, applied to zoneinfo and iomem", name)
		var sum uint64
		for _, c := range rows[name] {
			sum += c
		}
		require.Equal(t, want, sum, "%s: pagetypeinfo", name)
	}
}

// Item 6: a zone spans its node's range clamped to the zone's limits
// (zone_spanned_pages_in_node, mm/mm_init.c), holes included; present
// counts RAM only. The node starts at its first RAM frame, pfn 1, since
// trim_bios_range makes the first page reserved (iomem says so).
// Measured here: DMA start_pfn 1, spanned 4095, present 3998; DMA32
// start_pfn 4096, spanned 1044480.
func TestZoneinfoEdgesFollowTheNodeSpan(t *testing.T) {
	_, d, _ := newAuditTree(t, 1)
	ram := systemRAM(t, d)
	require.Equal(t, uint64(1), ram[0][0], "iomem: the first page is reserved")
	zones := parseZoneinfo(t, read(t, d, "zoneinfo"))
	want := map[string][2]uint64{"DMA": {1, 4095}, "DMA32": {4096, 1044480}, "Normal": {1 << 20, 9<<18 - 1<<20}}
	for _, z := range zones[:3] {
		require.Equal(t, want[z.name], [2]uint64{z.fields["start_pfn"], z.fields["spanned"]}, z.name)
		s := z.fields["start_pfn"]
		require.Equal(t, ramIn(ram, s, s+z.fields["spanned"]), z.fields["present"], "%s: present is the RAM in the span", z.name)
	}
	require.Equal(t, uint64(3998), zones[0].fields["present"])
}

// Item 7: fs/proc/meminfo.c prints HardwareCorrupted with its own
// seq_printf, "HardwareCorrupted: %5lu kB", not show_val_kb.
func TestMeminfoHardwareCorruptedFormat(t *testing.T) {
	k, d, _ := newAuditTree(t, 1)
	require.Contains(t, read(t, d, "meminfo"), "\nHardwareCorrupted:     0 kB\n")
	require.NoError(t, k.Write(context.Background(), func(m *kernelsim.Machine) error {
		_, err := m.Mem.SoftOffline(0x180000) // a free frame at 6 GiB
		return err
	}))
	require.Contains(t, read(t, d, "meminfo"), "\nHardwareCorrupted:     4 kB\n")
}

// Item 3: the direct map is made of whole pages of each size, and
// together they map the ISA range and every RAM frame above it once
// (init_mem_mapping, arch/x86/mm/init.c; splits move pages between the
// sizes without changing the sum).
func TestMeminfoDirectMapIsWholePagesOverRAM(t *testing.T) {
	for _, nodes := range []int{1, 2} {
		_, d, _ := newAuditTree(t, nodes)
		m := kv(t, read(t, d, "meminfo"), ":")
		require.Zero(t, m["DirectMap4k"]%4)
		require.Zero(t, m["DirectMap2M"]%2048, "DirectMap2M %d kB", m["DirectMap2M"])
		require.Zero(t, m["DirectMap1G"]%(1<<20), "DirectMap1G %d kB", m["DirectMap1G"])
		ram := systemRAM(t, d)
		mapped := 256 + ramIn(ram, 256, 1<<40) // ISA_END_ADDRESS: the first MiB whatever its holes
		require.Equal(t, mapped*4, m["DirectMap4k"]+m["DirectMap2M"]+m["DirectMap1G"])
	}
}

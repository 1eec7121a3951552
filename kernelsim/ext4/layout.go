package ext4

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"syscall"
)

// Options are what Format makes, named as mkfs.ext4 names them.
type Options struct {
	// Size is the file system's size in bytes (mke2fs's fs-size argument);
	// 0 takes the whole device, which mke2fs rounds down to whole 4 KiB
	// pages when blocks are smaller.
	Size uint64
	// BlockSize is -b: 1024 or 4096.
	BlockSize uint32
	// Inodes is -N; 0 takes one inode per mke2fs.conf inode_ratio bytes.
	Inodes uint64
	// Label is -L, at most 16 bytes.
	Label string
	// UUID is -U, and HashSeed is -E hash_seed=; nil makes them from Seed.
	UUID, HashSeed *UUID
	// ReservedPercent is -m: blocks kept for root, 0 to 50 percent.
	ReservedPercent float64
	// Seed makes the UUID and the hash seed that are not given, as
	// uuid_generate makes them from /dev/urandom: one seed, one file system.
	Seed uint64
	// Time is every timestamp Format writes (creation, last write and
	// check, the inodes' times), in seconds since the epoch, as
	// E2FSPROGS_FAKE_TIME fixes mke2fs's.
	Time int64
}

// DefaultOptions are mkfs.ext4's defaults: 4 KiB blocks and 5% reserved.
func DefaultOptions() Options { return Options{BlockSize: 4096, ReservedPercent: 5} }

// Block sizes Format makes.
var mkfsBlockSizes = []uint32{1024, 4096}

// Format's fixed choices, as mke2fs makes them with mke2fs.conf's defaults.
const (
	mkfsInodeSize  = 256
	mkfsFirstIno   = GoodOldFirstIno
	lostFoundIno   = GoodOldFirstIno // the first free inode, where mke2fs's mkdir puts it
	lostFoundBytes = 16 << 10        // misc/mke2fs.c create_lost_and_found
	pageSize       = 4096            // sys_page_size, to which a device's size is rounded
	max32          = 1<<32 - 1       // MAX_32_NUM
)

// sizeTypes are mke2fs.conf's usage types by file system size, with their
// inode_ratio (misc/mke2fs.c parse_fs_type; misc/mke2fs.conf.in): floppy
// below 3 MiB, small below 512 MiB, default below 4 TiB, big below 16 TiB.
var sizeTypes = []struct {
	name  string
	below uint64 // bytes
	ratio uint32 // bytes per inode
}{
	{"floppy", 3 << 20, 8192},
	{"small", 512 << 20, 4096},
	{"default", 4 << 40, 16384},
	{"big", 16 << 40, 32768},
	{"huge", math.MaxUint64, 65536},
}

// Layout is what Plan decides: the geometry and how it was reached.
type Layout struct {
	Geometry
	SizeType       string // mke2fs.conf's usage type by size
	InodeRatio     uint32 // bytes per inode, if -N was not given
	ReservedBlocks uint64
	LostFound      uint32 // blocks of lost+found
}

// OptionError is an option mke2fs would refuse, named by its mke2fs flag
// ("-b", "-N", "-m", "-L", "size"), with what it may be.
type OptionError struct {
	Option, Value, Want string
}

func (e *OptionError) Error() string { return fmt.Sprintf("%s %s: %s", e.Option, e.Value, e.Want) }

// Unwrap gives the errno: EINVAL.
func (e *OptionError) Unwrap() error { return syscall.EINVAL }

// SizeError is a size that holds no file system of these options (Min is
// the least that does) or that needs more than 2^32 blocks or more
// descriptor blocks than one group holds (Limit is where that begins).
type SizeError struct {
	Size      uint64
	BlockSize uint32
	Min       uint64 // set when Size is too small
	Limit     uint64 // set when Size is too large: sizes from Limit on are refused
	Why       string // what the limit is
}

func (e *SizeError) Error() string {
	if e.Limit != 0 {
		return fmt.Sprintf("size %s: want less than %s with %d-byte blocks (%s)", SizeString(e.Size), SizeString(e.Limit), e.BlockSize, e.Why)
	}
	return fmt.Sprintf("size %s: too small for a file system with %d-byte blocks; want at least %s",
		SizeString(e.Size), e.BlockSize, SizeString(e.Min))
}

// Unwrap gives the errno: EINVAL for too large, ENOSPC for too small.
func (e *SizeError) Unwrap() error {
	if e.Limit != 0 {
		return syscall.EINVAL
	}
	return syscall.ENOSPC
}

// SizeString writes bytes with the largest binary suffix that divides them
// (K, M, G, T), as memparse reads them back.
func SizeString(b uint64) string {
	for i, suffix := len("KMGT"), "KMGT"; i > 0; i-- {
		if unit := uint64(1) << (10 * i); b >= unit && b%unit == 0 {
			return strconv.FormatUint(b/unit, 10) + suffix[i-1:i]
		}
	}
	return strconv.FormatUint(b, 10)
}

// sizeLimit is where sizes stop working for a block size: 2^32 blocks
// need the 64bit feature; with 1 KiB blocks, more than 3/4 of a group's
// 8192 blocks of group descriptors (196608 groups) need meta_bg first
// (lib/ext2fs/initialize.c), neither of which Format makes.
func sizeLimit(bs uint32) (uint64, string) {
	byBlocks := (uint64(max32) + 1) * uint64(bs)
	perGroup := uint64(bs) * 8
	descBlocks := perGroup * 3 / 4
	byDesc := descBlocks * uint64(bs/GroupDescSize) * perGroup * uint64(bs)
	if byDesc < byBlocks {
		return byDesc, "more block groups need the meta_bg feature"
	}
	return byBlocks, "2^32 blocks need the 64bit feature"
}

// Plan decides the geometry Format would give a device of deviceBytes,
// as misc/mke2fs.c (PRS) and lib/ext2fs/initialize.c (ext2fs_initialize)
// do with mke2fs.conf's defaults, or says which option it cannot take.
func Plan(o Options, deviceBytes uint64) (*Layout, error) {
	if err := o.check(deviceBytes); err != nil {
		return nil, err
	}
	l, err := plan(o, deviceBytes)
	if se, ok := err.(*SizeError); ok && se.Limit == 0 {
		se.Min = minSize(o, deviceBytes)
	}
	return l, err
}

// Check refuses options that are wrong whatever the size, so a command
// line can be refused before anything is touched.
func (o Options) Check() error {
	switch {
	case !slices.Contains(mkfsBlockSizes, o.BlockSize):
		return &OptionError{"-b", strconv.FormatUint(uint64(o.BlockSize), 10), "want 1024 or 4096"}
	case !(o.ReservedPercent >= 0 && o.ReservedPercent <= 50):
		return &OptionError{"-m", strconv.FormatFloat(o.ReservedPercent, 'g', -1, 64), "want 0..50 (percent)"}
	case len(o.Label) > len(Superblock{}.VolumeName):
		return &OptionError{"-L", strconv.Quote(o.Label), "want at most 16 bytes"}
	case o.Inodes > max32:
		return &OptionError{"-N", strconv.FormatUint(o.Inodes, 10), "want fewer than 2^32"}
	case o.Time < 0 || o.Time > MaxTime:
		return &OptionError{"time", strconv.FormatInt(o.Time, 10), fmt.Sprintf("want 0..%d (seconds since the epoch)", int64(MaxTime))}
	}
	return nil
}

// check refuses options that do not fit the device.
func (o Options) check(deviceBytes uint64) error {
	if err := o.Check(); err != nil {
		return err
	}
	if o.Size > deviceBytes {
		return &OptionError{"size", SizeString(o.Size), "want at most the device's " + SizeString(deviceBytes)}
	}
	if size := o.sizeOn(deviceBytes); size >= limitOf(o.BlockSize) {
		limit, why := sizeLimit(o.BlockSize)
		return &SizeError{Size: size, BlockSize: o.BlockSize, Limit: limit, Why: why}
	}
	return nil
}

func limitOf(bs uint32) uint64 { l, _ := sizeLimit(bs); return l }

// sizeOn is the size asked for: Size, or the device's.
func (o Options) sizeOn(deviceBytes uint64) uint64 {
	if o.Size != 0 {
		return o.Size
	}
	return deviceBytes
}

// plan is Plan without the search for the smallest size, for that search.
func plan(o Options, deviceBytes uint64) (*Layout, error) {
	bs := uint64(o.BlockSize)
	size := o.sizeOn(deviceBytes)
	blocks := size / bs
	if o.Size == 0 && bs < pageSize {
		blocks &^= pageSize/bs - 1 // PRS: a device's size in whole pages
	}
	tooSmall := &SizeError{Size: size, BlockSize: o.BlockSize}
	if blocks == 0 {
		return nil, tooSmall
	}
	l := &Layout{LostFound: lostFoundBlocks(o.BlockSize)}
	for _, t := range sizeTypes {
		if blocks*bs < t.below {
			l.SizeType, l.InodeRatio = t.name, max(t.ratio, o.BlockSize)
			break
		}
	}
	inodes := o.Inodes
	if inodes == 0 {
		inodes = blocks * bs / uint64(l.InodeRatio)
		if inodes > max32 {
			return nil, &OptionError{"-N", strconv.FormatUint(inodes, 10), "too many inodes for 32 bits"}
		}
	}
	if inodes*mkfsInodeSize >= blocks*bs {
		return nil, &OptionError{"-N", strconv.FormatUint(inodes, 10),
			fmt.Sprintf("want fewer than %d: %d-byte inodes would fill %s", blocks*bs/mkfsInodeSize, mkfsInodeSize, SizeString(size))}
	}
	rblocks := uint64(o.ReservedPercent * float64(blocks) / 100.0)
	if rblocks >= blocks {
		return nil, tooSmall
	}
	if err := l.initialize(o, blocks, inodes, rblocks); err != nil {
		if se, ok := err.(*SizeError); ok {
			se.Size = size
		}
		return nil, err
	}
	if l.InodesCount < lostFoundIno {
		return nil, tooSmall // ext2fs_mkdir: "Could not allocate inode" for lost+found
	}
	var free uint64
	for g := range l.Groups {
		free += uint64(l.GroupBlocks(g) - l.MetaBlocks(g))
	}
	if free < 1+uint64(l.LostFound) {
		return nil, tooSmall // no block for the root directory or lost+found
	}
	return l, nil
}

// lostFoundBlocks is the size of lost+found in blocks: mke2fs grows it a
// block at a time to 16 KiB, but no further than the 12 direct blocks and
// to at least 2 (create_lost_and_found): 4 blocks of 4 KiB, 12 of 1 KiB.
func lostFoundBlocks(bs uint32) uint32 {
	n := uint32(1)
	for i := 1; i < 12; i++ { // EXT2_NDIR_BLOCKS
		if size := uint32(i) * bs; size >= lostFoundBytes && size >= 2*bs {
			break
		}
		n++
	}
	return n
}

// initialize is ext2fs_initialize's arithmetic: the groups, the inodes per
// group rounded to fill whole inode table blocks and to a multiple of 8,
// and the last group dropped when it is too small for its metadata and 50
// blocks. Its errors are mke2fs's "Not enough space to build proposed
// filesystem" (too small) and "too many inodes" (-N).
func (l *Layout) initialize(o Options, paramBlocks, paramInodes, paramRBlocks uint64) error {
	bs := o.BlockSize
	g := &l.Geometry
	*g = Geometry{BlockSize: bs, InodeSize: mkfsInodeSize, DescSize: GroupDescSize, SparseSuper: true}
	if bs == MinBlockSize {
		g.FirstDataBlock = 1
	}
	g.BlocksPerGroup = min(bs*8, 1<<16-8) // EXT2_MAX_BLOCKS_PER_GROUP
	g.BlocksCount = paramBlocks
	l.ReservedBlocks = paramRBlocks
	tooSmall := &SizeError{BlockSize: bs} // plan fills in the size asked for
	inodesPerBlock := bs / mkfsInodeSize
	for {
		if g.BlocksCount <= uint64(g.FirstDataBlock) {
			return tooSmall
		}
		groups := ceilDiv(g.BlocksCount-uint64(g.FirstDataBlock), uint64(g.BlocksPerGroup))
		g.Groups = uint32(groups)
		g.DescBlocks = uint32(ceilDiv(groups, uint64(bs/GroupDescSize)))
		inodes := paramInodes
		if inodes == 0 {
			div := uint64(1)
			if bs < 4096 {
				div = 4096 / uint64(bs)
			}
			inodes = g.BlocksCount / div
		}
		inodes = max(inodes, mkfsFirstIno+1) // room for the reserved inodes and one more
		ipg := ceilDiv(inodes, groups)
		if ipg > uint64(bs)*8 {
			if g.BlocksPerGroup >= 256 { // try again with smaller groups
				g.BlocksPerGroup -= 8
				g.BlocksCount = paramBlocks
				continue
			}
			return &OptionError{"-N", strconv.FormatUint(paramInodes, 10), "too many inodes for the block groups"}
		}
		ipg = min(ipg, uint64(1<<16-inodesPerBlock)) // EXT2_MAX_INODES_PER_GROUP
		for {
			itb := ceilDiv(ipg*mkfsInodeSize, uint64(bs))
			per := max(itb*uint64(bs)/mkfsInodeSize, 8) &^ 7 // fill the table's blocks; a multiple of 8
			if per*groups > max32 {
				ipg--
				continue
			}
			g.InodesPerGroup = uint32(per)
			g.InodeTableBlocks = uint32(ceilDiv(per*mkfsInodeSize, uint64(bs)))
			g.InodesCount = uint32(per * groups)
			break
		}
		if g.DescBlocks > g.BlocksPerGroup*3/4 { // mke2fs would turn on meta_bg
			limit, why := sizeLimit(bs)
			return &SizeError{BlockSize: bs, Limit: limit, Why: why}
		}
		if 3+g.InodeTableBlocks+g.DescBlocks > g.BlocksPerGroup {
			return &OptionError{"-N", strconv.FormatUint(paramInodes, 10), "too many inodes: their tables fill the block groups"}
		}
		last := g.Groups - 1
		overhead := uint64(2 + g.InodeTableBlocks + g.SuperBlocks(last))
		rem := (g.BlocksCount - uint64(g.FirstDataBlock)) % uint64(g.BlocksPerGroup)
		if g.Groups == 1 && rem != 0 && rem < overhead {
			return tooSmall
		}
		if rem != 0 && rem < overhead+50 {
			// Drop the last group, and keep the reserved share of what is left.
			g.BlocksCount -= rem
			ratio := 100.0 * float64(paramRBlocks) / float64(paramBlocks)
			l.ReservedBlocks = uint64(ratio * float64(g.BlocksCount) / 100.0)
			continue
		}
		return nil
	}
}

// minSize is the smallest size of these options Plan accepts: a scan in
// whole units (pages for a device, blocks for an explicit size), one unit
// at a time while sizes are small, where each block decides, then in
// growing steps and a bisection back.
func minSize(o Options, deviceBytes uint64) uint64 {
	unit := uint64(o.BlockSize)
	explicit := o.Size != 0
	if !explicit {
		unit = max(unit, pageSize)
	}
	limit := limitOf(o.BlockSize)
	ok := func(size uint64) bool {
		p := o
		dev := size
		if explicit {
			p.Size = size
			dev = max(size, deviceBytes)
		}
		_, err := plan(p, dev)
		return err == nil
	}
	prev := uint64(0)
	for size, step := unit, unit; size < limit; size += step {
		if ok(size) {
			for size-prev > unit { // prev fails, size works
				mid := prev + (size-prev)/2/unit*unit
				if ok(mid) {
					size = mid
				} else {
					prev = mid
				}
			}
			return size
		}
		prev = size
		if size >= 1024*unit {
			step = size / 8 / unit * unit
		}
	}
	return limit
}

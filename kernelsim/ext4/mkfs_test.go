package ext4

import (
	"bytes"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"ksim/kernelsim/block"
)

// testTime is kernelsim.DefaultBootWallNs in seconds: 2026-01-01 00:00:00 UTC.
const testTime = 1767225600

func opts(bs uint32) Options {
	o := DefaultOptions()
	o.BlockSize, o.Time, o.Seed = bs, testTime, 1
	return o
}

func TestFeatureNames(t *testing.T) {
	require.Equal(t, "filetype extent sparse_super large_file dir_nlink extra_isize", MkfsFeatures.String(),
		"as dumpe2fs lists mkfs.ext4 -O none,extent,filetype,sparse_super,large_file,dir_nlink,extra_isize")
	f, err := ParseFeatures("extents,filetype sparse_super,large_file,dir_nlink,extra_isize")
	require.NoError(t, err)
	require.Equal(t, MkfsFeatures, f)
	odd := Features{Compat: 1 << 20, Incompat: FeatureFlexBG.Mask, ROCompat: 0x80}
	require.Equal(t, []string{"FEATURE_C20", "flex_bg", "FEATURE_R7"}, odd.Names())
	back, err := ParseFeatures(odd.String())
	require.NoError(t, err)
	require.Equal(t, odd, back)
	_, err = ParseFeatures("extent,bogus")
	require.Equal(t, syscall.EINVAL, errnoOf(t, err))
	require.Equal(t, FeaturesOf(FeatureHasJournal), Features{Compat: 4}.Minus(Features{}))
	require.True(t, MkfsFeatures.Minus(MkfsFeatures).IsZero())
	require.Equal(t, "uninit_bg", FeatureName(ROCompat, 0x10))
}

func TestSparseSuperGroups(t *testing.T) {
	g := Geometry{SparseSuper: true}
	var with []uint32
	for n := range uint32(400) {
		if g.HasSuper(n) {
			with = append(with, n)
		}
	}
	require.Equal(t, []uint32{0, 1, 3, 5, 7, 9, 25, 27, 49, 81, 125, 243, 343}, with)
	require.True(t, Geometry{}.HasSuper(4), "every group without sparse_super")
}

func TestGeometryOfFormattedSuperblock(t *testing.T) {
	l, err := Plan(opts(1024), 300<<20)
	require.NoError(t, err)
	m, err := newMkfs(l, opts(1024))
	require.NoError(t, err)
	s, err := DecodeSuperblock(m.sb.Encode())
	require.NoError(t, err)
	require.Equal(t, l.Geometry, GeometryOf(s))
	g := l.Geometry
	require.Equal(t, uint32(38), g.Groups)
	require.Equal(t, uint64(1+8192*37), g.GroupFirstBlock(37))
	require.Equal(t, uint32(307200-1-8192*37), g.GroupBlocks(37))
	require.Equal(t, uint32(37), g.GroupOfBlock(307199))
	group, blk, off := g.InodeOffset(2025)
	require.Equal(t, [3]uint32{1, 0, 0}, [3]uint32{group, blk, off}, "2024 inodes per group")
	group, blk, off = g.InodeOffset(11)
	require.Equal(t, [3]uint32{0, 2, 512}, [3]uint32{group, blk, off})
	require.Equal(t, uint64(8193*1024), g.SuperblockAt(1))
	require.Equal(t, uint64(1024), g.SuperblockAt(0))
	require.True(t, g.ValidInode(76912))
	require.False(t, g.ValidInode(76913))
	require.False(t, g.ValidInode(0))
}

// What mkfs.ext4 1.47.0 made of these sizes with -b B -I 256 -O
// none,extent,filetype,sparse_super,large_file,dir_nlink,extra_isize:
// blocks, inodes and s_kbytes_written ("Lifetime writes").
var mke2fsMade = []struct {
	size          uint64
	bs            uint32
	blocks        uint64
	inodes        uint32
	kbytesWritten uint64
}{
	{3 << 20, 4096, 768, 768, 5}, {4 << 20, 4096, 1024, 1024, 5}, {16 << 20, 4096, 4096, 4096, 5},
	{128 << 20, 4096, 32768, 32768, 5}, {200 << 20, 4096, 51200, 51200, 13}, {300 << 20, 4096, 76800, 76800, 21},
	{511 << 20, 4096, 130816, 130816, 29}, {512 << 20, 4096, 131072, 32768, 29}, {1 << 30, 4096, 262144, 65536, 61},
	{2 << 30, 4096, 524288, 131072, 125}, {4 << 30, 4096, 1048576, 262144, 253}, {8 << 30, 4096, 2097152, 524288, 509},
	{3 << 20, 1024, 3072, 768, 17}, {4 << 20, 1024, 4096, 1024, 17}, {16 << 20, 1024, 16384, 4096, 19},
	{64 << 20, 1024, 65536, 16384, 31}, {128 << 20, 1024, 131072, 32768, 47}, {200 << 20, 1024, 204800, 51200, 65},
	{300 << 20, 1024, 307200, 76912, 92}, {511 << 20, 1024, 523264, 130560, 144}, {512 << 20, 1024, 524288, 32768, 144},
	{1 << 30, 1024, 1048576, 65536, 274}, {2 << 30, 1024, 2097152, 131072, 534}, {4 << 30, 1024, 4194304, 262144, 1054},
	{8 << 30, 1024, 8388608, 524288, 2094},
}

func TestPlanPicksWhatMke2fsPicks(t *testing.T) {
	for _, tc := range mke2fsMade {
		l, err := Plan(opts(tc.bs), tc.size)
		require.NoError(t, err, "%s", SizeString(tc.size))
		require.Equal(t, tc.blocks, l.BlocksCount, "%s with %d-byte blocks", SizeString(tc.size), tc.bs)
		require.Equal(t, tc.inodes, l.InodesCount, "%s with %d-byte blocks", SizeString(tc.size), tc.bs)
		m, err := newMkfs(l, opts(tc.bs))
		require.NoError(t, err)
		require.Equal(t, tc.kbytesWritten, m.sb.KbytesWritten, "%s with %d-byte blocks", SizeString(tc.size), tc.bs)
	}
}

func TestPlanLimits(t *testing.T) {
	for _, tc := range []struct {
		bs       uint32
		size     uint64
		min      uint64
		limit    uint64
		why      string
		explicit bool
	}{
		{bs: 4096, size: 220 << 10, min: 224 << 10},
		{bs: 1024, size: 100 << 10, min: 104 << 10},
		{bs: 1024, size: 60 << 10, min: 104 << 10},
		{bs: 4096, size: 0, min: 224 << 10},
		{bs: 4096, size: 16 << 40, limit: 16 << 40, why: "64bit"},
		{bs: 1024, size: 1536 << 30, limit: 1536 << 30, why: "meta_bg"},
	} {
		_, err := Plan(opts(tc.bs), tc.size)
		var se *SizeError
		require.ErrorAs(t, err, &se, "%d %s", tc.bs, SizeString(tc.size))
		require.Equal(t, tc.min, se.Min)
		require.Equal(t, tc.limit, se.Limit)
		require.Contains(t, se.Why, tc.why)
		if tc.limit != 0 {
			require.Equal(t, syscall.EINVAL, errnoOf(t, err))
		} else {
			require.Equal(t, syscall.ENOSPC, errnoOf(t, err))
		}
	}
	_, err := Plan(opts(4096), 16<<40-4096)
	require.NoError(t, err, "2^32-1 blocks")
	_, err = Plan(opts(4096), 224<<10)
	require.NoError(t, err)
	o := opts(1024)
	o.Size = 100 << 10
	_, err = Plan(o, 1<<30)
	var se *SizeError
	require.ErrorAs(t, err, &se)
	require.Equal(t, uint64(104<<10), se.Min)
	require.Contains(t, err.Error(), "size 100K: too small for a file system with 1024-byte blocks; want at least 104K")
	o.Size = 105 << 10
	l, err := Plan(o, 1<<30)
	require.NoError(t, err)
	require.Equal(t, uint64(105), l.BlocksCount, "an explicit size counts in blocks, not pages")
	l, err = Plan(opts(1024), 105<<10)
	require.NoError(t, err)
	require.Equal(t, uint64(104), l.BlocksCount, "a device's size counts in pages")
}

func TestPlanRefusesOptions(t *testing.T) {
	for _, tc := range []struct {
		edit   func(o *Options)
		option string
	}{
		{func(o *Options) { o.BlockSize = 2048 }, "-b"},
		{func(o *Options) { o.BlockSize = 0 }, "-b"},
		{func(o *Options) { o.ReservedPercent = 50.5 }, "-m"},
		{func(o *Options) { o.ReservedPercent = -1 }, "-m"},
		{func(o *Options) { o.Label = "seventeen bytes!!" }, "-L"},
		{func(o *Options) { o.Inodes = 1 << 32 }, "-N"},
		{func(o *Options) { o.Inodes = 1 << 20 }, "-N"}, // 256 MiB of inodes in 128 MiB
		{func(o *Options) { o.Time = -1 }, "time"},
		{func(o *Options) { o.Size = 256 << 20 }, "size"},
	} {
		o := opts(4096)
		tc.edit(&o)
		_, err := Plan(o, 128<<20)
		var oe *OptionError
		require.ErrorAs(t, err, &oe, tc.option)
		require.Equal(t, tc.option, oe.Option)
		require.Equal(t, syscall.EINVAL, errnoOf(t, err))
	}
	o := opts(4096)
	o.ReservedPercent = 50
	_, err := Plan(o, 128<<20)
	require.NoError(t, err)
}

// image is a formatted device to read from.
type image struct {
	t   *testing.T
	dev *block.Mem
}

// at reads n bytes at byte offset off (both whole sectors).
func (im image) at(off, n uint64) []byte {
	b := make([]byte, n)
	require.NoError(im.t, im.dev.ReadAt(b, off/block.SectorSize, block.Meta))
	return b
}

func (im image) all() []byte { return im.at(0, im.dev.Sectors()*block.SectorSize) }

func format(t *testing.T, o Options, size uint64) (image, *Superblock) {
	t.Helper()
	dev := block.NewMem(size / block.SectorSize)
	sb, err := Format(dev, o)
	require.NoError(t, err)
	return image{t, dev}, sb
}

func TestFormatIsDeterministic(t *testing.T) {
	a, sa := format(t, opts(1024), 24<<20)
	b, _ := format(t, opts(1024), 24<<20)
	require.True(t, bytes.Equal(a.all(), b.all()), "same options, same bytes")
	o := opts(1024)
	o.Seed = 2
	c, sc := format(t, o, 24<<20)
	require.False(t, bytes.Equal(a.all(), c.all()))
	require.NotEqual(t, sa.UUID, sc.UUID)
	require.NotEqual(t, sa.HashSeed, sc.HashSeed)
	require.Equal(t, byte(0x40), sa.UUID[6]&0xf0, "a version 4 UUID, as uuid_generate makes")
	require.Equal(t, byte(0x80), sa.UUID[8]&0xc0)

	u, err := ParseUUID("01234567-89ab-cdef-0123-456789abcdef")
	require.NoError(t, err)
	o = opts(1024)
	o.UUID = &u
	_, su := format(t, o, 24<<20)
	require.Equal(t, u, su.UUID)
	require.Equal(t, "01234567-89ab-cdef-0123-456789abcdef", su.UUID.String())
	require.Equal(t, sa.HashSeed, su.HashSeed, "-U leaves the hash seed to the seed")
}

// The image reads back through the decoders: the superblock and its
// copies, the descriptors, the root directory and lost+found.
func TestFormatReadsBack(t *testing.T) {
	for _, bs := range []uint32{1024, 4096} {
		o := opts(bs)
		o.Label = "ksim"
		img, sb := format(t, o, 300<<20)
		s, err := DecodeSuperblock(img.at(SuperblockOffset, SuperblockSize))
		require.NoError(t, err)
		require.Equal(t, sb, s)
		require.Equal(t, "ksim", s.Label())
		require.Equal(t, MkfsFeatures, s.Features())
		require.Equal(t, uint16(StateValid), s.State)
		geo := GeometryOf(s)
		for g := uint32(1); g < geo.Groups; g++ {
			if !geo.HasSuper(g) {
				continue
			}
			at := geo.SuperblockAt(g)
			c, err := DecodeSuperblock(img.at(at, SuperblockSize))
			require.NoError(t, err)
			require.Equal(t, uint16(g), c.BlockGroupNr)
			require.Zero(t, c.State, "copies are written not clean")
		}
		gdt := img.at(uint64(s.FirstDataBlock+1)*uint64(bs), uint64(geo.DescBlocks)*uint64(bs))
		descs, err := DecodeGroupDescs(geo, gdt)
		require.NoError(t, err)
		var free uint64
		for _, d := range descs {
			free += uint64(d.FreeBlocksCount)
		}
		require.Equal(t, s.FreeBlocksCount(), free)

		inode := func(ino uint32) *Inode {
			g, blk, off := geo.InodeOffset(ino)
			tableBlock := img.at((uint64(descs[g].InodeTable)+uint64(blk))*uint64(bs), uint64(bs))
			in, err := DecodeInode(tableBlock[off : off+uint32(geo.InodeSize)])
			require.NoError(t, err)
			return in
		}
		dirBlocks := func(in *Inode) [][]DirEntry {
			root, err := DecodeExtentNode(in.Block[:])
			require.NoError(t, err)
			var out [][]DirEntry
			for _, e := range root.Extents {
				n, _ := e.Length()
				for i := range uint64(n) {
					at := (e.Start() + i) * uint64(bs)
					ents, err := DecodeDirBlock(img.at(at, uint64(bs)), DirBlockOptions{FileType: true, MaxInode: s.InodesCount})
					require.NoError(t, err)
					out = append(out, ents)
				}
			}
			return out
		}
		root := inode(RootIno)
		require.Equal(t, uint16(ModeDir|0o755), root.Mode)
		require.Equal(t, uint16(3), root.LinksCount)
		require.Equal(t, Timestamp{Sec: testTime}, root.Time(Crtime))
		rootDir := dirBlocks(root)
		require.Len(t, rootDir, 1)
		require.Equal(t, []string{".", "..", "lost+found"}, names(rootDir[0]))
		lpf := inode(11)
		require.Equal(t, uint16(ModeDir|0o700), lpf.Mode)
		require.Equal(t, uint64(map[uint32]int{1024: 12, 4096: 4}[bs])*uint64(bs), lpf.Size())
		lpfDir := dirBlocks(lpf)
		require.Equal(t, []string{".", ".."}, names(lpfDir[0]))
		for _, blk := range lpfDir[1:] {
			require.Equal(t, EmptyDirBlock(bs), blk)
		}
	}
}

func names(ents []DirEntry) []string {
	var n []string
	for _, e := range ents {
		n = append(n, e.Name)
	}
	return n
}

// A device that fails says what failed, with its errno.
func TestFormatReportsDeviceErrors(t *testing.T) {
	dev := &failingDevice{Mem: block.NewMem(16 << 20 / block.SectorSize), after: 3}
	_, err := Format(dev, opts(4096))
	require.Equal(t, syscall.EIO, errnoOf(t, err))
	require.Contains(t, err.Error(), "ext4: mkfs: write")
}

type failingDevice struct {
	*block.Mem
	after int
}

func (d *failingDevice) WriteAt(p []byte, sector uint64, kind block.Kind) error {
	if d.after--; d.after < 0 {
		return syscall.EIO
	}
	return d.Mem.WriteAt(p, sector, kind)
}

func TestUUIDs(t *testing.T) {
	u, err := ParseUUID("01234567-89AB-cdef-0123-456789abcdef")
	require.NoError(t, err)
	require.Equal(t, "01234567-89ab-cdef-0123-456789abcdef", u.String())
	z, err := ParseUUID("clear")
	require.NoError(t, err)
	require.True(t, z.IsZero())
	for _, bad := range []string{"", "01234567-89ab-cdef-0123-456789abcdeg", "0123456789abcdef0123456789abcdef", "01234567-89ab-cdef-0123-456789abcdef0"} {
		_, err := ParseUUID(bad)
		require.Equal(t, syscall.EINVAL, errnoOf(t, err), bad)
	}
	require.Equal(t, "16T", SizeString(16<<40))
	require.Equal(t, "1025K", SizeString(1025<<10))
	require.Equal(t, "1000", SizeString(1000))
}

package ext4

// Geometry is where things are in a file system: the block groups and
// what each begins with (Documentation/filesystems/ext4/blockgroup.rst).
// Without flex_bg or meta_bg, group g starts at FirstDataBlock +
// g×BlocksPerGroup with, if it holds a superblock copy, the superblock and
// the group descriptor table, then its block bitmap, inode bitmap and
// inode table, as mke2fs places them.
type Geometry struct {
	BlockSize        uint32
	BlocksCount      uint64
	FirstDataBlock   uint32
	BlocksPerGroup   uint32
	InodesPerGroup   uint32
	InodeSize        uint16
	InodesCount      uint32
	Groups           uint32
	DescSize         uint32 // bytes per group descriptor
	DescBlocks       uint32 // blocks of the group descriptor table
	InodeTableBlocks uint32 // per group
	ReservedGDT      uint32 // blocks kept after the table for resize_inode
	SparseSuper      bool   // superblock copies only in groups 0, 1 and powers of 3, 5 and 7
	FlexBG           bool   // bitmaps and tables may live outside their group
}

// GeometryOf is the geometry a superblock describes. The superblock must
// have passed Check (DecodeSuperblock does it), which rules out the zero
// sizes this divides by.
func GeometryOf(s *Superblock) Geometry {
	g := Geometry{
		BlockSize:      s.BlockSize(),
		BlocksCount:    s.BlocksCount(),
		FirstDataBlock: s.FirstDataBlock,
		BlocksPerGroup: s.BlocksPerGroup,
		InodesPerGroup: s.InodesPerGroup,
		InodeSize:      s.InodeSizeOf(),
		InodesCount:    s.InodesCount,
		DescSize:       GroupDescSize,
		ReservedGDT:    uint32(s.ReservedGDTBlocks),
		SparseSuper:    s.Has(FeatureSparseSuper),
		FlexBG:         s.Has(FeatureFlexBG),
	}
	if s.Has(Feature64Bit) {
		g.DescSize = uint32(s.DescSize)
	}
	g.Groups = uint32(ceilDiv(g.BlocksCount-uint64(g.FirstDataBlock), uint64(g.BlocksPerGroup)))
	g.DescBlocks = uint32(ceilDiv(uint64(g.Groups), uint64(g.BlockSize/g.DescSize)))
	g.InodeTableBlocks = uint32(ceilDiv(uint64(g.InodesPerGroup)*uint64(g.InodeSize), uint64(g.BlockSize)))
	return g
}

func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }

// GroupFirstBlock is the first block of group g.
func (g Geometry) GroupFirstBlock(group uint32) uint64 {
	return uint64(g.FirstDataBlock) + uint64(group)*uint64(g.BlocksPerGroup)
}

// GroupBlocks is the number of blocks in group g: BlocksPerGroup but for
// the last group, which ends with the file system.
func (g Geometry) GroupBlocks(group uint32) uint32 {
	if group+1 < g.Groups {
		return g.BlocksPerGroup
	}
	return uint32(g.BlocksCount - g.GroupFirstBlock(group))
}

// GroupOfBlock is the group block blk lies in.
func (g Geometry) GroupOfBlock(blk uint64) uint32 {
	return uint32((blk - uint64(g.FirstDataBlock)) / uint64(g.BlocksPerGroup))
}

// HasSuper says whether group g holds a copy of the superblock and the
// group descriptor table: all groups, or under sparse_super groups 0 and 1
// and the powers of 3, 5 and 7 (lib/ext2fs/closefs.c ext2fs_bg_has_super;
// fs/ext4/super.c ext4_bg_has_super).
func (g Geometry) HasSuper(group uint32) bool {
	if group <= 1 || !g.SparseSuper {
		return true
	}
	if group%2 == 0 {
		return false
	}
	return isPower(group, 3) || isPower(group, 5) || isPower(group, 7)
}

// isPower says whether n is a power of base.
func isPower(n, base uint32) bool {
	for n%base == 0 {
		n /= base
	}
	return n == 1
}

// SuperBlocks is how many blocks group g's superblock copy and group
// descriptor table (with the blocks reserved for growing it) take at its start.
func (g Geometry) SuperBlocks(group uint32) uint32 {
	if !g.HasSuper(group) {
		return 0
	}
	return 1 + g.DescBlocks + g.ReservedGDT
}

// MetaBlocks is how many blocks at the start of group g mke2fs gives to
// metadata without flex_bg: the superblock copy and descriptors if any,
// the two bitmaps and the inode table.
func (g Geometry) MetaBlocks(group uint32) uint32 {
	return g.SuperBlocks(group) + 2 + g.InodeTableBlocks
}

// SuperblockAt is the byte offset of group g's superblock copy: 1024 into
// the device for group 0, the group's first block for the others.
func (g Geometry) SuperblockAt(group uint32) uint64 {
	if group == 0 {
		return SuperblockOffset
	}
	return g.GroupFirstBlock(group) * uint64(g.BlockSize)
}

// InodeGroup is the group inode ino lives in and its index in that
// group's table (Documentation/filesystems/ext4/inodes.rst). Inode numbers
// start at 1: check one read from disk with ValidInode first.
func (g Geometry) InodeGroup(ino uint32) (group, index uint32) {
	return (ino - 1) / g.InodesPerGroup, (ino - 1) % g.InodesPerGroup
}

// InodeOffset is where inode ino's record lies relative to the start of
// its group's inode table: a block of the table and a byte offset in it.
func (g Geometry) InodeOffset(ino uint32) (group, block, offset uint32) {
	group, index := g.InodeGroup(ino)
	byteOff := uint64(index) * uint64(g.InodeSize)
	return group, uint32(byteOff / uint64(g.BlockSize)), uint32(byteOff % uint64(g.BlockSize))
}

// ValidInode says whether ino names an inode of the file system.
func (g Geometry) ValidInode(ino uint32) bool { return ino >= 1 && ino <= g.InodesCount }

// SuperCopies are the blocks holding the superblock's backup copies: the
// first block of each group after 0 that has one.
func (g Geometry) SuperCopies() []uint64 {
	var blocks []uint64
	for group := uint32(1); group < g.Groups; group++ {
		if g.HasSuper(group) {
			blocks = append(blocks, g.GroupFirstBlock(group))
		}
	}
	return blocks
}

package ext4

// GroupDescSize is the size of a group descriptor without the 64bit
// feature, the only size this package reads and writes.
const GroupDescSize = 32

// bg_flags (Documentation/filesystems/ext4/group_descr.rst).
const (
	BGInodeUninit = 0x0001 // inode table and bitmap not initialised (uninit_bg, metadata_csum)
	BGBlockUninit = 0x0002 // block bitmap not initialised
	BGInodeZeroed = 0x0004 // inode table zeroed: mke2fs sets it when it (or the discard) zeroed the table
)

// GroupDesc is struct ext4_group_desc in its 32-byte form: where a block
// group keeps its bitmaps and inode table, and its counts.
type GroupDesc struct {
	BlockBitmap     uint32 // 0x00 bg_block_bitmap_lo
	InodeBitmap     uint32 // 0x04 bg_inode_bitmap_lo
	InodeTable      uint32 // 0x08 bg_inode_table_lo: first block
	FreeBlocksCount uint16 // 0x0C bg_free_blocks_count_lo
	FreeInodesCount uint16 // 0x0E bg_free_inodes_count_lo
	UsedDirsCount   uint16 // 0x10 bg_used_dirs_count_lo
	Flags           uint16 // 0x12 bg_flags
	ExcludeBitmap   uint32 // 0x14 bg_exclude_bitmap_lo
	BlockBitmapCsum uint16 // 0x18 bg_block_bitmap_csum_lo
	InodeBitmapCsum uint16 // 0x1A bg_inode_bitmap_csum_lo
	ItableUnused    uint16 // 0x1C bg_itable_unused_lo
	Checksum        uint16 // 0x1E bg_checksum
}

func (g *GroupDesc) layout(c *codec) {
	c.u32(0x00, &g.BlockBitmap)
	c.u32(0x04, &g.InodeBitmap)
	c.u32(0x08, &g.InodeTable)
	c.u16(0x0C, &g.FreeBlocksCount)
	c.u16(0x0E, &g.FreeInodesCount)
	c.u16(0x10, &g.UsedDirsCount)
	c.u16(0x12, &g.Flags)
	c.u32(0x14, &g.ExcludeBitmap)
	c.u16(0x18, &g.BlockBitmapCsum)
	c.u16(0x1A, &g.InodeBitmapCsum)
	c.u16(0x1C, &g.ItableUnused)
	c.u16(0x1E, &g.Checksum)
}

// EncodeTo writes the descriptor into the first 32 bytes of b.
func (g *GroupDesc) EncodeTo(b []byte) error {
	if len(b) < GroupDescSize {
		return invalid("group descriptor buffer of %d bytes: want %d", len(b), GroupDescSize)
	}
	g.layout(&codec{b: b[:GroupDescSize], enc: true})
	return nil
}

// Encode returns the descriptor's 32 bytes.
func (g *GroupDesc) Encode() []byte {
	b := make([]byte, GroupDescSize)
	g.layout(&codec{b: b, enc: true})
	return b
}

// DecodeGroupDesc reads a descriptor from the first 32 bytes of b.
func DecodeGroupDesc(b []byte) (GroupDesc, error) {
	var g GroupDesc
	if len(b) < GroupDescSize {
		return g, corrupt("group descriptor of %d bytes: want %d", len(b), GroupDescSize)
	}
	g.layout(&codec{b: b[:GroupDescSize]})
	return g, nil
}

// EncodeGroupDescs lays descriptors out as the group descriptor table:
// geo.DescBlocks blocks, zero after the last descriptor.
func EncodeGroupDescs(geo Geometry, descs []GroupDesc) ([]byte, error) {
	if geo.DescSize != GroupDescSize {
		return nil, invalid("%d-byte group descriptors (64bit): only %d-byte ones are supported", geo.DescSize, GroupDescSize)
	}
	if uint64(len(descs)) != uint64(geo.Groups) {
		return nil, invalid("%d group descriptors for %d groups", len(descs), geo.Groups)
	}
	b := make([]byte, uint64(geo.DescBlocks)*uint64(geo.BlockSize))
	for i := range descs {
		descs[i].layout(&codec{b: b[i*GroupDescSize : (i+1)*GroupDescSize], enc: true})
	}
	return b, nil
}

// DecodeGroupDescs reads the group descriptor table and checks each
// descriptor against the geometry, as ext4_check_descriptors does at mount.
func DecodeGroupDescs(geo Geometry, b []byte) ([]GroupDesc, error) {
	if geo.DescSize != GroupDescSize {
		return nil, invalid("%d-byte group descriptors (64bit): only %d-byte ones are supported", geo.DescSize, GroupDescSize)
	}
	if uint64(len(b)) < uint64(geo.Groups)*GroupDescSize {
		return nil, corrupt("group descriptor table of %d bytes: %d groups need %d",
			len(b), geo.Groups, uint64(geo.Groups)*GroupDescSize)
	}
	descs := make([]GroupDesc, geo.Groups)
	for i := range descs {
		descs[i].layout(&codec{b: b[i*GroupDescSize : (i+1)*GroupDescSize]})
		if err := descs[i].Check(geo, uint32(i)); err != nil {
			return nil, err
		}
	}
	return descs, nil
}

// Check validates a descriptor as fs/ext4/super.c ext4_check_descriptors
// does: the bitmaps and the whole inode table lie inside the file system
// (inside their own group, without flex_bg), and the counts fit the group.
func (g *GroupDesc) Check(geo Geometry, group uint32) error {
	lo, hi := uint64(geo.FirstDataBlock), geo.BlocksCount // [lo, hi)
	if !geo.FlexBG {
		lo = geo.GroupFirstBlock(group)
		hi = lo + uint64(geo.GroupBlocks(group))
	}
	inside := func(what string, blk, n uint64) error {
		if blk < lo || blk+n > hi {
			return corrupt("group %d: %s at block %d (+%d) outside blocks %d-%d", group, what, blk, n, lo, hi-1)
		}
		return nil
	}
	if err := inside("block bitmap", uint64(g.BlockBitmap), 1); err != nil {
		return err
	}
	if err := inside("inode bitmap", uint64(g.InodeBitmap), 1); err != nil {
		return err
	}
	if err := inside("inode table", uint64(g.InodeTable), uint64(geo.InodeTableBlocks)); err != nil {
		return err
	}
	if uint32(g.FreeBlocksCount) > geo.GroupBlocks(group) || uint32(g.FreeInodesCount) > geo.InodesPerGroup {
		return corrupt("group %d: %d free blocks, %d free inodes: more than it has (%d, %d)",
			group, g.FreeBlocksCount, g.FreeInodesCount, geo.GroupBlocks(group), geo.InodesPerGroup)
	}
	return nil
}

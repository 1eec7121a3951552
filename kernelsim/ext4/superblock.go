package ext4

import (
	"bytes"
	"math/bits"
)

// Superblock is struct ext4_super_block, all 1024 bytes of it
// (Documentation/filesystems/ext4/super.rst; lib/ext2fs/ext2_fs.h). Fields
// keep their on-disk split (a _lo word here, a _hi word there) so that
// encoding what was decoded gives back the same bytes; the methods below
// join them.
type Superblock struct {
	InodesCount          uint32     // 0x00 s_inodes_count
	BlocksCountLo        uint32     // 0x04 s_blocks_count_lo
	RBlocksCountLo       uint32     // 0x08 s_r_blocks_count_lo: reserved for root
	FreeBlocksCountLo    uint32     // 0x0C s_free_blocks_count_lo
	FreeInodesCount      uint32     // 0x10 s_free_inodes_count
	FirstDataBlock       uint32     // 0x14 s_first_data_block: 1 with 1 KiB blocks, else 0
	LogBlockSize         uint32     // 0x18 s_log_block_size: block size is 2^(10+this)
	LogClusterSize       uint32     // 0x1C s_log_cluster_size
	BlocksPerGroup       uint32     // 0x20 s_blocks_per_group
	ClustersPerGroup     uint32     // 0x24 s_clusters_per_group
	InodesPerGroup       uint32     // 0x28 s_inodes_per_group
	Mtime                uint32     // 0x2C s_mtime: last mount
	Wtime                uint32     // 0x30 s_wtime: last write
	MntCount             uint16     // 0x34 s_mnt_count
	MaxMntCount          int16      // 0x36 s_max_mnt_count: -1 for no mount-count check
	Magic                uint16     // 0x38 s_magic: SuperMagic
	State                uint16     // 0x3A s_state: StateValid when clean
	Errors               uint16     // 0x3C s_errors: ErrorsContinue...
	MinorRevLevel        uint16     // 0x3E s_minor_rev_level
	LastCheck            uint32     // 0x40 s_lastcheck
	CheckInterval        uint32     // 0x44 s_checkinterval
	CreatorOS            uint32     // 0x48 s_creator_os
	RevLevel             uint32     // 0x4C s_rev_level
	DefResUID            uint16     // 0x50 s_def_resuid
	DefResGID            uint16     // 0x52 s_def_resgid
	FirstIno             uint32     // 0x54 s_first_ino: first ordinary inode
	InodeSize            uint16     // 0x58 s_inode_size
	BlockGroupNr         uint16     // 0x5A s_block_group_nr: the group a backup copy sits in
	FeatureCompat        uint32     // 0x5C s_feature_compat
	FeatureIncompat      uint32     // 0x60 s_feature_incompat
	FeatureROCompat      uint32     // 0x64 s_feature_ro_compat
	UUID                 UUID       // 0x68 s_uuid
	VolumeName           [16]byte   // 0x78 s_volume_name: the label, NUL-padded
	LastMounted          [64]byte   // 0x88 s_last_mounted
	AlgorithmUsageBitmap uint32     // 0xC8 s_algorithm_usage_bitmap
	PreallocBlocks       uint8      // 0xCC s_prealloc_blocks
	PreallocDirBlocks    uint8      // 0xCD s_prealloc_dir_blocks
	ReservedGDTBlocks    uint16     // 0xCE s_reserved_gdt_blocks: for resize_inode
	JournalUUID          UUID       // 0xD0 s_journal_uuid
	JournalInum          uint32     // 0xE0 s_journal_inum
	JournalDev           uint32     // 0xE4 s_journal_dev
	LastOrphan           uint32     // 0xE8 s_last_orphan
	HashSeed             UUID       // 0xEC s_hash_seed: four words, made as a UUID
	DefHashVersion       uint8      // 0xFC s_def_hash_version
	JnlBackupType        uint8      // 0xFD s_jnl_backup_type
	DescSize             uint16     // 0xFE s_desc_size: with 64bit only
	DefaultMountOpts     uint32     // 0x100 s_default_mount_opts
	FirstMetaBG          uint32     // 0x104 s_first_meta_bg
	MkfsTime             uint32     // 0x108 s_mkfs_time
	JnlBlocks            [17]uint32 // 0x10C s_jnl_blocks: a copy of the journal inode's i_block and size
	BlocksCountHi        uint32     // 0x150 s_blocks_count_hi: with 64bit
	RBlocksCountHi       uint32     // 0x154 s_r_blocks_count_hi
	FreeBlocksCountHi    uint32     // 0x158 s_free_blocks_count_hi
	MinExtraIsize        uint16     // 0x15C s_min_extra_isize
	WantExtraIsize       uint16     // 0x15E s_want_extra_isize
	Flags                uint32     // 0x160 s_flags: FlagSignedHash...
	RAIDStride           uint16     // 0x164 s_raid_stride
	MMPUpdateInterval    uint16     // 0x166 s_mmp_update_interval
	MMPBlock             uint64     // 0x168 s_mmp_block
	RAIDStripeWidth      uint32     // 0x170 s_raid_stripe_width
	LogGroupsPerFlex     uint8      // 0x174 s_log_groups_per_flex
	ChecksumType         uint8      // 0x175 s_checksum_type
	EncryptionLevel      uint8      // 0x176 s_encryption_level
	ReservedPad          uint8      // 0x177 s_reserved_pad
	KbytesWritten        uint64     // 0x178 s_kbytes_written: over the file system's life
	SnapshotInum         uint32     // 0x180 s_snapshot_inum
	SnapshotID           uint32     // 0x184 s_snapshot_id
	SnapshotRBlocksCount uint64     // 0x188 s_snapshot_r_blocks_count
	SnapshotList         uint32     // 0x190 s_snapshot_list
	ErrorCount           uint32     // 0x194 s_error_count
	FirstErrorTime       uint32     // 0x198 s_first_error_time
	FirstErrorIno        uint32     // 0x19C s_first_error_ino
	FirstErrorBlock      uint64     // 0x1A0 s_first_error_block
	FirstErrorFunc       [32]byte   // 0x1A8 s_first_error_func
	FirstErrorLine       uint32     // 0x1C8 s_first_error_line
	LastErrorTime        uint32     // 0x1CC s_last_error_time
	LastErrorIno         uint32     // 0x1D0 s_last_error_ino
	LastErrorLine        uint32     // 0x1D4 s_last_error_line
	LastErrorBlock       uint64     // 0x1D8 s_last_error_block
	LastErrorFunc        [32]byte   // 0x1E0 s_last_error_func
	MountOpts            [64]byte   // 0x200 s_mount_opts
	UsrQuotaInum         uint32     // 0x240 s_usr_quota_inum
	GrpQuotaInum         uint32     // 0x244 s_grp_quota_inum
	OverheadClusters     uint32     // 0x248 s_overhead_clusters: metadata blocks, as mke2fs counts them
	BackupBGs            [2]uint32  // 0x24C s_backup_bgs: with sparse_super2
	EncryptAlgos         [4]byte    // 0x254 s_encrypt_algos
	EncryptPwSalt        [16]byte   // 0x258 s_encrypt_pw_salt
	LpfIno               uint32     // 0x268 s_lpf_ino
	PrjQuotaInum         uint32     // 0x26C s_prj_quota_inum
	ChecksumSeed         uint32     // 0x270 s_checksum_seed
	WtimeHi              uint8      // 0x274 s_wtime_hi: bits 32-39 of the times
	MtimeHi              uint8      // 0x275 s_mtime_hi
	MkfsTimeHi           uint8      // 0x276 s_mkfs_time_hi
	LastCheckHi          uint8      // 0x277 s_lastcheck_hi
	FirstErrorTimeHi     uint8      // 0x278 s_first_error_time_hi
	LastErrorTimeHi      uint8      // 0x279 s_last_error_time_hi
	FirstErrorErrcode    uint8      // 0x27A s_first_error_errcode
	LastErrorErrcode     uint8      // 0x27B s_last_error_errcode
	Encoding             uint16     // 0x27C s_encoding: casefold's charset
	EncodingFlags        uint16     // 0x27E s_encoding_flags
	OrphanFileInum       uint32     // 0x280 s_orphan_file_inum
	Reserved             [94]uint32 // 0x284 s_reserved
	Checksum             uint32     // 0x3FC s_checksum: crc32c, with metadata_csum
}

// layout is struct ext4_super_block's table of offsets.
func (s *Superblock) layout(c *codec) {
	c.u32(0x00, &s.InodesCount)
	c.u32(0x04, &s.BlocksCountLo)
	c.u32(0x08, &s.RBlocksCountLo)
	c.u32(0x0C, &s.FreeBlocksCountLo)
	c.u32(0x10, &s.FreeInodesCount)
	c.u32(0x14, &s.FirstDataBlock)
	c.u32(0x18, &s.LogBlockSize)
	c.u32(0x1C, &s.LogClusterSize)
	c.u32(0x20, &s.BlocksPerGroup)
	c.u32(0x24, &s.ClustersPerGroup)
	c.u32(0x28, &s.InodesPerGroup)
	c.u32(0x2C, &s.Mtime)
	c.u32(0x30, &s.Wtime)
	c.u16(0x34, &s.MntCount)
	c.i16(0x36, &s.MaxMntCount)
	c.u16(0x38, &s.Magic)
	c.u16(0x3A, &s.State)
	c.u16(0x3C, &s.Errors)
	c.u16(0x3E, &s.MinorRevLevel)
	c.u32(0x40, &s.LastCheck)
	c.u32(0x44, &s.CheckInterval)
	c.u32(0x48, &s.CreatorOS)
	c.u32(0x4C, &s.RevLevel)
	c.u16(0x50, &s.DefResUID)
	c.u16(0x52, &s.DefResGID)
	c.u32(0x54, &s.FirstIno)
	c.u16(0x58, &s.InodeSize)
	c.u16(0x5A, &s.BlockGroupNr)
	c.u32(0x5C, &s.FeatureCompat)
	c.u32(0x60, &s.FeatureIncompat)
	c.u32(0x64, &s.FeatureROCompat)
	c.bytes(0x68, s.UUID[:])
	c.bytes(0x78, s.VolumeName[:])
	c.bytes(0x88, s.LastMounted[:])
	c.u32(0xC8, &s.AlgorithmUsageBitmap)
	c.u8(0xCC, &s.PreallocBlocks)
	c.u8(0xCD, &s.PreallocDirBlocks)
	c.u16(0xCE, &s.ReservedGDTBlocks)
	c.bytes(0xD0, s.JournalUUID[:])
	c.u32(0xE0, &s.JournalInum)
	c.u32(0xE4, &s.JournalDev)
	c.u32(0xE8, &s.LastOrphan)
	c.bytes(0xEC, s.HashSeed[:])
	c.u8(0xFC, &s.DefHashVersion)
	c.u8(0xFD, &s.JnlBackupType)
	c.u16(0xFE, &s.DescSize)
	c.u32(0x100, &s.DefaultMountOpts)
	c.u32(0x104, &s.FirstMetaBG)
	c.u32(0x108, &s.MkfsTime)
	c.u32s(0x10C, s.JnlBlocks[:])
	c.u32(0x150, &s.BlocksCountHi)
	c.u32(0x154, &s.RBlocksCountHi)
	c.u32(0x158, &s.FreeBlocksCountHi)
	c.u16(0x15C, &s.MinExtraIsize)
	c.u16(0x15E, &s.WantExtraIsize)
	c.u32(0x160, &s.Flags)
	c.u16(0x164, &s.RAIDStride)
	c.u16(0x166, &s.MMPUpdateInterval)
	c.u64(0x168, &s.MMPBlock)
	c.u32(0x170, &s.RAIDStripeWidth)
	c.u8(0x174, &s.LogGroupsPerFlex)
	c.u8(0x175, &s.ChecksumType)
	c.u8(0x176, &s.EncryptionLevel)
	c.u8(0x177, &s.ReservedPad)
	c.u64(0x178, &s.KbytesWritten)
	c.u32(0x180, &s.SnapshotInum)
	c.u32(0x184, &s.SnapshotID)
	c.u64(0x188, &s.SnapshotRBlocksCount)
	c.u32(0x190, &s.SnapshotList)
	c.u32(0x194, &s.ErrorCount)
	c.u32(0x198, &s.FirstErrorTime)
	c.u32(0x19C, &s.FirstErrorIno)
	c.u64(0x1A0, &s.FirstErrorBlock)
	c.bytes(0x1A8, s.FirstErrorFunc[:])
	c.u32(0x1C8, &s.FirstErrorLine)
	c.u32(0x1CC, &s.LastErrorTime)
	c.u32(0x1D0, &s.LastErrorIno)
	c.u32(0x1D4, &s.LastErrorLine)
	c.u64(0x1D8, &s.LastErrorBlock)
	c.bytes(0x1E0, s.LastErrorFunc[:])
	c.bytes(0x200, s.MountOpts[:])
	c.u32(0x240, &s.UsrQuotaInum)
	c.u32(0x244, &s.GrpQuotaInum)
	c.u32(0x248, &s.OverheadClusters)
	c.u32s(0x24C, s.BackupBGs[:])
	c.bytes(0x254, s.EncryptAlgos[:])
	c.bytes(0x258, s.EncryptPwSalt[:])
	c.u32(0x268, &s.LpfIno)
	c.u32(0x26C, &s.PrjQuotaInum)
	c.u32(0x270, &s.ChecksumSeed)
	c.u8(0x274, &s.WtimeHi)
	c.u8(0x275, &s.MtimeHi)
	c.u8(0x276, &s.MkfsTimeHi)
	c.u8(0x277, &s.LastCheckHi)
	c.u8(0x278, &s.FirstErrorTimeHi)
	c.u8(0x279, &s.LastErrorTimeHi)
	c.u8(0x27A, &s.FirstErrorErrcode)
	c.u8(0x27B, &s.LastErrorErrcode)
	c.u16(0x27C, &s.Encoding)
	c.u16(0x27E, &s.EncodingFlags)
	c.u32(0x280, &s.OrphanFileInum)
	c.u32s(0x284, s.Reserved[:])
	c.u32(0x3FC, &s.Checksum)
}

// Encode returns the superblock's 1024 bytes.
func (s *Superblock) Encode() []byte {
	b := make([]byte, SuperblockSize)
	s.layout(&codec{b: b, enc: true})
	return b
}

// DecodeSuperblock reads a superblock from the first 1024 bytes of b and
// checks that it describes a file system whose geometry can be computed:
// the magic, the sizes and the counts that divide or bound the rest, as
// ext4_fill_super does before it trusts them (EINVAL otherwise).
func DecodeSuperblock(b []byte) (*Superblock, error) {
	if len(b) < SuperblockSize {
		return nil, invalid("superblock of %d bytes: want %d", len(b), SuperblockSize)
	}
	s := new(Superblock)
	s.layout(&codec{b: b[:SuperblockSize]})
	if err := s.Check(); err != nil {
		return nil, err
	}
	return s, nil
}

// Check validates what the geometry rests on (fs/ext4/super.c,
// ext4_fill_super and ext4_check_geometry).
func (s *Superblock) Check() error {
	switch {
	case s.Magic != SuperMagic:
		return invalid("bad superblock magic %#04x (want %#04x): not an ext2/3/4 file system", s.Magic, SuperMagic)
	case s.RevLevel > DynamicRev:
		return invalid("revision level %d: want %d or %d", s.RevLevel, GoodOldRev, DynamicRev)
	case s.LogBlockSize > MaxBlockLogSize-MinBlockLogSize:
		return invalid("s_log_block_size %d: want at most %d (64 KiB blocks)", s.LogBlockSize, MaxBlockLogSize-MinBlockLogSize)
	}
	bs := s.BlockSize()
	isz := s.InodeSizeOf()
	switch {
	case isz < GoodOldInodeSize || uint32(isz) > bs || bits.OnesCount16(isz) != 1:
		return invalid("inode size %d: want a power of two from %d to the block size %d", isz, GoodOldInodeSize, bs)
	case s.BlocksPerGroup == 0 || s.BlocksPerGroup > 8*bs:
		return invalid("%d blocks per group: want 1..%d", s.BlocksPerGroup, 8*bs)
	case s.InodesPerGroup < bs/uint32(isz) || s.InodesPerGroup > 8*bs:
		return invalid("%d inodes per group: want %d..%d", s.InodesPerGroup, bs/uint32(isz), 8*bs)
	case s.FirstDataBlock != 0 && !(bs == MinBlockSize && s.FirstDataBlock == 1):
		return invalid("first data block %d with %d-byte blocks", s.FirstDataBlock, bs)
	case s.BlocksCount() <= uint64(s.FirstDataBlock):
		return invalid("%d blocks: none after the first data block %d", s.BlocksCount(), s.FirstDataBlock)
	case s.Has(Feature64Bit) && (s.DescSize < 64 || s.DescSize > 1024 || bits.OnesCount16(s.DescSize) != 1):
		return invalid("group descriptor size %d: want a power of two from 64 to 1024 with 64bit", s.DescSize)
	}
	groups := (s.BlocksCount() - uint64(s.FirstDataBlock) + uint64(s.BlocksPerGroup) - 1) / uint64(s.BlocksPerGroup)
	if groups >= 1<<32 || uint64(s.InodesCount) != groups*uint64(s.InodesPerGroup) {
		return invalid("%d inodes: want %d groups × %d inodes per group", s.InodesCount, groups, s.InodesPerGroup)
	}
	return nil
}

// BlockSize is the size of a block in bytes.
func (s *Superblock) BlockSize() uint32 {
	return MinBlockSize << min(s.LogBlockSize, 31-MinBlockLogSize)
}

// InodeSizeOf is the size of an inode record: s_inode_size, or 128 on a
// revision 0 file system, which has no such field.
func (s *Superblock) InodeSizeOf() uint16 {
	if s.RevLevel == GoodOldRev {
		return GoodOldInodeSize
	}
	return s.InodeSize
}

// FirstInode is the first ordinary inode: s_first_ino, or 11 on revision 0.
func (s *Superblock) FirstInode() uint32 {
	if s.RevLevel == GoodOldRev {
		return GoodOldFirstIno
	}
	return s.FirstIno
}

// hi64 joins a lo and a hi word, the hi word counting only with 64bit.
func (s *Superblock) hi64(lo, hi uint32) uint64 {
	if s.Has(Feature64Bit) {
		return uint64(hi)<<32 | uint64(lo)
	}
	return uint64(lo)
}

// BlocksCount is the number of blocks in the file system.
func (s *Superblock) BlocksCount() uint64 { return s.hi64(s.BlocksCountLo, s.BlocksCountHi) }

// RBlocksCount is the number of blocks reserved for root.
func (s *Superblock) RBlocksCount() uint64 { return s.hi64(s.RBlocksCountLo, s.RBlocksCountHi) }

// FreeBlocksCount is the number of free blocks.
func (s *Superblock) FreeBlocksCount() uint64 {
	return s.hi64(s.FreeBlocksCountLo, s.FreeBlocksCountHi)
}

// SetBlocksCount, SetRBlocksCount and SetFreeBlocksCount split a count
// into its words.
func (s *Superblock) SetBlocksCount(n uint64) {
	s.BlocksCountLo, s.BlocksCountHi = uint32(n), uint32(n>>32)
}

func (s *Superblock) SetRBlocksCount(n uint64) {
	s.RBlocksCountLo, s.RBlocksCountHi = uint32(n), uint32(n>>32)
}

func (s *Superblock) SetFreeBlocksCount(n uint64) {
	s.FreeBlocksCountLo, s.FreeBlocksCountHi = uint32(n), uint32(n>>32)
}

// Features are the three feature words.
func (s *Superblock) Features() Features {
	return Features{s.FeatureCompat, s.FeatureIncompat, s.FeatureROCompat}
}

// SetFeatures sets the three feature words.
func (s *Superblock) SetFeatures(f Features) {
	s.FeatureCompat, s.FeatureIncompat, s.FeatureROCompat = f.Compat, f.Incompat, f.ROCompat
}

// Has says whether the file system has feature x.
func (s *Superblock) Has(x Feature) bool { return s.Features().Has(x) }

// Label is the volume name up to its first NUL.
func (s *Superblock) Label() string {
	name, _, _ := bytes.Cut(s.VolumeName[:], []byte{0})
	return string(name)
}

// Superblock times are 32-bit words with a byte of bits 32-39 beside
// them (s_*_hi, as ext4_update_tstamp writes them).
func joinTime(lo uint32, hi uint8) int64 { return int64(hi)<<32 | int64(lo) }
func splitTime(t int64) (uint32, uint8)  { return uint32(t), uint8(t >> 32) }

// MkfsTimeOf, WriteTimeOf and LastCheckOf are the times in seconds since the epoch.
func (s *Superblock) MkfsTimeOf() int64  { return joinTime(s.MkfsTime, s.MkfsTimeHi) }
func (s *Superblock) WriteTimeOf() int64 { return joinTime(s.Wtime, s.WtimeHi) }
func (s *Superblock) LastCheckOf() int64 { return joinTime(s.LastCheck, s.LastCheckHi) }

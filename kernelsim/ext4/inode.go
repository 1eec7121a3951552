package ext4

// File types in i_mode (S_IFMT) and the permission bits beside them.
const (
	ModeTypeMask = 0xF000
	ModeFIFO     = 0x1000
	ModeChar     = 0x2000
	ModeDir      = 0x4000
	ModeBlock    = 0x6000
	ModeRegular  = 0x8000
	ModeSymlink  = 0xA000
	ModeSocket   = 0xC000
)

// Inode flags (i_flags; Documentation/filesystems/ext4/inodes.rst).
const (
	InodeFlagSecRm       = 0x00000001
	InodeFlagSync        = 0x00000008
	InodeFlagImmutable   = 0x00000010
	InodeFlagAppend      = 0x00000020
	InodeFlagNoDump      = 0x00000040
	InodeFlagNoAtime     = 0x00000080
	InodeFlagIndex       = 0x00001000 // hashed directory (dir_index)
	InodeFlagDirSync     = 0x00010000
	InodeFlagTopDir      = 0x00020000
	InodeFlagHugeFile    = 0x00040000 // i_blocks counts file system blocks, not sectors
	InodeFlagExtents     = 0x00080000 // i_block holds an extent tree
	InodeFlagEAInode     = 0x00200000
	InodeFlagInlineData  = 0x10000000
	InodeFlagProjInherit = 0x20000000
	InodeFlagCasefold    = 0x40000000
)

// Inode record sizes: the 128 bytes of revision 0, and the fields past
// them that i_extra_isize covers. ExtraIsize is the size of those fields
// as this kernel knows them (sizeof(struct ext4_inode) - 128), what
// mke2fs writes and s_want_extra_isize asks for.
const (
	InodeBlockSize = 60 // i_block: 15 words, an extent tree root or a block map
	ExtraIsize     = 32
	inodeExtraEnd  = GoodOldInodeSize + ExtraIsize
)

// Inode is struct ext4_inode (Documentation/filesystems/ext4/inodes.rst;
// struct ext2_inode_large in lib/ext2fs/ext2_fs.h). Fields keep their
// on-disk split; the methods join them. The fields past the first 128
// bytes mean something only as far as ExtraIsize reaches (the methods
// look), but are kept whatever they hold, and Tail keeps the rest of the
// record (in-inode extended attributes), so that encoding what was decoded
// gives back the same bytes.
type Inode struct {
	Mode        uint16               // 0x00 i_mode
	UIDLo       uint16               // 0x02 i_uid
	SizeLo      uint32               // 0x04 i_size_lo
	Atime       uint32               // 0x08 i_atime
	Ctime       uint32               // 0x0C i_ctime
	Mtime       uint32               // 0x10 i_mtime
	Dtime       uint32               // 0x14 i_dtime
	GIDLo       uint16               // 0x18 i_gid
	LinksCount  uint16               // 0x1A i_links_count
	BlocksLo    uint32               // 0x1C i_blocks_lo: 512-byte sectors, unless HUGE_FILE
	Flags       uint32               // 0x20 i_flags
	Version     uint32               // 0x24 l_i_version (osd1)
	Block       [InodeBlockSize]byte // 0x28 i_block
	Generation  uint32               // 0x64 i_generation
	FileACLLo   uint32               // 0x68 i_file_acl_lo
	SizeHigh    uint32               // 0x6C i_size_high
	Faddr       uint32               // 0x70 i_obso_faddr
	BlocksHigh  uint16               // 0x74 l_i_blocks_high (osd2)
	FileACLHigh uint16               // 0x76 l_i_file_acl_high
	UIDHigh     uint16               // 0x78 l_i_uid_high
	GIDHigh     uint16               // 0x7A l_i_gid_high
	ChecksumLo  uint16               // 0x7C l_i_checksum_lo
	Reserved    uint16               // 0x7E l_i_reserved
	ExtraIsize  uint16               // 0x80 i_extra_isize
	ChecksumHi  uint16               // 0x82 i_checksum_hi
	CtimeExtra  uint32               // 0x84 i_ctime_extra: nanoseconds << 2 | epoch bits
	MtimeExtra  uint32               // 0x88 i_mtime_extra
	AtimeExtra  uint32               // 0x8C i_atime_extra
	Crtime      uint32               // 0x90 i_crtime: creation
	CrtimeExtra uint32               // 0x94 i_crtime_extra
	VersionHi   uint32               // 0x98 i_version_hi
	Projid      uint32               // 0x9C i_projid
	Tail        []byte               // 0xA0 to the end of the record: in-inode xattrs
}

// layout is struct ext4_inode's table; the extra fields are there only in
// a record longer than 128 bytes.
func (in *Inode) layout(c *codec) {
	c.u16(0x00, &in.Mode)
	c.u16(0x02, &in.UIDLo)
	c.u32(0x04, &in.SizeLo)
	c.u32(0x08, &in.Atime)
	c.u32(0x0C, &in.Ctime)
	c.u32(0x10, &in.Mtime)
	c.u32(0x14, &in.Dtime)
	c.u16(0x18, &in.GIDLo)
	c.u16(0x1A, &in.LinksCount)
	c.u32(0x1C, &in.BlocksLo)
	c.u32(0x20, &in.Flags)
	c.u32(0x24, &in.Version)
	c.bytes(0x28, in.Block[:])
	c.u32(0x64, &in.Generation)
	c.u32(0x68, &in.FileACLLo)
	c.u32(0x6C, &in.SizeHigh)
	c.u32(0x70, &in.Faddr)
	c.u16(0x74, &in.BlocksHigh)
	c.u16(0x76, &in.FileACLHigh)
	c.u16(0x78, &in.UIDHigh)
	c.u16(0x7A, &in.GIDHigh)
	c.u16(0x7C, &in.ChecksumLo)
	c.u16(0x7E, &in.Reserved)
	if len(c.b) <= GoodOldInodeSize {
		return
	}
	c.u16(0x80, &in.ExtraIsize)
	c.u16(0x82, &in.ChecksumHi)
	c.u32(0x84, &in.CtimeExtra)
	c.u32(0x88, &in.MtimeExtra)
	c.u32(0x8C, &in.AtimeExtra)
	c.u32(0x90, &in.Crtime)
	c.u32(0x94, &in.CrtimeExtra)
	c.u32(0x98, &in.VersionHi)
	c.u32(0x9C, &in.Projid)
}

// checkRecordSize accepts the record sizes an inode may have: 128, or a
// record that holds at least the extra fields.
func checkRecordSize(n int) error {
	if n != GoodOldInodeSize && n < inodeExtraEnd {
		return corrupt("inode record of %d bytes: want %d or at least %d", n, GoodOldInodeSize, inodeExtraEnd)
	}
	return nil
}

// DecodeInode reads an inode record, the whole of b (s_inode_size bytes),
// and checks i_extra_isize as ext4_iget does: it must fit the record and
// be a multiple of 4.
func DecodeInode(b []byte) (*Inode, error) {
	if err := checkRecordSize(len(b)); err != nil {
		return nil, err
	}
	in := new(Inode)
	in.layout(&codec{b: b})
	if len(b) > inodeExtraEnd {
		in.Tail = append([]byte(nil), b[inodeExtraEnd:]...)
	}
	if len(b) > GoodOldInodeSize && (GoodOldInodeSize+int(in.ExtraIsize) > len(b) || in.ExtraIsize%4 != 0) {
		return nil, corrupt("i_extra_isize %d: want a multiple of 4 that fits a %d-byte inode", in.ExtraIsize, len(b))
	}
	return in, nil
}

// EncodeTo writes the inode into a record, the whole of b. Tail fills what
// follows the extra fields, and zeros what it does not reach.
func (in *Inode) EncodeTo(b []byte) error {
	if err := checkRecordSize(len(b)); err != nil {
		return err
	}
	in.layout(&codec{b: b, enc: true})
	if len(b) > inodeExtraEnd {
		clear(b[inodeExtraEnd+copy(b[inodeExtraEnd:], in.Tail):])
	}
	return nil
}

// Encode returns the inode as a record of size bytes.
func (in *Inode) Encode(size int) ([]byte, error) {
	b := make([]byte, size)
	return b, in.EncodeTo(b)
}

// fits says whether the extra field at offset off of size bytes lies
// within i_extra_isize (EXT4_FITS_IN_INODE).
func (in *Inode) fits(off, size int) bool { return off+size <= GoodOldInodeSize+int(in.ExtraIsize) }

// Size is the file size in bytes.
func (in *Inode) Size() uint64 { return uint64(in.SizeHigh)<<32 | uint64(in.SizeLo) }

// SetSize sets the file size.
func (in *Inode) SetSize(n uint64) { in.SizeLo, in.SizeHigh = uint32(n), uint32(n>>32) }

// UID and GID are the owner's 32-bit ids.
func (in *Inode) UID() uint32 { return uint32(in.UIDHigh)<<16 | uint32(in.UIDLo) }
func (in *Inode) GID() uint32 { return uint32(in.GIDHigh)<<16 | uint32(in.GIDLo) }

// SetOwner sets the owner's ids.
func (in *Inode) SetOwner(uid, gid uint32) {
	in.UIDLo, in.UIDHigh = uint16(uid), uint16(uid>>16)
	in.GIDLo, in.GIDHigh = uint16(gid), uint16(gid>>16)
}

// Blocks is i_blocks: 512-byte sectors, or file system blocks when the
// inode has HUGE_FILE (its high word counts only with huge_file).
func (in *Inode) Blocks() uint64 { return uint64(in.BlocksHigh)<<32 | uint64(in.BlocksLo) }

// SetBlocks sets i_blocks.
func (in *Inode) SetBlocks(n uint64) { in.BlocksLo, in.BlocksHigh = uint32(n), uint16(n>>32) }

// IsDir and the like test the file type.
func (in *Inode) IsDir() bool     { return in.Mode&ModeTypeMask == ModeDir }
func (in *Inode) IsRegular() bool { return in.Mode&ModeTypeMask == ModeRegular }
func (in *Inode) IsSymlink() bool { return in.Mode&ModeTypeMask == ModeSymlink }

// HasExtents says whether i_block holds an extent tree root.
func (in *Inode) HasExtents() bool { return in.Flags&InodeFlagExtents != 0 }

// Timestamp is a time as an inode keeps it: seconds since the epoch and
// nanoseconds.
type Timestamp struct {
	Sec  int64
	Nsec uint32
}

// Times an inode can hold: a signed 32-bit second count extended by two
// epoch bits, 1901-12-13 to 2446-05-10 (fs/ext4/ext4.h, EXT4_EPOCH_BITS).
const (
	MinTime = -1 << 31
	MaxTime = 1<<31 - 1 + 3<<32
)

// EncodeTime splits t into the 32-bit seconds word and the _extra word:
// nanoseconds shifted left by two, under the epoch bits that carry
// seconds past 32 bits (ext4_encode_extra_time).
func EncodeTime(t Timestamp) (sec, extra uint32) {
	epoch := uint32((t.Sec-int64(int32(t.Sec)))>>32) & 3
	return uint32(t.Sec), t.Nsec<<2 | epoch
}

// DecodeTime joins a seconds word and its _extra word (ext4_decode_extra_time).
func DecodeTime(sec, extra uint32) Timestamp {
	return Timestamp{Sec: int64(int32(sec)) + int64(extra&3)<<32, Nsec: extra >> 2}
}

// timeFields are the four times by name: the seconds word, the _extra
// word and where the latter lies, for fits.
var timeFields = [...]struct {
	sec, extra func(*Inode) *uint32
	extraOff   int
}{
	Atime:  {func(in *Inode) *uint32 { return &in.Atime }, func(in *Inode) *uint32 { return &in.AtimeExtra }, 0x8C},
	Ctime:  {func(in *Inode) *uint32 { return &in.Ctime }, func(in *Inode) *uint32 { return &in.CtimeExtra }, 0x84},
	Mtime:  {func(in *Inode) *uint32 { return &in.Mtime }, func(in *Inode) *uint32 { return &in.MtimeExtra }, 0x88},
	Crtime: {func(in *Inode) *uint32 { return &in.Crtime }, func(in *Inode) *uint32 { return &in.CrtimeExtra }, 0x94},
}

// TimeField names one of an inode's times.
type TimeField int

const (
	Atime TimeField = iota
	Ctime
	Mtime
	Crtime // only in the extra fields
)

// Time reads a time, with its nanoseconds and epoch when i_extra_isize
// covers them; an inode without crtime has the zero time.
func (in *Inode) Time(f TimeField) Timestamp {
	tf := timeFields[f]
	if f == Crtime && !in.fits(0x90, 4) {
		return Timestamp{}
	}
	if !in.fits(tf.extraOff, 4) {
		return Timestamp{Sec: int64(int32(*tf.sec(in)))}
	}
	return DecodeTime(*tf.sec(in), *tf.extra(in))
}

// SetTime sets a time, keeping what i_extra_isize covers.
func (in *Inode) SetTime(f TimeField, t Timestamp) {
	tf := timeFields[f]
	sec, extra := EncodeTime(t)
	if f == Crtime && !in.fits(0x90, 4) {
		return
	}
	*tf.sec(in) = sec
	if in.fits(tf.extraOff, 4) {
		*tf.extra(in) = extra
	}
}

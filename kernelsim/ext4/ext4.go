// Package ext4 is the ext4 on-disk format: the superblock, group
// descriptors, inodes, extent trees and directory entries, each declared
// once with its little-endian encoding at the offsets of the kernel's
// Documentation/filesystems/ext4/*.rst and e2fsprogs' lib/ext2fs/ext2_fs.h;
// the feature flags by name; the geometry of block groups; and Format,
// which makes a file system as mkfs.ext4 does on a block.Device.
//
// Everything here is pure and deterministic: no wall time, no global
// state that changes, no output that depends on map order. Decoders check
// every length and count before they use it and fail with an error, never
// a panic, whatever the bytes.
package ext4

import (
	"syscall"

	"ksim/kernelsim/errno"
)

// Where the primary superblock lives: 1024 bytes into the device, whatever
// the block size (Documentation/filesystems/ext4/super.rst).
const (
	SuperblockOffset = 1024
	SuperblockSize   = 1024
	SuperMagic       = 0xEF53
)

// Block sizes: 2^(10+s_log_block_size), 1 KiB to 64 KiB.
const (
	MinBlockLogSize = 10
	MaxBlockLogSize = 16
	MinBlockSize    = 1 << MinBlockLogSize
	MaxBlockSize    = 1 << MaxBlockLogSize
)

// Reserved inode numbers (Documentation/filesystems/ext4/special_inodes.rst);
// the first ordinary inode of a revision 0 file system, and the inode size
// of one, are GoodOldFirstIno and GoodOldInodeSize.
const (
	BadBlocksIno  = 1
	RootIno       = 2
	UsrQuotaIno   = 3
	GrpQuotaIno   = 4
	BootLoaderIno = 5
	UndelDirIno   = 6
	ResizeIno     = 7
	JournalIno    = 8
	ExcludeIno    = 9
	ReplicaIno    = 10

	GoodOldFirstIno  = 11
	GoodOldInodeSize = 128
)

// Revision levels (s_rev_level).
const (
	GoodOldRev = 0
	DynamicRev = 1
)

// s_state bits.
const (
	StateValid  = 0x0001 // cleanly unmounted
	StateError  = 0x0002
	StateOrphan = 0x0004
)

// s_errors: what the kernel does on finding an error.
const (
	ErrorsContinue = 1
	ErrorsRO       = 2
	ErrorsPanic    = 3
)

// s_creator_os.
const (
	OSLinux   = 0
	OSHurd    = 1
	OSMasix   = 2
	OSFreeBSD = 3
	OSLites   = 4
)

// s_flags.
const (
	FlagSignedHash   = 0x0001
	FlagUnsignedHash = 0x0002
	FlagTestFS       = 0x0004
)

// s_default_mount_opts bits (EXT4_DEFM_*).
const (
	DefmDebug     = 0x0001
	DefmBSDGroups = 0x0002
	DefmXattrUser = 0x0004
	DefmACL       = 0x0008
	DefmUID16     = 0x0010
)

// s_def_hash_version: directory hash algorithms.
const (
	HashLegacy   = 0
	HashHalfMD4  = 1
	HashTea      = 2
	HashLegacyU  = 3
	HashHalfMD4U = 4
	HashTeaU     = 5
	HashSipHash  = 6
)

// corrupt is a structure that cannot be what the disk says: the kernel's
// EFSCORRUPTED, which is EUCLEAN.
func corrupt(format string, args ...any) error {
	return errno.Errorf(syscall.EUCLEAN, "ext4: "+format, args...)
}

// invalid is a request or a superblock that ext4 does not take (EINVAL, as
// ext4_fill_super and mkfs refuse them).
func invalid(format string, args ...any) error {
	return errno.Errorf(syscall.EINVAL, "ext4: "+format, args...)
}

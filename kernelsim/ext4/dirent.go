package ext4

// Directory entries (Documentation/filesystems/ext4/directory.rst): a
// linear directory block is a chain of struct ext4_dir_entry_2 records,
// each rec_len bytes long, the last reaching the end of the block. An
// entry whose inode is 0 is unused space.
const (
	DirEntryHeaderSize = 8
	NameMax            = 255 // EXT4_NAME_LEN
	dirRound           = 4   // EXT4_DIR_ROUND + 1: records are 4-byte aligned
	// maxRecLen is rec_len's on-disk value for a whole 64 KiB block (EXT4_MAX_REC_LEN).
	maxRecLen = 1<<16 - 1
)

// File types in directory entries, with the filetype feature (EXT4_FT_*).
const (
	FTUnknown = 0
	FTRegular = 1
	FTDir     = 2
	FTChar    = 3
	FTBlock   = 4
	FTFIFO    = 5
	FTSocket  = 6
	FTSymlink = 7
	FTMax     = 8
	FTDirCsum = 0xDE // the fake entry that holds a block's checksum (metadata_csum)
)

// fileTypes pairs each directory entry file type with its i_mode type.
var fileTypes = [...]struct {
	ft   uint8
	mode uint16
}{
	{FTRegular, ModeRegular}, {FTDir, ModeDir}, {FTChar, ModeChar}, {FTBlock, ModeBlock},
	{FTFIFO, ModeFIFO}, {FTSocket, ModeSocket}, {FTSymlink, ModeSymlink},
}

// FileTypeOf is the directory entry file type of an inode of the given
// mode (fs_umode_to_ftype).
func FileTypeOf(mode uint16) uint8 {
	for _, t := range fileTypes {
		if t.mode == mode&ModeTypeMask {
			return t.ft
		}
	}
	return FTUnknown
}

// DirEntry is one record of a directory block. RecLen is its decoded
// length in bytes (up to 65536 with 64 KiB blocks).
type DirEntry struct {
	Inode    uint32
	RecLen   uint32
	FileType uint8 // with the filetype feature; else 0
	Name     string
}

// DirRecLen is the smallest record that holds a name of nameLen bytes
// (EXT4_DIR_REC_LEN): the 8-byte header and the name, rounded up to 4.
func DirRecLen(nameLen int) uint32 {
	return uint32(DirEntryHeaderSize+nameLen+dirRound-1) &^ (dirRound - 1)
}

// recLenFromDisk and recLenToDisk convert rec_len as ext4_rec_len_from_disk
// and ext4_rec_len_to_disk do: only 64 KiB blocks need more than 16 bits,
// their whole-block length being stored as 65535 (or 0), and the low two
// bits of the value (always zero in a length) carrying bits 16 and 17.
func recLenFromDisk(v uint16, blockSize uint32) uint32 {
	if blockSize < 1<<16 {
		return uint32(v)
	}
	if v == maxRecLen || v == 0 {
		return blockSize
	}
	return uint32(v)&65532 | uint32(v&3)<<16
}

func recLenToDisk(n, blockSize uint32) uint16 {
	if blockSize < 1<<16 {
		return uint16(n)
	}
	if n == blockSize {
		return maxRecLen
	}
	return uint16(n&65532 | (n>>16)&3)
}

// DirBlockOptions says how to read a directory block of a file system.
type DirBlockOptions struct {
	FileType  bool   // the filetype feature: name_len is one byte, file_type the next
	MaxInode  uint32 // entries naming a larger inode are corrupt; 0 checks nothing
	BlockSize uint32 // for rec_len of 64 KiB blocks; 0 for len(block)
}

// DecodeDirBlock reads the records of a linear directory block, unused
// ones included, checking each as ext4_check_dir_entry does: a rec_len of
// at least 12, a multiple of 4, large enough for its name and inside the
// block, and an inode the file system has.
func DecodeDirBlock(b []byte, o DirBlockOptions) ([]DirEntry, error) {
	bs := o.BlockSize
	if bs == 0 {
		bs = uint32(len(b))
	}
	var ents []DirEntry
	for off := 0; off < len(b); {
		if len(b)-off < DirEntryHeaderSize {
			return nil, corrupt("directory entry at %d: %d bytes left of the block, less than a header", off, len(b)-off)
		}
		e := DirEntry{Inode: le.Uint32(b[off:]), RecLen: recLenFromDisk(le.Uint16(b[off+4:]), bs)}
		nameLen := int(b[off+6])
		if o.FileType {
			e.FileType = b[off+7]
		} else {
			nameLen = int(le.Uint16(b[off+6:]))
		}
		switch {
		case nameLen > NameMax: // only the two-byte name_len of a block without filetype can say so
			return nil, corrupt("directory entry at %d: name_len %d, longer than %d", off, nameLen, NameMax)
		case e.RecLen < DirRecLen(1):
			return nil, corrupt("directory entry at %d: rec_len %d is smaller than minimal", off, e.RecLen)
		case e.RecLen%dirRound != 0:
			return nil, corrupt("directory entry at %d: rec_len %d is not a multiple of 4", off, e.RecLen)
		case e.RecLen < DirRecLen(nameLen):
			return nil, corrupt("directory entry at %d: rec_len %d is too small for name_len %d", off, e.RecLen, nameLen)
		case uint64(off)+uint64(e.RecLen) > uint64(len(b)):
			return nil, corrupt("directory entry at %d: rec_len %d runs past the end of the block", off, e.RecLen)
		case o.MaxInode != 0 && e.Inode > o.MaxInode:
			return nil, corrupt("directory entry at %d: inode %d out of bounds (%d inodes)", off, e.Inode, o.MaxInode)
		}
		e.Name = string(b[off+DirEntryHeaderSize : off+DirEntryHeaderSize+nameLen])
		ents = append(ents, e)
		off += int(e.RecLen)
	}
	return ents, nil
}

// EncodeDirBlock lays records out as a directory block of blockSize
// bytes. Their rec_lens must chain exactly from the start of the block to
// its end, each large enough for its name; the bytes after a name, up to
// the next record, are zero.
func EncodeDirBlock(ents []DirEntry, blockSize uint32, fileType bool) ([]byte, error) {
	b := make([]byte, blockSize)
	off := uint64(0)
	for i, e := range ents {
		switch {
		case len(e.Name) > NameMax:
			return nil, invalid("directory entry %d: name of %d bytes, longer than %d", i, len(e.Name), NameMax)
		case e.RecLen < DirRecLen(len(e.Name)) || e.RecLen%dirRound != 0:
			return nil, invalid("directory entry %d (%q): rec_len %d, want a multiple of 4 from %d",
				i, e.Name, e.RecLen, DirRecLen(len(e.Name)))
		case off+uint64(e.RecLen) > uint64(blockSize):
			return nil, invalid("directory entry %d (%q): rec_len %d runs past the end of a %d-byte block",
				i, e.Name, e.RecLen, blockSize)
		case !fileType && e.FileType != 0:
			return nil, invalid("directory entry %d (%q): a file type without the filetype feature", i, e.Name)
		}
		le.PutUint32(b[off:], e.Inode)
		le.PutUint16(b[off+4:], recLenToDisk(e.RecLen, blockSize))
		if fileType {
			b[off+6], b[off+7] = uint8(len(e.Name)), e.FileType
		} else {
			le.PutUint16(b[off+6:], uint16(len(e.Name)))
		}
		copy(b[off+DirEntryHeaderSize:], e.Name)
		off += uint64(e.RecLen)
	}
	if off != uint64(blockSize) {
		return nil, invalid("directory entries end at %d of a %d-byte block", off, blockSize)
	}
	return b, nil
}

// NewDirBlock is the first block of a new directory: "." and "..", the
// latter taking the rest of the block (lib/ext2fs/newdir.c).
func NewDirBlock(self, parent uint32, blockSize uint32) []DirEntry {
	dot := DirRecLen(1)
	return []DirEntry{
		{Inode: self, RecLen: dot, FileType: FTDir, Name: "."},
		{Inode: parent, RecLen: blockSize - dot, FileType: FTDir, Name: ".."},
	}
}

// EmptyDirBlock is a further, empty block of a directory: one unused
// record spanning it (what ext2fs_expand_dir adds).
func EmptyDirBlock(blockSize uint32) []DirEntry {
	return []DirEntry{{RecLen: blockSize}}
}

// AddDirEntry puts a new entry into a block's records where there is room,
// as ext2fs_link and ext4_add_entry do: into an unused record big enough,
// or into the slack after a used one, which is cut down to its own size.
// It reports false when the block has no room.
func AddDirEntry(ents []DirEntry, e DirEntry) ([]DirEntry, bool) {
	need := DirRecLen(len(e.Name))
	for i, cur := range ents {
		if cur.Inode == 0 && cur.RecLen >= need {
			e.RecLen = cur.RecLen
			out := append([]DirEntry(nil), ents...)
			out[i] = e
			return out, true
		}
		if used := DirRecLen(len(cur.Name)); cur.Inode != 0 && cur.RecLen >= used+need {
			e.RecLen = cur.RecLen - used
			out := append([]DirEntry(nil), ents[:i+1]...)
			out[i].RecLen = used
			out = append(out, e)
			return append(out, ents[i+1:]...), true
		}
	}
	return ents, false
}

package ext4

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"syscall"

	"ksim/kernelsim/block"
	"ksim/kernelsim/errno"
)

// seedStream keeps Format's random numbers apart from any other user of
// the same seed ("ext4mkfs").
const seedStream = 0x6578_7434_6d6b_6673

// Format makes a file system on dev as
//
//	mkfs.ext4 -b B -I 256 -O none,extent,filetype,sparse_super,large_file,dir_nlink,extra_isize \
//	    -E lazy_itable_init=0 -m M [-N N] [-L L] [-U U] DEV
//
// does with mke2fs.conf's defaults (e2fsprogs 1.47), so that with the same
// UUID, hash seed and E2FSPROGS_FAKE_TIME the two images are byte for byte
// the same: the device is discarded (so it reads as zeros, as mke2fs's
// discard leaves a file), each group gets its bitmaps and inode table
// after its superblock copy and descriptors, the root directory and
// lost+found take the first free blocks, and the superblock and its
// copies are written last. It returns the primary superblock.
func Format(dev block.Device, o Options) (*Superblock, error) {
	l, err := Plan(o, dev.Sectors()*block.SectorSize)
	if err != nil {
		return nil, err
	}
	m, err := newMkfs(l, o)
	if err != nil {
		return nil, err
	}
	if err := m.write(dev); err != nil {
		return nil, err
	}
	return m.sb, nil
}

// mkfs is one Format in progress: the layout, what it allocates and what
// it will write.
type mkfs struct {
	l     *Layout
	o     Options
	sb    *Superblock
	descs []GroupDesc
	data  []uint64 // blocks of the root directory and lost+found, in allocation order
	// rootBlock and lostFound are the directories' blocks.
	rootBlock uint64
	lostFound []uint64
	// dirsIn and inodesIn count, per group holding any, the directories
	// and the inodes used (1 to 11).
	dirsIn, inodesIn map[uint32]uint32
}

func newMkfs(l *Layout, o Options) (*mkfs, error) {
	m := &mkfs{l: l, o: o, dirsIn: map[uint32]uint32{}, inodesIn: map[uint32]uint32{}}
	// The root directory's block is the first free one of its inode's
	// group; lost+found's follow from its own group's first block
	// (ext2fs_mkdir, ext2fs_find_inode_goal, ext2fs_expand_dir).
	var err error
	if m.rootBlock, err = m.alloc(l.GroupFirstBlock(m.groupOf(RootIno))); err != nil {
		return nil, err
	}
	goal := l.GroupFirstBlock(m.groupOf(lostFoundIno))
	for range l.LostFound {
		if goal, err = m.alloc(goal); err != nil {
			return nil, err
		}
		m.lostFound = append(m.lostFound, goal)
	}
	if runs := len(extentsOf(m.lostFound)); runs > int(ExtentMaxEntries(InodeBlockSize)) {
		return nil, errno.Errorf(syscall.ENOSPC, "ext4: mkfs: lost+found in %d pieces, more than its inode maps", runs)
	}
	for ino := uint32(1); ino <= lostFoundIno; ino++ {
		m.inodesIn[m.groupOf(ino)]++
	}
	m.dirsIn[m.groupOf(RootIno)]++
	m.dirsIn[m.groupOf(lostFoundIno)]++
	m.descs = m.groupDescs()
	m.sb = m.superblock()
	return m, nil
}

func (m *mkfs) groupOf(ino uint32) uint32 { g, _ := m.l.InodeGroup(ino); return g }

// alloc takes the first free block at or after goal, wrapping to the
// start (ext2fs_new_block2): free means past its group's metadata and not
// yet taken. Plan made sure there is one.
func (m *mkfs) alloc(goal uint64) (uint64, error) {
	l := m.l
	first := uint64(l.FirstDataBlock)
	if goal < first || goal >= l.BlocksCount {
		goal = first
	}
	for b, wrapped := goal, false; ; {
		if b >= l.BlocksCount {
			if wrapped {
				return 0, errno.Errorf(syscall.ENOSPC, "ext4: mkfs: no free block for the directories")
			}
			b, wrapped = first, true
		}
		g := l.GroupOfBlock(b)
		if meta := l.GroupFirstBlock(g) + uint64(l.MetaBlocks(g)); b < meta {
			b = meta
			continue
		}
		if slices.Contains(m.data, b) {
			b++
			continue
		}
		m.data = append(m.data, b)
		return b, nil
	}
}

// groupDescs places each group's bitmaps and inode table right after its
// superblock copy and descriptors (ext2fs_allocate_group_table without
// flex_bg or a RAID stride) and counts what is free. Every group's inode
// table is zero, which mke2fs records as INODE_ZEROED.
func (m *mkfs) groupDescs() []GroupDesc {
	l := m.l
	descs := make([]GroupDesc, l.Groups)
	used := map[uint32]uint32{}
	for _, b := range m.data {
		used[l.GroupOfBlock(b)]++
	}
	for g := range descs {
		grp := uint32(g)
		start := l.GroupFirstBlock(grp) + uint64(l.SuperBlocks(grp))
		descs[g] = GroupDesc{
			BlockBitmap:     uint32(start),
			InodeBitmap:     uint32(start + 1),
			InodeTable:      uint32(start + 2),
			FreeBlocksCount: uint16(l.GroupBlocks(grp) - l.MetaBlocks(grp) - used[grp]),
			FreeInodesCount: uint16(l.InodesPerGroup - m.inodesIn[grp]),
			UsedDirsCount:   uint16(m.dirsIn[grp]),
			Flags:           BGInodeZeroed,
		}
	}
	return descs
}

// superblock is the primary superblock as mke2fs leaves it.
func (m *mkfs) superblock() *Superblock {
	l, o := m.l, m.o
	rng := rand.New(rand.NewPCG(o.Seed, seedStream))
	uuid, hashSeed := randomUUID(rng), randomUUID(rng) // both drawn, so -U leaves the hash seed as it was
	if o.UUID != nil {
		uuid = *o.UUID
	}
	if o.HashSeed != nil {
		hashSeed = *o.HashSeed
	}
	var free uint64
	for _, d := range m.descs {
		free += uint64(d.FreeBlocksCount)
	}
	logBlock := uint32(bits.TrailingZeros32(l.BlockSize)) - MinBlockLogSize
	t, thi := splitTime(o.Time)
	s := &Superblock{
		InodesCount:      l.InodesCount,
		FreeInodesCount:  l.InodesCount - lostFoundIno,
		FirstDataBlock:   l.FirstDataBlock,
		LogBlockSize:     logBlock,
		LogClusterSize:   logBlock,
		BlocksPerGroup:   l.BlocksPerGroup,
		ClustersPerGroup: l.BlocksPerGroup,
		InodesPerGroup:   l.InodesPerGroup,
		Wtime:            t,
		WtimeHi:          thi,
		MaxMntCount:      -1, // enable_periodic_fsck = 0
		Magic:            SuperMagic,
		State:            StateValid,
		Errors:           ErrorsContinue,
		LastCheck:        t,
		LastCheckHi:      thi,
		CreatorOS:        OSLinux,
		RevLevel:         DynamicRev,
		FirstIno:         mkfsFirstIno,
		InodeSize:        mkfsInodeSize,
		UUID:             uuid,
		HashSeed:         hashSeed,
		DefHashVersion:   HashHalfMD4,             // mke2fs.conf hash_alg default
		DefaultMountOpts: DefmXattrUser | DefmACL, // mke2fs.conf default_mntopts = acl,user_xattr
		MkfsTime:         t,
		MkfsTimeHi:       thi,
		MinExtraIsize:    ExtraIsize,
		WantExtraIsize:   ExtraIsize,
		Flags:            FlagSignedHash, // char is signed on x86 (ext2fs_initialize)
		KbytesWritten:    m.kbytesWritten(),
		OverheadClusters: m.overhead(),
	}
	s.SetBlocksCount(l.BlocksCount)
	s.SetRBlocksCount(l.ReservedBlocks)
	s.SetFreeBlocksCount(free)
	s.SetFeatures(MkfsFeatures)
	copy(s.VolumeName[:], o.Label)
	return s
}

// overhead is s_overhead_clusters as mke2fs 1.47 counts it: the blocks in
// use once the group tables are placed, before any directory, and the
// blocks before the first data block.
func (m *mkfs) overhead() uint32 {
	n := uint64(m.l.FirstDataBlock)
	for g := range m.l.Groups {
		n += uint64(m.l.MetaBlocks(g))
	}
	return uint32(n)
}

// kbytesWritten is what mke2fs 1.47 leaves in s_kbytes_written: an
// account of its own writes, which this reproduces for the image to match
// byte for byte. mke2fs starts the count at 1 (for dir_nlink and
// extra_isize); at close it adds the bytes its unix I/O manager has
// written to the device so far and the superblock and descriptors it is
// about to write (lib/ext2fs/closefs.c ext2fs_close2). Written so far:
// the 4 KiB of boot sectors and old superblock it zaps, and what its
// 8-block write-back cache (lib/ext2fs/unix_io.c, CACHE_SIZE) has evicted:
// every block it dirtied — the inode table blocks of inodes 1, 2 and 11,
// the root directory, lost+found and two bitmaps per group — but the last
// eight. With 1 KiB blocks lost+found's 12 blocks also push the root
// inode's table block out before its link count changes, so that block is
// written twice. (The inode tables and the rest are zeroed by discard or
// fallocate, which it does not count.)
func (m *mkfs) kbytesWritten() uint64 {
	const cacheBlocks = 8
	l := m.l
	kb := uint64(1) + 4
	type itableBlock struct{ group, block uint32 }
	itable := map[itableBlock]bool{}
	for _, ino := range []uint32{BadBlocksIno, RootIno, lostFoundIno} {
		g, blk, _ := l.InodeOffset(ino)
		itable[itableBlock{g, blk}] = true
	}
	dirtied := uint64(len(itable)) + 1 + uint64(l.LostFound) + 2*uint64(l.Groups)
	if l.BlockSize == MinBlockSize {
		dirtied++
	}
	if dirtied > cacheBlocks {
		kb += (dirtied - cacheBlocks) * uint64(l.BlockSize/1024)
	}
	return kb + uint64(l.DescBlocks+1)/uint64(l.BlockSize/1024)
}

// write puts the file system on the device.
func (m *mkfs) write(dev block.Device) error {
	l := m.l
	bs := uint64(l.BlockSize)
	if err := dev.Discard(0, l.BlocksCount*bs/block.SectorSize); err != nil {
		return errno.Errorf(errnoOr(err), "ext4: mkfs: discard: %w", err)
	}
	w := func(what string, blk uint64, b []byte) error {
		if err := dev.WriteAt(b, blk*bs/block.SectorSize, block.Meta); err != nil {
			return errno.Errorf(errnoOr(err), "ext4: mkfs: write %s at block %d: %w", what, blk, err)
		}
		return nil
	}
	if err := m.writeInodes(w); err != nil {
		return err
	}
	if err := m.writeDirs(w); err != nil {
		return err
	}
	if err := m.writeBitmaps(w); err != nil {
		return err
	}
	if err := m.writeSupers(dev, w); err != nil {
		return err
	}
	if err := dev.Flush(); err != nil {
		return errno.Errorf(errnoOr(err), "ext4: mkfs: flush: %w", err)
	}
	return nil
}

// writeFunc writes one metadata block's worth of bytes at a block.
type writeFunc func(what string, blk uint64, b []byte) error

// inodes are the inodes mke2fs writes: the bad blocks inode with its
// times only (written as a 128-byte inode, so no extra fields), and the
// two directories (ext2fs_mkdir, ext2fs_write_new_inode).
func (m *mkfs) inodes() map[uint32]*Inode {
	l := m.l
	t := Timestamp{Sec: m.o.Time}
	bad := &Inode{}
	for _, f := range []TimeField{Atime, Ctime, Mtime} {
		bad.SetTime(f, t)
	}
	dir := func(mode uint16, links uint16, blocks []uint64) *Inode {
		in := &Inode{Mode: ModeDir | mode, LinksCount: links, Flags: InodeFlagExtents, ExtraIsize: ExtraIsize}
		in.SetSize(uint64(len(blocks)) * uint64(l.BlockSize))
		in.SetBlocks(uint64(len(blocks)) * uint64(l.BlockSize) / 512)
		for _, f := range []TimeField{Atime, Ctime, Mtime, Crtime} {
			in.SetTime(f, t)
		}
		root := NewExtentLeaf(InodeBlockSize, extentsOf(blocks)...)
		_ = root.EncodeTo(in.Block[:]) // newMkfs made sure the runs fit
		return in
	}
	return map[uint32]*Inode{
		BadBlocksIno: bad,
		RootIno:      dir(0o755, 3, []uint64{m.rootBlock}), // ".", ".." and lost+found's ".."
		lostFoundIno: dir(0o700, 2, m.lostFound),           // mke2fs's umask 077
	}
}

// extentsOf maps file blocks 0.. to the given physical blocks, one extent
// per contiguous run (ext2fs_extent_set_bmap merges neighbours).
func extentsOf(blocks []uint64) []Extent {
	var ext []Extent
	for i, b := range blocks {
		if n := len(ext); n > 0 && ext[n-1].Start()+uint64(ext[n-1].Len) == b && ext[n-1].Len < MaxInitExtentLen {
			ext[n-1].Len++
			continue
		}
		ext = append(ext, NewExtent(uint32(i), b, 1))
	}
	return ext
}

// writeInodes writes the inode table blocks that hold a used inode; the
// rest of every table stays zero from the discard.
func (m *mkfs) writeInodes(w writeFunc) error {
	l := m.l
	type tableBlock struct{ group, block uint32 }
	blocks := map[tableBlock][]byte{}
	var order []tableBlock
	inodes := m.inodes()
	for _, ino := range []uint32{BadBlocksIno, RootIno, lostFoundIno} {
		g, blk, off := l.InodeOffset(ino)
		tb := tableBlock{g, blk}
		if blocks[tb] == nil {
			blocks[tb] = make([]byte, l.BlockSize)
			order = append(order, tb)
		}
		if err := inodes[ino].EncodeTo(blocks[tb][off : off+uint32(l.InodeSize)]); err != nil {
			return err
		}
	}
	for _, tb := range order {
		if err := w("inode table", uint64(m.descs[tb.group].InodeTable)+uint64(tb.block), blocks[tb]); err != nil {
			return err
		}
	}
	return nil
}

// writeDirs writes the root directory (".", "..", "lost+found") and
// lost+found ("." and "..", then empty blocks).
func (m *mkfs) writeDirs(w writeFunc) error {
	bs := m.l.BlockSize
	root, _ := AddDirEntry(NewDirBlock(RootIno, RootIno, bs),
		DirEntry{Inode: lostFoundIno, FileType: FTDir, Name: "lost+found"})
	blocks := [][]DirEntry{root, NewDirBlock(lostFoundIno, RootIno, bs)}
	at := []uint64{m.rootBlock, m.lostFound[0]}
	for _, b := range m.lostFound[1:] {
		blocks, at = append(blocks, EmptyDirBlock(bs)), append(at, b)
	}
	for i, ents := range blocks {
		b, err := EncodeDirBlock(ents, bs, true)
		if err != nil {
			return err
		}
		if err := w("directory", at[i], b); err != nil {
			return err
		}
	}
	return nil
}

// writeBitmaps writes each group's bitmaps as lib/ext2fs/rw_bitmaps.c
// does: a block of ones over which the group's bits are laid, so that
// bits past the group (past blocks_per_group or inodes_per_group, and past
// the end of the file system in the last group) read as in use.
func (m *mkfs) writeBitmaps(w writeFunc) error {
	l := m.l
	bs := l.BlockSize
	for g := range l.Groups {
		bb := onesBlock(bs)
		start := l.GroupFirstBlock(g)
		setBits(bb, 0, l.BlocksPerGroup, false)
		setBits(bb, 0, l.MetaBlocks(g), true)
		for _, b := range m.data {
			if l.GroupOfBlock(b) == g {
				setBits(bb, uint32(b-start), uint32(b-start)+1, true)
			}
		}
		setBits(bb, l.GroupBlocks(g), bs*8, true)
		if err := w("block bitmap", uint64(m.descs[g].BlockBitmap), bb); err != nil {
			return err
		}
		ib := onesBlock(bs)
		setBits(ib, 0, l.InodesPerGroup, false)
		first := g*l.InodesPerGroup + 1
		for ino := first; ino <= lostFoundIno && ino < first+l.InodesPerGroup; ino++ {
			setBits(ib, ino-first, ino-first+1, true)
		}
		if err := w("inode bitmap", uint64(m.descs[g].InodeBitmap), ib); err != nil {
			return err
		}
	}
	return nil
}

func onesBlock(bs uint32) []byte {
	b := make([]byte, bs)
	for i := range b {
		b[i] = 0xff
	}
	return b
}

// setBits sets (or clears) bits [from, to) of a little-endian bitmap.
func setBits(b []byte, from, to uint32, on bool) {
	for i := from; i < to; {
		if i%8 == 0 && to-i >= 8 { // a whole byte at once
			b[i/8] = 0
			if on {
				b[i/8] = 0xff
			}
			i += 8
			continue
		}
		if on {
			b[i/8] |= 1 << (i % 8)
		} else {
			b[i/8] &^= 1 << (i % 8)
		}
		i++
	}
}

// writeSupers writes the group descriptor table after every superblock
// copy, then the copies, then the primary superblock (ext2fs_flush2). A
// copy says which group it is in, and is written while the file system is
// marked not clean, so that only the primary says clean.
func (m *mkfs) writeSupers(dev block.Device, w writeFunc) error {
	l := m.l
	gdt, err := EncodeGroupDescs(l.Geometry, m.descs)
	if err != nil {
		return err
	}
	for g := range l.Groups {
		if !l.HasSuper(g) {
			continue
		}
		if err := w("group descriptors", l.GroupFirstBlock(g)+1, gdt); err != nil {
			return err
		}
		if g == 0 {
			continue
		}
		backup := *m.sb
		backup.State &^= StateValid
		backup.BlockGroupNr = uint16(min(g, 1<<16-1))
		if err := writeSuper(dev, l.SuperblockAt(g), &backup); err != nil {
			return err
		}
	}
	return writeSuper(dev, SuperblockOffset, m.sb)
}

func writeSuper(dev block.Device, at uint64, s *Superblock) error {
	if err := dev.WriteAt(s.Encode(), at/block.SectorSize, block.Meta); err != nil {
		return errno.Errorf(errnoOr(err), "ext4: mkfs: write superblock at byte %d: %w", at, err)
	}
	return nil
}

// errnoOr keeps the errno of what failed beneath.
func errnoOr(err error) syscall.Errno {
	if e, ok := errno.Of(err); ok {
		return e
	}
	return syscall.EIO
}

package ext4

// Extent trees (Documentation/filesystems/ext4/ifork.rst): a node is a
// 12-byte header and up to eh_max 12-byte entries, index entries pointing
// at lower nodes or, at depth 0, leaf extents. The root lives in the
// inode's i_block (60 bytes: four entries); other nodes fill a block.
const (
	ExtentMagic      = 0xF30A
	ExtentHeaderSize = 12
	ExtentEntrySize  = 12
	// MaxExtentDepth bounds a tree (EXT4_MAX_EXTENT_DEPTH): five levels
	// address every block of a 2^32-block file.
	MaxExtentDepth = 5
	// MaxInitExtentLen is the longest initialised extent; a length above it
	// marks an unwritten extent of (length - MaxInitExtentLen) blocks.
	MaxInitExtentLen = 1 << 15
)

// ExtentHeader is struct ext4_extent_header.
type ExtentHeader struct {
	Magic      uint16 // 0x0 eh_magic
	Entries    uint16 // 0x2 eh_entries: valid entries after the header
	Max        uint16 // 0x4 eh_max: entries the node has room for
	Depth      uint16 // 0x6 eh_depth: 0 for a leaf
	Generation uint32 // 0x8 eh_generation
}

func (h *ExtentHeader) layout(c *codec) {
	c.u16(0x0, &h.Magic)
	c.u16(0x2, &h.Entries)
	c.u16(0x4, &h.Max)
	c.u16(0x6, &h.Depth)
	c.u32(0x8, &h.Generation)
}

// ExtentIndex is struct ext4_extent_idx: an interior node's pointer to
// the node that maps file blocks from Block on.
type ExtentIndex struct {
	Block  uint32 // 0x0 ei_block: first file block covered
	LeafLo uint32 // 0x4 ei_leaf_lo: the lower node's block
	LeafHi uint16 // 0x8 ei_leaf_hi
	Unused uint16 // 0xA ei_unused
}

func (x *ExtentIndex) layout(c *codec) {
	c.u32(0x0, &x.Block)
	c.u32(0x4, &x.LeafLo)
	c.u16(0x8, &x.LeafHi)
	c.u16(0xA, &x.Unused)
}

// Leaf is the block of the node below.
func (x ExtentIndex) Leaf() uint64 { return uint64(x.LeafHi)<<32 | uint64(x.LeafLo) }

// Extent is struct ext4_extent: file blocks Block.. mapped to physical
// blocks Start...
type Extent struct {
	Block   uint32 // 0x0 ee_block: first file block
	Len     uint16 // 0x4 ee_len: blocks; above 32768, unwritten
	StartHi uint16 // 0x6 ee_start_hi
	StartLo uint32 // 0x8 ee_start_lo
}

func (e *Extent) layout(c *codec) {
	c.u32(0x0, &e.Block)
	c.u16(0x4, &e.Len)
	c.u16(0x6, &e.StartHi)
	c.u32(0x8, &e.StartLo)
}

// NewExtent maps n blocks (1..32768) from file block lblk to physical
// block pblk, initialised.
func NewExtent(lblk uint32, pblk uint64, n uint16) Extent {
	return Extent{Block: lblk, Len: n, StartHi: uint16(pblk >> 32), StartLo: uint32(pblk)}
}

// Start is the first physical block.
func (e Extent) Start() uint64 { return uint64(e.StartHi)<<32 | uint64(e.StartLo) }

// Length is the number of blocks mapped, and whether they are unwritten
// (allocated, reading as zeros).
func (e Extent) Length() (n uint32, unwritten bool) {
	if e.Len > MaxInitExtentLen {
		return uint32(e.Len) - MaxInitExtentLen, true
	}
	return uint32(e.Len), false
}

// ExtentNode is one node of a tree: its header and, by its depth, index
// entries or leaf extents.
type ExtentNode struct {
	Header  ExtentHeader
	Indexes []ExtentIndex // Depth > 0
	Extents []Extent      // Depth == 0
}

// ExtentMaxEntries is how many entries a node of size bytes holds
// (ext4_ext_space_root, ext4_ext_space_block): four in i_block, 340 in a
// 4 KiB block, whose last 4 bytes then hold metadata_csum's tail.
func ExtentMaxEntries(size int) uint16 {
	return uint16(max(size-ExtentHeaderSize, 0) / ExtentEntrySize)
}

// NewExtentLeaf is a leaf node for a buffer of size bytes (the 60 of
// i_block, or a block) holding extents.
func NewExtentLeaf(size int, extents ...Extent) ExtentNode {
	return ExtentNode{
		Header:  ExtentHeader{Magic: ExtentMagic, Entries: uint16(len(extents)), Max: ExtentMaxEntries(size)},
		Extents: extents,
	}
}

// DecodeExtentNode reads a node from b (i_block or a tree block) and
// checks it as the kernel's __ext4_ext_check does: the magic, room for
// eh_max entries in b, eh_entries ≤ eh_max, the depth, and entries in
// increasing file-block order, leaf extents non-empty and not overlapping.
func DecodeExtentNode(b []byte) (ExtentNode, error) {
	var n ExtentNode
	if len(b) < ExtentHeaderSize {
		return n, corrupt("extent node of %d bytes: want at least %d", len(b), ExtentHeaderSize)
	}
	h := &n.Header
	h.layout(&codec{b: b[:ExtentHeaderSize]})
	switch {
	case h.Magic != ExtentMagic:
		return n, corrupt("bad extent header magic %#04x (want %#04x)", h.Magic, ExtentMagic)
	case int(h.Max)*ExtentEntrySize > len(b)-ExtentHeaderSize:
		return n, corrupt("extent node of %d bytes cannot hold eh_max %d entries", len(b), h.Max)
	case h.Entries > h.Max:
		return n, corrupt("extent node with %d entries and room for %d", h.Entries, h.Max)
	case h.Depth > MaxExtentDepth:
		return n, corrupt("extent tree depth %d: want at most %d", h.Depth, MaxExtentDepth)
	}
	entry := func(i int) *codec {
		off := ExtentHeaderSize + i*ExtentEntrySize
		return &codec{b: b[off : off+ExtentEntrySize]}
	}
	if h.Depth > 0 {
		n.Indexes = make([]ExtentIndex, h.Entries)
		for i := range n.Indexes {
			n.Indexes[i].layout(entry(i))
			if i > 0 && n.Indexes[i].Block <= n.Indexes[i-1].Block {
				return n, corrupt("extent index %d starts at file block %d, not after %d", i, n.Indexes[i].Block, n.Indexes[i-1].Block)
			}
		}
		return n, nil
	}
	n.Extents = make([]Extent, h.Entries)
	next := uint64(0) // first file block the next extent may map
	for i := range n.Extents {
		e := &n.Extents[i]
		e.layout(entry(i))
		l, _ := e.Length()
		if l == 0 {
			return n, corrupt("extent %d maps no blocks", i)
		}
		if uint64(e.Block) < next {
			return n, corrupt("extent %d at file block %d overlaps the one before (which ends at %d)", i, e.Block, next-1)
		}
		next = uint64(e.Block) + uint64(l)
	}
	return n, nil
}

// EncodeTo writes the node into b: the header, the entries, and zeros over
// the unused entry slots (up to eh_max; a checksum tail after them is left
// alone).
func (n ExtentNode) EncodeTo(b []byte) error {
	h := n.Header
	entries := len(n.Extents)
	if h.Depth > 0 {
		entries = len(n.Indexes)
	}
	switch {
	case int(h.Max)*ExtentEntrySize > len(b)-ExtentHeaderSize:
		return invalid("extent node of %d bytes cannot hold eh_max %d entries", len(b), h.Max)
	case entries != int(h.Entries) || entries > int(h.Max):
		return invalid("extent node with eh_entries %d, eh_max %d and %d entries", h.Entries, h.Max, entries)
	}
	h.layout(&codec{b: b[:ExtentHeaderSize], enc: true})
	for i := range int(h.Max) {
		off := ExtentHeaderSize + i*ExtentEntrySize
		c := &codec{b: b[off : off+ExtentEntrySize], enc: true}
		switch {
		case i >= entries:
			clear(c.b)
		case h.Depth > 0:
			n.Indexes[i].layout(c)
		default:
			n.Extents[i].layout(c)
		}
	}
	return nil
}

package ext4

import "encoding/binary"

var le = binary.LittleEndian

// codec moves one on-disk structure between its bytes and its Go fields,
// little-endian at the explicit offsets of the kernel's
// Documentation/filesystems/ext4 tables. Each structure writes its layout
// down once, as a method that calls the codec field by field; the same
// method encodes or decodes. An offset past the buffer is remembered
// rather than panicking, so a decoder handed a short buffer fails cleanly.
type codec struct {
	b     []byte
	enc   bool
	short bool    // a field lay past the end of b
	spans *[]span // when set, each field's place, for the layout tests
}

// span is where one field lies.
type span struct{ off, size int }

func (c *codec) at(off, size int) []byte {
	if c.spans != nil {
		*c.spans = append(*c.spans, span{off, size})
	}
	if off < 0 || size < 0 || off+size > len(c.b) {
		c.short = true
		return nil
	}
	return c.b[off : off+size]
}

func (c *codec) u8(off int, v *uint8) {
	if b := c.at(off, 1); b != nil {
		if c.enc {
			b[0] = *v
		} else {
			*v = b[0]
		}
	}
}

func (c *codec) u16(off int, v *uint16) {
	if b := c.at(off, 2); b != nil {
		if c.enc {
			le.PutUint16(b, *v)
		} else {
			*v = le.Uint16(b)
		}
	}
}

func (c *codec) i16(off int, v *int16) {
	u := uint16(*v)
	c.u16(off, &u)
	*v = int16(u)
}

func (c *codec) u32(off int, v *uint32) {
	if b := c.at(off, 4); b != nil {
		if c.enc {
			le.PutUint32(b, *v)
		} else {
			*v = le.Uint32(b)
		}
	}
}

func (c *codec) u64(off int, v *uint64) {
	if b := c.at(off, 8); b != nil {
		if c.enc {
			le.PutUint64(b, *v)
		} else {
			*v = le.Uint64(b)
		}
	}
}

// bytes is a byte array field (a UUID, a name), copied as is.
func (c *codec) bytes(off int, v []byte) {
	if b := c.at(off, len(v)); b != nil {
		if c.enc {
			copy(b, v)
		} else {
			copy(v, b)
		}
	}
}

// u32s is an array of little-endian words (s_jnl_blocks, s_reserved).
func (c *codec) u32s(off int, v []uint32) {
	for i := range v {
		c.u32(off+4*i, &v[i])
	}
}

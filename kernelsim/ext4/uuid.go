package ext4

import (
	"encoding/hex"
	"math/rand/v2"
	"strings"
)

// UUID is a file system's s_uuid, or its s_hash_seed, which mke2fs also
// makes as a UUID.
type UUID [16]byte

// String is the 8-4-4-4-12 form dumpe2fs prints.
func (u UUID) String() string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// IsZero says whether u is the nil UUID.
func (u UUID) IsZero() bool { return u == UUID{} }

// ParseUUID reads the 8-4-4-4-12 form, as mke2fs -U and -E hash_seed=
// take it (libuuid's uuid_parse), and "null" or "clear" for the nil UUID.
func ParseUUID(s string) (UUID, error) {
	var u UUID
	if strings.EqualFold(s, "null") || strings.EqualFold(s, "clear") {
		return u, nil
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, invalid("UUID %q: want the form 01234567-89ab-cdef-0123-456789abcdef", s)
	}
	digits := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(u[:], []byte(digits)); err != nil {
		return UUID{}, invalid("UUID %q: want hexadecimal digits", s)
	}
	return u, nil
}

// randomUUID is a version 4 UUID from rng, as uuid_generate makes one from
// /dev/urandom (RFC 4122 4.4): the version in the high nibble of byte 6,
// the variant in the top bits of byte 8.
func randomUUID(rng *rand.Rand) UUID {
	var u UUID
	for i := 0; i < len(u); i += 8 {
		le.PutUint64(u[i:], rng.Uint64())
	}
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

package engine

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// ID identifies a member. It is fixed for the life of a node's identity and
// survives restarts (a restart raises the generation instead). The zero ID is
// invalid.
type ID uint64

// ErrInvalidID is returned by ParseID for text that is not 16 hexadecimal
// digits or that encodes the zero ID.
var ErrInvalidID = errors.New("hearsay: invalid member ID")

// String formats the ID as 16 lowercase hexadecimal digits.
func (id ID) String() string {
	var b [16]byte
	const hex = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i] = hex[id&0xf]
		id >>= 4
	}
	return string(b[:])
}

// ParseID parses the form printed by ID.String.
func ParseID(s string) (ID, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidID, s)
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("%w: %q", ErrInvalidID, s)
	}
	return ID(v), nil
}

// NewID returns a random non-zero ID from the operating system's secure
// random source.
func NewID() ID {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic("hearsay: crypto/rand failed: " + err.Error())
		}
		if id := ID(binary.BigEndian.Uint64(b[:])); id != 0 {
			return id
		}
	}
}

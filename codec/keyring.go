package codec

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"strconv"
)

// KeyID names a sealing key on the wire without revealing it: the first 4
// bytes, big-endian, of SHA-256("hearsay key id\x00" || key). A receiver
// uses it to pick the key to open a datagram with, and drops datagrams
// sealed with keys it does not hold before doing any AES work.
type KeyID uint32

// String returns the ID as 8 hexadecimal digits.
func (id KeyID) String() string {
	s := strconv.FormatUint(uint64(id), 16)
	const zeros = "00000000"
	return zeros[len(s):] + s
}

const keyIDDomain = "hearsay key id\x00"

// KeyIDOf returns the ID of key.
func KeyIDOf(key []byte) KeyID {
	h := sha256.New()
	h.Write([]byte(keyIDDomain))
	h.Write(key)
	var sum [sha256.Size]byte
	return KeyID(be.Uint32(h.Sum(sum[:0])))
}

// Keyring holds the keys a node seals and opens datagrams with: one
// primary key, which [Seal] uses, and any number of further keys that
// [Open] also accepts. To rotate keys without downtime: add the new key as
// accepted on every node; then make it primary everywhere (the old one
// stays accepted); then drop the old key.
//
// A Keyring is immutable after construction and safe for concurrent use.
// Its AES-GCM instances are built once, by [NewKeyring].
type Keyring struct {
	keys []ringKey // keys[0] is the primary key
}

type ringKey struct {
	id   KeyID
	aead cipher.AEAD
}

// NewKeyring returns a keyring with the given primary key and accepted
// keys. Each key must be 16, 24 or 32 bytes long, selecting AES-128,
// AES-192 or AES-256; otherwise NewKeyring returns an error wrapping
// [ErrKeySize]. Repeated keys collapse into one. Two different keys with
// the same [KeyID] are refused with [ErrKeyCollision]. The keyring does not
// keep the key slices.
func NewKeyring(primary []byte, accepted ...[]byte) (*Keyring, error) {
	all := make([][]byte, 0, 1+len(accepted))
	all = append(all, primary)
	all = append(all, accepted...)
	k := &Keyring{keys: make([]ringKey, 0, len(all))}
	kept := make([][]byte, 0, len(all))
Keys:
	for i, key := range all {
		switch len(key) {
		case 16, 24, 32:
		default:
			return nil, &keyError{i, ErrKeySize}
		}
		id := KeyIDOf(key)
		for j, rk := range k.keys {
			if rk.id != id {
				continue
			}
			if bytes.Equal(kept[j], key) {
				continue Keys
			}
			return nil, &keyError{i, ErrKeyCollision}
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, &keyError{i, err}
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, &keyError{i, err}
		}
		k.keys = append(k.keys, ringKey{id: id, aead: aead})
		kept = append(kept, key)
	}
	return k, nil
}

// keyError reports which key NewKeyring refused.
type keyError struct {
	index int // 0 is the primary key, 1 the first accepted key, ...
	err   error
}

func (e *keyError) Error() string {
	which := "primary key"
	if e.index > 0 {
		which = "accepted key " + strconv.Itoa(e.index)
	}
	return "codec: " + which + ": " + e.err.Error()
}

func (e *keyError) Unwrap() error { return e.err }

// Primary returns the ID of the key that [Seal] uses, or 0 for a keyring
// not made by [NewKeyring].
func (k *Keyring) Primary() KeyID {
	if k == nil || len(k.keys) == 0 {
		return 0
	}
	return k.keys[0].id
}

// Has reports whether the keyring holds a key with the given ID.
func (k *Keyring) Has(id KeyID) bool { return k.find(id) != nil }

// Len returns the number of distinct keys, the primary key included.
func (k *Keyring) Len() int {
	if k == nil {
		return 0
	}
	return len(k.keys)
}

// IDs appends the IDs of the keys to dst, the primary key first, and
// returns the extended slice.
func (k *Keyring) IDs(dst []KeyID) []KeyID {
	if k == nil {
		return dst
	}
	for _, rk := range k.keys {
		dst = append(dst, rk.id)
	}
	return dst
}

// find returns the AEAD of the key with the given ID, or nil.
func (k *Keyring) find(id KeyID) cipher.AEAD {
	if k == nil {
		return nil
	}
	for i := range k.keys {
		if k.keys[i].id == id {
			return k.keys[i].aead
		}
	}
	return nil
}

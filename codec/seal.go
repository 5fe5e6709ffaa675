package codec

import "crypto/rand"

// Sealed-body layout. A sealed datagram is the header, with [FlagSealed]
// set and the length covering the sealed body, followed by:
//
//	off len field
//	40  4   key ID
//	44  12  nonce
//	56  n   ciphertext of the plain body
//	56+n 16 GCM tag
//
// The additional data is the 44 bytes at offset 0: the header as sent and
// the key ID. So a datagram is bound to its cluster, sender, type and
// sequence, and a changed header fails authentication like a changed body.
const (
	keyIDSize = 4
	nonceSize = 12
	tagSize   = 16

	offKeyID  = HeaderSize
	offNonce  = offKeyID + keyIDSize
	offSealed = offNonce + nonceSize

	// SealOverhead is the number of bytes sealing adds to a datagram: key
	// ID (4), nonce (12) and tag (16).
	SealOverhead = keyIDSize + nonceSize + tagSize
)

// Seal seals the plain datagram with the keyring's primary key and appends
// the result to dst. The output is len(datagram)+[SealOverhead] bytes; bytes
// of datagram beyond its header length are not carried.
//
// The nonce is 96 random bits from crypto/rand, drawn per datagram. With n
// datagrams sealed under one key, the chance that two share a nonce is
// about n²/2^97; NIST SP 800-38D caps random-nonce GCM at 2^32 messages per
// key. Every node of a cluster seals with the same primary key, so count
// the datagrams of the whole cluster: rotate the primary key before they
// reach 2^32 (at 100,000 datagrams per second cluster-wide, about every
// 12 hours; at 10,000 per second, every 5 days).
//
// Seal fails, appending nothing, with the errors of [ParseHeader], with
// [ErrSealed] if the datagram is sealed already, and with [ErrTooLarge] if
// the sealed body would not fit the 16-bit length field. It allocates
// nothing when cap(dst)-len(dst) >= len(datagram)+SealOverhead. dst may
// overlap datagram in any way; dst = datagram[:0] seals in place when the
// capacity suffices.
func Seal(dst, datagram []byte, k *Keyring) ([]byte, error) {
	return SealFor(dst, datagram, k, 0)
}

// SealFor seals the plain datagram as [Seal] does, bound to the receiver
// with the given member ID: only [OpenFor] with the same receiver opens
// it, so a sealed datagram captured on its way to one member cannot be
// replayed into another (each member keeps its replay window per sender,
// and a datagram sent to a different receiver would be new to it). The
// binding costs nothing on the wire: the receiver ID is mixed into the
// GCM nonce (its last 8 bytes XORed with the ID) and not sent. Receiver 0
// binds to no one: it is what [Seal] does, for the first datagram to an
// address whose member ID the sender does not know yet (a seed).
func SealFor(dst, datagram []byte, k *Keyring, receiver uint64) ([]byte, error) {
	if err := checkHeader(datagram); err != nil {
		return dst, err
	}
	if Flags(datagram[offFlags])&FlagSealed != 0 {
		return dst, ErrSealed
	}
	if k == nil || len(k.keys) == 0 {
		return dst, ErrUnknownKey
	}
	n := int(be.Uint16(datagram[offLength:]))
	if n+SealOverhead > MaxBodySize {
		return dst, ErrTooLarge
	}
	var hdr [HeaderSize]byte
	copy(hdr[:], datagram)
	ret, out := grow(dst, offSealed+n+tagSize)
	copy(out[offSealed:offSealed+n], datagram[HeaderSize:HeaderSize+n])
	copy(out, hdr[:])
	out[offFlags] |= uint8(FlagSealed)
	be.PutUint16(out[offLength:], uint16(n+SealOverhead))
	key := &k.keys[0]
	be.PutUint32(out[offKeyID:], uint32(key.id))
	nonce := out[offNonce:offSealed]
	rand.Read(nonce)
	bindNonce(nonce, receiver)
	key.aead.Seal(out[offSealed:offSealed], nonce, out[offSealed:offSealed+n], out[:offNonce])
	bindNonce(nonce, receiver) // back to the random nonce that is sent
	return ret, nil
}

// bindNonce XORs the receiver ID into the last 8 bytes of a nonce; applied
// twice, it restores the nonce.
func bindNonce(nonce []byte, receiver uint64) {
	if receiver == 0 {
		return
	}
	be.PutUint64(nonce[4:], be.Uint64(nonce[4:])^receiver)
}

// Open authenticates and decrypts a sealed datagram and appends the plain
// datagram to dst: the header with [FlagSealed] cleared and the length of
// the plain body, then the body. It reads nothing of the body before the
// datagram is authenticated.
//
// Open fails, appending nothing, with the errors of [ParseHeader] (a
// truncated datagram is [ErrTruncated] before any AES work), with
// [ErrUnknownKey] if the key ID is not in the keyring (no AES work is
// done), and with [ErrAuth] if authentication fails or the datagram is not
// sealed at all. It allocates nothing when cap(dst)-len(dst) is at least
// the plain datagram's size. dst's free capacity must not overlap sealed,
// except that Open works in place when the output starts where sealed
// starts (dst = sealed[:0]); in place, sealed is overwritten even when
// authentication fails.
func Open(dst, sealed []byte, k *Keyring) ([]byte, error) {
	return OpenFor(dst, sealed, k, 0)
}

// OpenFor opens a datagram sealed by [SealFor] for receiver, as [Open]
// does; a datagram sealed for another receiver fails with [ErrAuth].
// While it runs it modifies the nonce bytes of sealed and restores them
// before it returns, so sealed must not be read concurrently. To try more
// than one receiver, open into a buffer apart from sealed: a failed open in
// place overwrites sealed.
func OpenFor(dst, sealed []byte, k *Keyring, receiver uint64) ([]byte, error) {
	if err := checkHeader(sealed); err != nil {
		return dst, err
	}
	if Flags(sealed[offFlags])&FlagSealed == 0 {
		return dst, ErrAuth
	}
	aead := k.find(KeyID(be.Uint32(sealed[offKeyID:])))
	if aead == nil {
		return dst, ErrUnknownKey
	}
	n := int(be.Uint16(sealed[offLength:])) - SealOverhead
	ret, out := grow(dst, HeaderSize+n)
	nonce := sealed[offNonce:offSealed]
	ct := sealed[offSealed : offSealed+n+tagSize]
	aad := sealed[:offNonce]
	bindNonce(nonce, receiver)
	if &out[0] == &sealed[0] {
		// In place: decrypt where the ciphertext is (an exact overlap,
		// which GCM allows), then move the plaintext down over the key ID
		// and nonce. The header is already in place.
		pt, err := aead.Open(ct[:0], nonce, ct, aad)
		bindNonce(nonce, receiver)
		if err != nil {
			return dst, ErrAuth
		}
		copy(out[HeaderSize:], pt)
	} else {
		_, err := aead.Open(out[HeaderSize:HeaderSize], nonce, ct, aad)
		bindNonce(nonce, receiver)
		if err != nil {
			return dst, ErrAuth
		}
		copy(out, sealed[:HeaderSize])
	}
	out[offFlags] &^= uint8(FlagSealed)
	be.PutUint16(out[offLength:], uint16(n))
	return ret, nil
}

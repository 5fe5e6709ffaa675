package codec

import "errors"

// Sentinel errors. Every error returned by this package is one of these, or
// wraps one of them, so callers branch with [errors.Is]. None carries data
// about the input, so rejecting a datagram never allocates.
var (
	// ErrTruncated reports input shorter than its own framing says it is:
	// fewer bytes than a header, a header length larger than the bytes
	// present, a section or record that runs past the end of the body.
	// Every proper prefix of a valid datagram fails with ErrTruncated.
	ErrTruncated = errors.New("codec: truncated")

	// ErrMalformed reports input whose framing is complete but whose content
	// is invalid: an unknown flag bit, a zero record size, a known record
	// type with a record size smaller than its known size, a member state
	// out of range, a key or value length over its maximum.
	ErrMalformed = errors.New("codec: malformed")

	// ErrMagic reports a datagram that does not start with the magic "HS".
	ErrMagic = errors.New("codec: bad magic")

	// ErrVersion reports a datagram whose protocol version is 0.
	ErrVersion = errors.New("codec: bad version")

	// ErrSealed reports a sealed datagram handed to a function that reads
	// plain datagrams; the caller opens it with [Open] first.
	ErrSealed = errors.New("codec: datagram is sealed")

	// ErrCompressed reports a compressed datagram handed to a function that
	// reads plain datagrams; the caller decompresses it first (package
	// codec/bulk).
	ErrCompressed = errors.New("codec: datagram is compressed")

	// ErrUnknownKey reports a sealed datagram whose key ID is not in the
	// keyring. No decryption was attempted.
	ErrUnknownKey = errors.New("codec: unknown key")

	// ErrAuth reports a datagram that failed authentication in [Open]: it
	// was altered, or sealed with another key of the same ID, or it is not
	// sealed at all.
	ErrAuth = errors.New("codec: authentication failed")

	// ErrKeySize reports a key that is not 16, 24 or 32 bytes long.
	ErrKeySize = errors.New("codec: key must be 16, 24 or 32 bytes")

	// ErrKeyCollision reports two different keys with the same [KeyID]
	// given to [NewKeyring]. It happens with probability about 2^-32 per
	// pair of random keys; generate another key.
	ErrKeyCollision = errors.New("codec: two keys share a key ID")

	// ErrTooLarge reports a value that does not fit the wire format: a state
	// key over [MaxKeySize] or value over [MaxValueSize] bytes, or a
	// datagram that would exceed the 16-bit body length once sealed.
	ErrTooLarge = errors.New("codec: too large")

	// ErrCluster reports a datagram from another cluster; see
	// [Header.CheckCluster].
	ErrCluster = errors.New("codec: datagram from another cluster")
)

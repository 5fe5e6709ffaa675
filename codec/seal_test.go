package codec_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hearsay-io/hearsay/codec"
)

var (
	key16 = bytes.Repeat([]byte{0x16}, 16)
	key24 = bytes.Repeat([]byte{0x24}, 24)
	key32 = bytes.Repeat([]byte{0x32}, 32)
	keyB  = bytes.Repeat([]byte{0xbb}, 32)
)

func mustKeyring(t testing.TB, primary []byte, accepted ...[]byte) *codec.Keyring {
	t.Helper()
	k, err := codec.NewKeyring(primary, accepted...)
	if err != nil {
		t.Fatalf("NewKeyring = %v", err)
	}
	return k
}

func TestKeyIDOf(t *testing.T) {
	// SHA-256("hearsay key id\x00" || key)[:4], computed independently
	// (Python hashlib). Fixed forever: nodes of different versions must
	// agree.
	tests := []struct {
		key  []byte
		want codec.KeyID
	}{
		{[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 0x3a38360b},
		{[]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}, 0x432b4957},
	}
	for _, tt := range tests {
		if got := codec.KeyIDOf(tt.key); got != tt.want {
			t.Errorf("KeyIDOf(%x) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestNewKeyring(t *testing.T) {
	tests := []struct {
		name     string
		primary  []byte
		accepted [][]byte
		want     error
		keys     int
	}{
		{"aes128", key16, nil, nil, 1},
		{"aes192", key24, nil, nil, 1},
		{"aes256", key32, nil, nil, 1},
		{"three", key32, [][]byte{key16, key24}, nil, 3},
		{"duplicates collapse", key32, [][]byte{key32, bytes.Clone(key32), key16, key16}, nil, 2},
		{"nil primary", nil, nil, codec.ErrKeySize, 0},
		{"short primary", key16[:15], nil, codec.ErrKeySize, 0},
		{"long primary", append(bytes.Clone(key32), 1), nil, codec.ErrKeySize, 0},
		{"bad accepted", key32, [][]byte{key16, make([]byte, 20)}, codec.ErrKeySize, 0},
	}
	for _, tt := range tests {
		k, err := codec.NewKeyring(tt.primary, tt.accepted...)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: NewKeyring = %v, want %v", tt.name, err, tt.want)
			continue
		}
		if err != nil {
			continue
		}
		if k.Len() != tt.keys || k.Primary() != codec.KeyIDOf(tt.primary) || !k.Has(codec.KeyIDOf(tt.primary)) {
			t.Errorf("%s: Len %d Primary %v, want %d, %v", tt.name, k.Len(), k.Primary(), tt.keys, codec.KeyIDOf(tt.primary))
		}
		ids := k.IDs(nil)
		if len(ids) != tt.keys || ids[0] != k.Primary() {
			t.Errorf("%s: IDs = %v, want %d IDs, primary first", tt.name, ids, tt.keys)
		}
		for _, a := range tt.accepted {
			if !k.Has(codec.KeyIDOf(a)) {
				t.Errorf("%s: Has(%v) = false", tt.name, codec.KeyIDOf(a))
			}
		}
	}
}

func TestZeroKeyring(t *testing.T) {
	for _, k := range []*codec.Keyring{nil, new(codec.Keyring)} {
		if k.Primary() != 0 || k.Len() != 0 || k.Has(0) || len(k.IDs(nil)) != 0 {
			t.Errorf("empty keyring: Primary %v, Len %d", k.Primary(), k.Len())
		}
		if _, err := codec.Seal(nil, build(messages[0]), k); !errors.Is(err, codec.ErrUnknownKey) {
			t.Errorf("Seal(empty keyring) = %v, want %v", err, codec.ErrUnknownKey)
		}
	}
}

// TestKeyCollision finds two different keys with the same 32-bit ID (a
// birthday search of about 2^16 keys) and checks that NewKeyring refuses
// them.
func TestKeyCollision(t *testing.T) {
	if testing.Short() {
		t.Skip("birthday search")
	}
	seen := make(map[codec.KeyID][]byte)
	for i := uint32(0); ; i++ {
		key := make([]byte, 16)
		key[0], key[1], key[2], key[3] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
		id := codec.KeyIDOf(key)
		if other, ok := seen[id]; ok {
			if _, err := codec.NewKeyring(other, key); !errors.Is(err, codec.ErrKeyCollision) {
				t.Errorf("NewKeyring(%x, %x) with ID %v = %v, want %v", other, key, id, err, codec.ErrKeyCollision)
			}
			return
		}
		seen[id] = key
	}
}

func TestSealOpen(t *testing.T) {
	for _, key := range [][]byte{key16, key24, key32} {
		k := mustKeyring(t, key)
		for _, m := range messages {
			plain := build(m)
			sealed, err := codec.Seal([]byte("pre"), plain, k)
			if err != nil {
				t.Fatalf("Seal(%v) = %v", m.typ, err)
			}
			if string(sealed[:3]) != "pre" || len(sealed) != 3+len(plain)+codec.SealOverhead {
				t.Fatalf("Seal(pre, %v) = %d bytes, want pre + %d", m.typ, len(sealed), len(plain)+codec.SealOverhead)
			}
			sealed = sealed[3:]
			h, err := codec.ParseHeader(sealed)
			if err != nil || h.Flags != codec.FlagSealed || int(h.Length) != len(plain)-codec.HeaderSize+codec.SealOverhead {
				t.Errorf("ParseHeader(sealed %v) = %+v, %v", m.typ, h, err)
			}
			if bytes.Contains(sealed, plain[codec.HeaderSize:]) {
				t.Errorf("sealed %v contains the plain body", m.typ)
			}
			if err := codec.Validate(sealed); !errors.Is(err, codec.ErrSealed) {
				t.Errorf("Validate(sealed) = %v, want %v", err, codec.ErrSealed)
			}
			opened, err := codec.Open([]byte("pre"), sealed, k)
			if err != nil || !bytes.Equal(opened[3:], plain) || string(opened[:3]) != "pre" {
				t.Errorf("Open(Seal(%v)) = %x, %v; want pre + %x", m.typ, opened, err, plain)
			}
		}
	}
}

func TestSealNonceFresh(t *testing.T) {
	k := mustKeyring(t, key32)
	plain := build(messages[0])
	a, _ := codec.Seal(nil, plain, k)
	b, _ := codec.Seal(nil, plain, k)
	if bytes.Equal(a[codec.HeaderSize+4:codec.HeaderSize+16], b[codec.HeaderSize+4:codec.HeaderSize+16]) {
		t.Errorf("two seals used the same nonce")
	}
}

func TestSealInPlace(t *testing.T) {
	k := mustKeyring(t, key32)
	for _, m := range messages {
		plain := build(m)
		buf := make([]byte, len(plain), len(plain)+codec.SealOverhead)
		copy(buf, plain)
		sealed, err := codec.Seal(buf[:0], buf, k)
		if err != nil || &sealed[0] != &buf[0] {
			t.Fatalf("Seal in place(%v) = %v or did not reuse the buffer", m.typ, err)
		}
		opened, err := codec.Open(sealed[:0], sealed, k)
		if err != nil || !bytes.Equal(opened, plain) || &opened[0] != &buf[0] {
			t.Errorf("Open in place(%v) = %x, %v; want %x in the same buffer", m.typ, opened, err, plain)
		}
	}
	// Sealing in place without room for the overhead still works: the
	// output moves to a new array and the input is untouched.
	plain := build(messages[0])
	orig := bytes.Clone(plain)
	sealed, err := codec.Seal(plain[:0:len(plain)], plain, k)
	if err != nil || !bytes.Equal(plain, orig) {
		t.Fatalf("Seal without room = %v, input changed: %v", err, !bytes.Equal(plain, orig))
	}
	if opened, err := codec.Open(nil, sealed, k); err != nil || !bytes.Equal(opened, plain) {
		t.Errorf("Open = %v", err)
	}
}

func TestOpenRotation(t *testing.T) {
	oldRing := mustKeyring(t, key16)
	both := mustKeyring(t, key32, key16) // new primary, old accepted
	newRing := mustKeyring(t, key32)
	plain := build(messages[0])
	sealedOld, _ := codec.Seal(nil, plain, oldRing)
	sealedNew, _ := codec.Seal(nil, plain, both)
	tests := []struct {
		name   string
		sealed []byte
		ring   *codec.Keyring
		want   error
	}{
		{"old by both", sealedOld, both, nil},
		{"new by both", sealedNew, both, nil},
		{"new by new", sealedNew, newRing, nil},
		{"new by old", sealedNew, oldRing, codec.ErrUnknownKey},
		{"old by new", sealedOld, newRing, codec.ErrUnknownKey},
		{"nil ring", sealedOld, nil, codec.ErrUnknownKey},
	}
	for _, tt := range tests {
		got, err := codec.Open(nil, tt.sealed, tt.ring)
		if !errors.Is(err, tt.want) {
			t.Errorf("Open(%s) = %v, want %v", tt.name, err, tt.want)
		}
		if err == nil && !bytes.Equal(got, plain) {
			t.Errorf("Open(%s) = %x, want %x", tt.name, got, plain)
		}
	}
}

// TestOpenTampered flips each bit of a sealed datagram and checks that Open
// rejects it with a sentinel error, appending nothing.
func TestOpenTampered(t *testing.T) {
	k := mustKeyring(t, key32)
	sealed, _ := codec.Seal(nil, build(messages[0]), k)
	for i := range sealed {
		for bit := range 8 {
			b := bytes.Clone(sealed)
			b[i] ^= 1 << bit
			got, err := codec.Open([]byte("x"), b, k)
			if err == nil || string(got) != "x" {
				t.Fatalf("Open(bit %d of byte %d flipped) = %x, %v; want an error and nothing appended", bit, i, got, err)
			}
			var want error
			switch {
			case i < 2:
				want = codec.ErrMagic
			case i == 2 && b[2] == 0:
				want = codec.ErrVersion
			case i == 4 && b[4]&^3 != 0:
				want = codec.ErrMalformed // unknown flag bit
			case i == 4 && b[4]&1 == 0:
				want = codec.ErrAuth // not sealed at all
			case i == 6 || i == 7:
				want = codec.ErrTruncated // length too large, or ...
				if int(b[6])<<8|int(b[7]) < len(sealed)-codec.HeaderSize {
					want = codec.ErrAuth // ... too small: a shorter ciphertext fails the tag
				}
				if int(b[6])<<8|int(b[7]) < codec.SealOverhead {
					want = codec.ErrMalformed
				}
			case i >= 40 && i < 44:
				want = codec.ErrUnknownKey
			default:
				want = codec.ErrAuth
			}
			if !errors.Is(err, want) {
				t.Errorf("Open(bit %d of byte %d flipped) = %v, want %v", bit, i, err, want)
			}
		}
	}
}

func TestSealedPrefixes(t *testing.T) {
	k := mustKeyring(t, key32)
	for _, m := range messages {
		sealed, _ := codec.Seal(nil, build(m), k)
		for i := range sealed {
			if _, err := codec.Open(nil, sealed[:i], k); !errors.Is(err, codec.ErrTruncated) {
				t.Errorf("Open(sealed %v[:%d of %d]) = %v, want %v", m.typ, i, len(sealed), err, codec.ErrTruncated)
			}
		}
	}
}

func TestSealErrors(t *testing.T) {
	k := mustKeyring(t, key32)
	plain := build(messages[0])
	sealed, _ := codec.Seal(nil, plain, k)
	big := make([]byte, codec.HeaderSize+codec.MaxBodySize-codec.SealOverhead+1)
	h := testHeader(codec.MsgShardData)
	h.Length = uint16(len(big) - codec.HeaderSize)
	h.Append(big[:0])
	fits := bytes.Clone(big[:len(big)-1])
	codec.HeaderView(fits).SetLength(uint16(len(fits) - codec.HeaderSize))
	tests := []struct {
		name  string
		plain []byte
		ring  *codec.Keyring
		want  error
	}{
		{"short", plain[:10], k, codec.ErrTruncated},
		{"truncated body", plain[:len(plain)-1], k, codec.ErrTruncated},
		{"bad magic", append([]byte("XX"), plain[2:]...), k, codec.ErrMagic},
		{"already sealed", sealed, k, codec.ErrSealed},
		{"too large once sealed", big, k, codec.ErrTooLarge},
		{"largest", fits, k, nil},
		{"no keyring", plain, nil, codec.ErrUnknownKey},
	}
	for _, tt := range tests {
		got, err := codec.Seal([]byte("x"), tt.plain, tt.ring)
		if !errors.Is(err, tt.want) {
			t.Errorf("Seal(%s) = %v, want %v", tt.name, err, tt.want)
		}
		if err != nil && string(got) != "x" {
			t.Errorf("Seal(%s) failed but appended %d bytes", tt.name, len(got)-1)
		}
		if err == nil && len(got) != 1+codec.MaxDatagramSize {
			t.Errorf("Seal(%s) = %d bytes, want %d", tt.name, len(got)-1, codec.MaxDatagramSize)
		}
	}
	// Open of a plain datagram: it is not authenticated.
	if _, err := codec.Open(nil, plain, k); !errors.Is(err, codec.ErrAuth) {
		t.Errorf("Open(plain) = %v, want %v", err, codec.ErrAuth)
	}
}

// TestSealCompressedFlag checks that sealing keeps the compressed flag and
// opening restores it.
func TestSealCompressedFlag(t *testing.T) {
	k := mustKeyring(t, key32)
	d := build(messages[0])
	d[4] = byte(codec.FlagCompressed)
	sealed, err := codec.Seal(nil, d, k)
	if err != nil || codec.Flags(sealed[4]) != codec.FlagSealed|codec.FlagCompressed {
		t.Fatalf("Seal(compressed) = flags %v, %v", codec.Flags(sealed[4]), err)
	}
	opened, err := codec.Open(nil, sealed, k)
	if err != nil || !bytes.Equal(opened, d) {
		t.Errorf("Open = %x, %v; want %x", opened, err, d)
	}
}

// TestSealForReceiver checks that a datagram sealed for one receiver opens
// only for that receiver, that receiver 0 is Seal and Open, and that
// OpenFor leaves the sealed bytes as they were, whatever the outcome.
func TestSealForReceiver(t *testing.T) {
	k := mustKeyring(t, key32)
	plain := build(messages[0])
	const alice, bob = 0xa11ce, 0xb0b
	sealed, err := codec.SealFor(nil, plain, k, alice)
	if err != nil {
		t.Fatal(err)
	}
	keep := bytes.Clone(sealed)
	if opened, err := codec.OpenFor(nil, sealed, k, alice); err != nil || !bytes.Equal(opened, plain) {
		t.Errorf("OpenFor(SealFor(alice), alice) = %x, %v; want %x", opened, err, plain)
	}
	for _, r := range []uint64{bob, 0} {
		if _, err := codec.OpenFor(nil, sealed, k, r); !errors.Is(err, codec.ErrAuth) {
			t.Errorf("OpenFor(SealFor(alice), %#x) = %v, want %v", r, err, codec.ErrAuth)
		}
	}
	if !bytes.Equal(sealed, keep) {
		t.Errorf("OpenFor changed the sealed datagram")
	}
	if _, err := codec.Open(nil, sealed, k); !errors.Is(err, codec.ErrAuth) {
		t.Errorf("Open(SealFor(alice)) = %v, want %v", err, codec.ErrAuth)
	}
	unbound, err := codec.Seal(nil, plain, k)
	if err != nil {
		t.Fatal(err)
	}
	if opened, err := codec.OpenFor(nil, unbound, k, 0); err != nil || !bytes.Equal(opened, plain) {
		t.Errorf("OpenFor(Seal, 0) = %x, %v; want %x", opened, err, plain)
	}
	if _, err := codec.OpenFor(nil, unbound, k, alice); !errors.Is(err, codec.ErrAuth) {
		t.Errorf("OpenFor(Seal, alice) = %v, want %v", err, codec.ErrAuth)
	}
}

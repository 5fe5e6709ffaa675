package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/hearsay-io/hearsay"
)

func TestParseKeys(t *testing.T) {
	k16 := bytes.Repeat([]byte{0x11}, 16)
	k24 := bytes.Repeat([]byte{0x22}, 24)
	k32 := bytes.Repeat([]byte{0x33}, 32)
	text := strings.Join([]string{
		"# primary first",
		hex.EncodeToString(k32),
		"",
		"  " + base64.StdEncoding.EncodeToString(k24) + "  ",
		base64.RawStdEncoding.EncodeToString(k16),
		"hex:" + strings.ToUpper(hex.EncodeToString(k16)),
		"base64:" + base64.StdEncoding.EncodeToString(k32),
	}, "\n")
	got, err := parseKeys(text)
	if err != nil {
		t.Fatalf("parseKeys = %v", err)
	}
	want := [][]byte{k32, k24, k16, k16, k32}
	if len(got) != len(want) {
		t.Fatalf("parseKeys = %d keys, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("key %d = %x, want %x", i, got[i], want[i])
		}
	}
}

// TestParseKeysHexFirst checks that a line of 32 hex digits is read as hex
// (16 bytes), although it is also valid base64 (24 bytes).
func TestParseKeysHexFirst(t *testing.T) {
	got, err := parseKeys("00112233445566778899aabbccddeeff")
	if err != nil || len(got) != 1 || len(got[0]) != 16 {
		t.Fatalf("parseKeys(32 hex digits) = %x, %v; want one 16-byte key", got, err)
	}
	got, err = parseKeys("base64:00112233445566778899aabbccddeeff")
	if err != nil || len(got) != 1 || len(got[0]) != 24 {
		t.Fatalf("parseKeys(base64: 32 chars) = %x, %v; want one 24-byte key", got, err)
	}
}

func TestParseKeysErrors(t *testing.T) {
	secret := "c2VjcmV0LWtleS13aXRoLWEtdHlwbw" // not a valid key length
	for _, text := range []string{
		"",
		"# only a comment\n\n",
		secret,
		"hex:zz",
		"hex:0011",
		"!!!not base64!!!",
		base64.StdEncoding.EncodeToString(make([]byte, 20)),
	} {
		_, err := parseKeys(text)
		if err == nil {
			t.Errorf("parseKeys(%q) = nil error, want one", text)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("parseKeys error %q echoes the key line", err)
		}
	}
	// Every bad line is reported, by number.
	_, err := parseKeys("hex:zz\n" + strings.Repeat("ab", 16) + "\nhex:0011\n")
	if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("parseKeys with bad lines 1 and 3 = %v", err)
	}
}

func TestReadKeyFileWarnsOnMode(t *testing.T) {
	dir := t.TempDir()
	key := strings.Repeat("ab", 16) + "\n"
	if _, warn, err := readKeyFile(writeFile(t, dir, "private", key, 0o600)); err != nil || warn != "" {
		t.Errorf("mode 600: warn %q, err %v; want neither", warn, err)
	}
	if _, warn, err := readKeyFile(writeFile(t, dir, "shared", key, 0o644)); err != nil || warn == "" {
		t.Errorf("mode 644: warn %q, err %v; want a warning", warn, err)
	}
	if _, _, err := readKeyFile(dir + "/missing"); err == nil {
		t.Error("missing key file: nil error")
	}
}

// TestKeyFileSize checks that a key of the wrong length in the key file is
// an error matching hearsay.ErrKeySize, as the node's own checks are.
func TestKeyFileSize(t *testing.T) {
	path := writeFile(t, t.TempDir(), "keys", hex.EncodeToString(bytes.Repeat([]byte{1}, 32))+"\n"+
		"hex:"+hex.EncodeToString([]byte("seven b"))+"\n", 0o600)
	_, _, err := readKeyFile(path)
	if !errors.Is(err, hearsay.ErrKeySize) || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("readKeyFile(a 7-byte key on line 2) = %v, want an error about line 2 matching hearsay.ErrKeySize", err)
	}
}

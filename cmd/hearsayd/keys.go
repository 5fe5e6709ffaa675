package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hearsay-io/hearsay"
)

// readKeyFile reads the cluster's keys: one per line, the first seals and
// all open (hearsay.Config.Keys). A line is
//
//	hex:<hex digits>        explicitly hexadecimal
//	base64:<base64>         explicitly base64 (standard alphabet, padding optional)
//	<32, 48 or 64 hex digits>  hexadecimal
//	<anything else>         base64
//
// Blank lines and lines starting with '#' are ignored. Every key must be
// 16, 24 or 32 bytes (AES-128, -192, -256). warn is set when the file is
// readable by group or others.
func readKeyFile(path string) (keys [][]byte, warn string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("key file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		warn = fmt.Sprintf("key file %s is readable by group or others (mode %v); chmod 600 it", path, fi.Mode().Perm())
	}
	keys, err = parseKeys(string(b))
	if err != nil {
		return nil, warn, fmt.Errorf("key file %s: %w", path, err)
	}
	return keys, warn, nil
}

// parseKeys parses the content of a key file; see readKeyFile.
func parseKeys(text string) ([][]byte, error) {
	var keys [][]byte
	var errs []error
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseKey(line)
		if err != nil {
			// Never echo the line: it may be a key with a typo.
			errs = append(errs, fmt.Errorf("line %d: %w", i+1, err))
			continue
		}
		keys = append(keys, k)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("no keys (an empty key file would silently open the cluster)")
	}
	return keys, nil
}

func parseKey(line string) ([]byte, error) {
	var k []byte
	var err error
	switch {
	case strings.HasPrefix(line, "hex:"):
		k, err = hex.DecodeString(strings.TrimPrefix(line, "hex:"))
		if err != nil {
			return nil, errors.New("not valid hexadecimal")
		}
	case strings.HasPrefix(line, "base64:"):
		k, err = decodeBase64(strings.TrimPrefix(line, "base64:"))
	case isHexKey(line):
		k, _ = hex.DecodeString(line)
	default:
		k, err = decodeBase64(line)
	}
	if err != nil {
		return nil, err
	}
	switch len(k) {
	case 16, 24, 32:
		return k, nil
	}
	return nil, keySizeError(len(k))
}

// keySizeError is a key of the wrong length: it matches hearsay.ErrKeySize.
type keySizeError int

func (e keySizeError) Error() string {
	return fmt.Sprintf("a key must be 16, 24 or 32 bytes, this one is %d", int(e))
}

func (e keySizeError) Unwrap() error { return hearsay.ErrKeySize }

// isHexKey reports whether s is 32, 48 or 64 hexadecimal digits: the hex
// form of a 16, 24 or 32-byte key.
func isHexKey(s string) bool {
	if len(s) != 32 && len(s) != 48 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func decodeBase64(s string) ([]byte, error) {
	if k, err := base64.StdEncoding.DecodeString(s); err == nil {
		return k, nil
	}
	if k, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return k, nil
	}
	return nil, errors.New("neither 32, 48 or 64 hex digits nor valid base64")
}

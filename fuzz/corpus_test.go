package fuzz_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// The seed corpus file format of go test: a version line, then one Go
// literal per argument. Every target here takes one []byte.
const corpusHeader = "go test fuzz v1\n"

func corpusFile(in []byte) []byte {
	return fmt.Appendf(nil, "%s[]byte(%s)\n", corpusHeader, strconv.Quote(string(in)))
}

func parseCorpusFile(b []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(b, []byte(corpusHeader))
	if !ok {
		return nil, errors.New("not a go test fuzz v1 file")
	}
	rest = bytes.TrimSpace(rest)
	lit, ok := bytes.CutPrefix(rest, []byte("[]byte("))
	if !ok || !bytes.HasSuffix(lit, []byte(")")) {
		return nil, errors.New("not a single []byte value")
	}
	s, err := strconv.Unquote(string(lit[:len(lit)-1]))
	if err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// writeCorpus replaces the files of dir whose names start with prefix by
// the given inputs, named prefix-<name>.
func writeCorpus(dir, prefix string, inputs map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, _ := filepath.Glob(filepath.Join(dir, prefix+"-*"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	for name, in := range inputs {
		if err := os.WriteFile(filepath.Join(dir, prefix+"-"+name), corpusFile(in), 0o644); err != nil {
			return err
		}
	}
	return nil
}

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hearsay-io/hearsay"
)

// loadID returns the member ID given by -id and -id-file.
//
//   - Without a file: the -id value, or zero (the engine draws a random ID,
//     so every start is a new member).
//   - With a file that exists: the ID it holds; -id, if given, must match.
//   - With a file that does not exist: -id or a new random ID, written to
//     the file (created reports this), so that the next start keeps it.
//
// The file holds the ID as 16 hex digits and a newline. It is created
// atomically (written beside, then linked into place), so that a crash
// never leaves a half-written ID and two agents started at once on the same
// file agree on one ID.
func loadID(flagID, path string) (id hearsay.ID, created bool, err error) {
	if flagID != "" {
		if id, err = hearsay.ParseID(flagID); err != nil {
			return 0, false, fmt.Errorf("id: %w", err)
		}
	}
	if path == "" {
		return id, false, nil
	}
	stored, err := readIDFile(path)
	switch {
	case err == nil:
		if id != 0 && stored != id {
			return 0, false, fmt.Errorf("id: -id %v differs from %v held in %s", id, stored, path)
		}
		return stored, false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return 0, false, err
	}
	if id == 0 {
		id = hearsay.NewID()
	}
	won, err := createIDFile(path, id)
	if err != nil {
		return 0, false, err
	}
	if !won {
		// Another agent created it first: use its ID.
		stored, err := readIDFile(path)
		if err != nil {
			return 0, false, err
		}
		if flagID != "" && stored != id {
			return 0, false, fmt.Errorf("id: -id %v differs from %v held in %s", id, stored, path)
		}
		return stored, false, nil
	}
	return id, true, nil
}

func readIDFile(path string) (hearsay.ID, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("id file: %w", err)
	}
	id, err := hearsay.ParseID(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("id file %s: %w", path, err)
	}
	return id, nil
}

// createIDFile writes id to path unless path exists; won reports whether
// this call created it.
func createIDFile(path string, id hearsay.ID) (won bool, err error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return false, fmt.Errorf("id file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(id.String() + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("id file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("id file: %w", err)
	}
	return true, nil
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hearsay-io/hearsay"
)

func TestLoadIDWithoutFile(t *testing.T) {
	if id, created, err := loadID("", ""); id != 0 || created || err != nil {
		t.Errorf(`loadID("", "") = %v, %v, %v; want 0 (random at start)`, id, created, err)
	}
	if id, _, err := loadID("00000000000000ff", ""); id != 0xff || err != nil {
		t.Errorf("loadID(ff, \"\") = %v, %v", id, err)
	}
	for _, bad := range []string{"ff", "0000000000000000", "zz000000000000ff"} {
		if _, _, err := loadID(bad, ""); err == nil {
			t.Errorf("loadID(%q) = nil error", bad)
		}
	}
}

func TestLoadIDFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "id")
	id, created, err := loadID("", path)
	if err != nil || id == 0 || !created {
		t.Fatalf("first loadID = %v, %v, %v; want a new ID, created", id, created, err)
	}
	b, _ := os.ReadFile(path)
	if got := string(b); got != id.String()+"\n" {
		t.Errorf("file holds %q, want %q", got, id.String()+"\n")
	}
	again, created, err := loadID("", path)
	if err != nil || again != id || created {
		t.Errorf("second loadID = %v, %v, %v; want %v from the file", again, created, err, id)
	}
	if got, _, err := loadID(id.String(), path); err != nil || got != id {
		t.Errorf("loadID(matching -id) = %v, %v", got, err)
	}
	if _, _, err := loadID("00000000000000ff", path); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("loadID(other -id) = %v, want a mismatch error", err)
	}
	// -id seeds a new file.
	p2 := filepath.Join(dir, "id2")
	if got, created, err := loadID("00000000000000ff", p2); err != nil || got != 0xff || !created {
		t.Errorf("loadID(ff, new file) = %v, %v, %v", got, created, err)
	}
	// No temporary files are left beside.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want 2 (id, id2)", len(ents))
	}
}

func TestLoadIDFileCorrupt(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"", "hello\n", "0000000000000000\n"} {
		p := writeFile(t, dir, "id", content, 0o600)
		if _, _, err := loadID("", p); err == nil {
			t.Errorf("ID file %q: nil error", content)
		}
	}
	if _, _, err := loadID("", filepath.Join(dir, "no-dir", "id")); err == nil {
		t.Error("ID file in a missing directory: nil error")
	}
}

// TestLoadIDFileConcurrent starts several loads of one new file at once:
// all agree on one ID and exactly one created it.
func TestLoadIDFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "id")
	const n = 8
	ids := make([]hearsay.ID, n)
	created := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			ids[i], created[i], err = loadID("", path)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if ids[i] != ids[0] {
			t.Errorf("load %d got %v, load 0 got %v", i, ids[i], ids[0])
		}
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d loads created the file, want 1", creators)
	}
}

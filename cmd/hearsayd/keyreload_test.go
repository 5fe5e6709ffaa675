package main

import (
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay"
)

// TestReloadKeys rotates the key of a two-node sealed cluster over
// loopback in the three documented steps, driving the SIGHUP reload
// directly: after each step on both nodes, each holds the keys the file
// lists, primary first; after the last, the nodes still talk (a state
// change crosses), sealed with the new key only.
func TestReloadKeys(t *testing.T) {
	dir := t.TempDir()
	oldKey, newKey := testKey(1), testKey(2)
	oldID, newID := hearsay.KeyIDOf(oldKey), hearsay.KeyIDOf(newKey)
	files := []string{filepath.Join(dir, "a.keys"), filepath.Join(dir, "b.keys")}
	for _, f := range files {
		writeKeys(t, f, oldKey)
	}
	var alog syncBuffer
	a := testAgentLog(t, slog.New(slog.NewTextHandler(&alog, nil)), "-key-file", files[0])
	b := testAgent(t, "-key-file", files[1], "-seeds", a.node.Addr().String())
	agents := []*agent{a, b}
	waitUntil(t, 10*time.Second, "b joined", func() (bool, string) {
		ok, status, _ := b.status()
		return ok, status
	})

	for _, step := range []struct {
		name string
		file [][]byte
		want []hearsay.KeyID
		ch   keyChange
	}{
		{"install the new key", [][]byte{oldKey, newKey}, []hearsay.KeyID{oldID, newID},
			keyChange{installed: []hearsay.KeyID{newID}}},
		{"unchanged file", [][]byte{oldKey, newKey, oldKey}, []hearsay.KeyID{oldID, newID},
			keyChange{}},
		{"make it primary", [][]byte{newKey, oldKey}, []hearsay.KeyID{newID, oldID},
			keyChange{primary: newID, previous: oldID}},
		{"remove the old key", [][]byte{newKey}, []hearsay.KeyID{newID},
			keyChange{removed: []hearsay.KeyID{oldID}}},
	} {
		for i, ag := range agents {
			writeKeys(t, files[i], step.file...)
			ch, err := ag.reloadKeys()
			if err != nil {
				t.Fatalf("%s: reload on node %d: %v", step.name, i, err)
			}
			if !slices.Equal(ch.installed, step.ch.installed) || !slices.Equal(ch.removed, step.ch.removed) ||
				ch.primary != step.ch.primary || ch.previous != step.ch.previous {
				t.Errorf("%s: node %d: change %+v, want %+v", step.name, i, ch, step.ch)
			}
		}
		for i, ag := range agents {
			if got := ag.node.KeyIDs(); !slices.Equal(got, step.want) {
				t.Errorf("%s: node %d holds keys %v, want %v", step.name, i, got, step.want)
			}
		}
	}
	// The nodes still talk, sealed with the new key: a state change of a
	// reaches b.
	if err := a.node.SetState([]byte("rotated"), []byte("yes")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "b reads a's state after the rotation", func() (bool, string) {
		v, _, ok := b.node.State(a.node.ID(), []byte("rotated"))
		return ok && string(v) == "yes", string(v)
	})
	// The log names the keys by ID, never by value.
	log := alog.String()
	for _, want := range []string{"installed=" + newID.String(), "primary=" + newID.String(), "removed=" + oldID.String(), "key file re-read: no change"} {
		if !strings.Contains(log, want) {
			t.Errorf("a's log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "0101010101") || strings.Contains(log, "0202020202") {
		t.Errorf("a's log shows key bytes:\n%s", log)
	}
}

// TestReloadKeysErrors checks the reloads that must change nothing, and
// the warning of a reload that skips a step.
func TestReloadKeysErrors(t *testing.T) {
	dir := t.TempDir()
	file := writeKeys(t, filepath.Join(dir, "keys"), testKey(1))
	var log syncBuffer
	a := testAgentLog(t, slog.New(slog.NewTextHandler(&log, nil)), "-key-file", file)
	want := []hearsay.KeyID{hearsay.KeyIDOf(testKey(1))}

	for name, content := range map[string]string{
		"empty":   "# no keys\n",
		"bad key": "hex:0011\n",
	} {
		writeFile(t, dir, "keys", content, 0o600)
		if _, err := a.reloadKeys(); err == nil {
			t.Errorf("reload of a file with %s: nil error", name)
		}
		if got := a.node.KeyIDs(); !slices.Equal(got, want) {
			t.Errorf("reload of a file with %s: keys %v, want %v unchanged", name, got, want)
		}
	}

	// Installing a key and making it primary at once works on this node
	// but warns: other nodes may not hold the key yet. So does removing
	// the old primary in the same reload.
	writeKeys(t, file, testKey(2))
	ch, err := a.reloadKeys()
	if err != nil || ch.primary != hearsay.KeyIDOf(testKey(2)) {
		t.Fatalf("reload to a new key alone = %+v, %v", ch, err)
	}
	if got := a.node.KeyIDs(); !slices.Equal(got, []hearsay.KeyID{hearsay.KeyIDOf(testKey(2))}) {
		t.Errorf("keys %v after the reload, want the new key alone", got)
	}
	if s := log.String(); !strings.Contains(s, "installed and made primary by one reload") || !strings.Contains(s, "previous primary key was removed") {
		t.Errorf("no warning about the skipped steps:\n%s", s)
	}

	// An open node has no key file and cannot take keys.
	open := testAgent(t, "-open")
	if _, err := open.reloadKeys(); !errors.Is(err, errReloadOpen) || !errors.Is(err, hearsay.ErrOpenCluster) {
		t.Errorf("reload on an open node = %v, want errReloadOpen matching hearsay.ErrOpenCluster", err)
	}
}

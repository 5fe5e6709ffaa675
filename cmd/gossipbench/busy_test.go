package main

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if isBusyLoop() {
		busyLoop() // a busy loop started by a test, from this binary
	}
	os.Exit(m.Run())
}

// TestBusyLoops checks that -busy's processes run until stopped, and that
// one whose input closes, as when gossipbench dies, ends by itself.
func TestBusyLoops(t *testing.T) {
	b, err := startBusy(2)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.cmds) != 2 {
		t.Fatalf("%d busy loops started, want 2", len(b.cmds))
	}
	for _, cmd := range b.cmds {
		if cmd.Process == nil || cmd.ProcessState != nil {
			t.Fatalf("busy loop not running: %v", cmd.ProcessState)
		}
	}
	// The second ends on its own once its input closes: the state of a
	// process whose parent died.
	b.pipes[1].Close()
	if err := b.cmds[1].Wait(); err != nil {
		t.Fatalf("busy loop whose input closed: %v, want a clean exit", err)
	}
	if !b.cmds[1].ProcessState.Success() {
		t.Fatalf("busy loop whose input closed exited with %v", b.cmds[1].ProcessState)
	}
	if b.cmds[0].ProcessState != nil {
		t.Fatal("the other busy loop ended too")
	}
	b.cmds, b.pipes = b.cmds[:1], b.pipes[:1]
	if err := b.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

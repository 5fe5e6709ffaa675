package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay"
)

// syncBuffer is a strings.Builder safe for the agent's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is one run of the agent in this test process.
type process struct {
	a    *agent
	sigs chan os.Signal
	code chan int
	log  *syncBuffer
}

// start runs the agent with args and waits until it is running.
func start(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{sigs: make(chan os.Signal, 2), code: make(chan int, 1), log: &syncBuffer{}}
	ready := make(chan *agent, 1)
	go func() { p.code <- run(args, io.Discard, p.log, p.sigs, func(a *agent) { ready <- a }) }()
	select {
	case p.a = <-ready:
	case c := <-p.code:
		t.Fatalf("run(%q) = %d before starting; log:\n%s", args, c, p.log)
	case <-time.After(10 * time.Second):
		t.Fatalf("run(%q) did not start", args)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop sends SIGTERM unless the agent already stopped, and checks that it
// exits 0.
func (p *process) stop(t *testing.T) {
	t.Helper()
	if p.code == nil {
		return
	}
	p.sigs <- syscall.SIGTERM
	select {
	case c := <-p.code:
		if c != 0 {
			t.Errorf("exit code %d after SIGTERM, want 0; log:\n%s", c, p.log)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("no exit within 15s of SIGTERM; log:\n%s", p.log)
	}
	p.code = nil
}

// getJSON fetches url with c into v.
func getJSON(c *http.Client, url string, v any) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
}

func unixClient(path string) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// TestRun runs two agents of a sealed cluster as main does, over loopback,
// with HTTP on TCP and on a unix socket: they join, a SIGHUP makes one
// re-read its key file, a SIGTERM makes one leave and exit 0, and a
// restart with the same ID file returns as the same member with a higher
// generation. Every wait is bounded and polls for the state it needs, so
// nothing depends on timing: in particular a's log line about b's leave is
// written by a's event goroutine after a's table shows it, so the test
// waits for the line rather than expecting it with the table.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	aKeys := writeKeys(t, filepath.Join(dir, "a.keys"), testKey(1))
	bKeys := writeKeys(t, filepath.Join(dir, "b.keys"), testKey(1))
	common := []string{"-bind", "127.0.0.1:0", "-preset", "local", "-leave-timeout", "3s"}
	// a logs at debug, to show b's membership events; b at info, where
	// they do not appear.
	a := start(t, append(common, "-log-level", "debug", "-key-file", aKeys, "-http", "127.0.0.1:0", "-id-file", filepath.Join(dir, "a.id"))...)
	aURL := "http://" + a.a.ln.Addr().String()
	tcp := &http.Client{Timeout: 5 * time.Second}

	sock := filepath.Join(dir, "b.sock")
	bArgs := append(common, "-log-level", "info", "-key-file", bKeys, "-http", "unix:"+sock, "-id-file", filepath.Join(dir, "b.id"), "-seeds", a.a.node.Addr().String())
	b := start(t, bArgs...)
	bClient := unixClient(sock)
	bID := b.a.node.ID().String()
	gen1 := b.a.node.Config().Generation

	waitUntil(t, 10*time.Second, "b healthy over its unix socket", func() (bool, string) {
		var h healthJSON
		code, err := getJSON(bClient, "http://b/healthz", &h)
		return code == http.StatusOK, fmt.Sprint(code, h, err)
	})
	memberOf := func(id string) (memberJSON, string) {
		var ms []memberJSON
		code, err := getJSON(tcp, aURL+"/members", &ms)
		for _, m := range ms {
			if m.ID == id {
				return m, ""
			}
		}
		return memberJSON{}, fmt.Sprint(code, ms, err)
	}
	waitUntil(t, 10*time.Second, "a lists b alive", func() (bool, string) {
		m, s := memberOf(bID)
		return m.State == "alive", s
	})

	// SIGHUP: a accepts a second key (the first step of a rotation).
	writeKeys(t, aKeys, testKey(1), testKey(2))
	a.sigs <- syscall.SIGHUP
	waitUntil(t, 10*time.Second, "a holds two keys after SIGHUP", func() (bool, string) {
		ids := a.a.node.KeyIDs()
		return len(ids) == 2 && ids[0] == hearsay.KeyIDOf(testKey(1)), fmt.Sprint(ids)
	})

	b.stop(t)
	blog := b.log.String()
	if !strings.Contains(blog, "left the cluster") || !strings.Contains(blog, "signal received") {
		t.Errorf("b's log does not show the leave:\n%s", blog)
	}
	if strings.Contains(blog, "msg=membership") {
		t.Errorf("b's log at info level shows membership events, want them at debug only:\n%s", blog)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("b's unix socket is still there after exit (stat: %v)", err)
	}
	waitUntil(t, 10*time.Second, "a sees b left", func() (bool, string) {
		m, s := memberOf(bID)
		return m.State == "left", s
	})
	waitUntil(t, 10*time.Second, "a logs b's leave event at debug", func() (bool, string) {
		return strings.Contains(a.log.String(), "level=DEBUG msg=membership event=left member="+bID), "not in a's log"
	})

	b2 := start(t, bArgs...)
	if got := b2.a.node.ID().String(); got != bID {
		t.Fatalf("restarted b has ID %s, want %s from its ID file", got, bID)
	}
	waitUntil(t, 10*time.Second, "a sees b alive again with a higher generation", func() (bool, string) {
		m, s := memberOf(bID)
		return m.State == "alive" && m.Generation > gen1, fmt.Sprintf("%+v %s", m, s)
	})
}

func TestRunExitCodes(t *testing.T) {
	runOnce := func(args []string, stdout, stderr io.Writer) int { return run(args, stdout, stderr, nil, nil) }
	if c := runOnce([]string{"-h"}, io.Discard, &syncBuffer{}); c != exitOK {
		t.Errorf("run(-h) = %d, want %d", c, exitOK)
	}
	var out syncBuffer
	if c := runOnce([]string{"-version", "-bind", "nowhere"}, &out, io.Discard); c != exitOK || !strings.HasPrefix(out.String(), "hearsayd ") ||
		!strings.Contains(out.String(), runtime.Version()) {
		t.Errorf("run(-version) = %d, printed %q; want %d and a line naming hearsayd and %s", c, out.String(), exitOK, runtime.Version())
	}
	var log syncBuffer
	if c := runOnce([]string{"-open", "-bind", "nowhere", "-preset", "fast"}, io.Discard, &log); c != exitUsage {
		t.Errorf("run(bad config) = %d, want %d", c, exitUsage)
	} else if !strings.Contains(log.String(), "bind:") || !strings.Contains(log.String(), "preset:") {
		t.Errorf("run(bad config) logged %q, want both problems", log.String())
	}
	if c := runOnce([]string{"-bogus"}, io.Discard, &syncBuffer{}); c != exitUsage {
		t.Errorf("run(-bogus) = %d, want %d", c, exitUsage)
	}
	// Neither keys nor -open: a usage error that names both, and nothing
	// started (no ID file).
	dir := t.TempDir()
	log = syncBuffer{}
	idFile := filepath.Join(dir, "id")
	if c := runOnce([]string{"-bind", "127.0.0.1:0", "-http", "off", "-id-file", idFile}, io.Discard, &log); c != exitUsage {
		t.Errorf("run(no keys, no -open) = %d, want %d", c, exitUsage)
	} else if !strings.Contains(log.String(), "-key-file") || !strings.Contains(log.String(), "-open") || strings.Contains(log.String(), "config.Keys") {
		t.Errorf("run(no keys, no -open) logged %q, want one error naming -key-file and -open", log.String())
	}
	if _, err := os.Stat(idFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run(no keys, no -open) created the ID file (stat: %v)", err)
	}
	// Both: a usage error.
	keys := writeKeys(t, filepath.Join(dir, "keys"), testKey(1))
	log = syncBuffer{}
	if c := runOnce([]string{"-bind", "127.0.0.1:0", "-http", "off", "-open", "-key-file", keys}, io.Discard, &log); c != exitUsage {
		t.Errorf("run(-open -key-file) = %d, want %d", c, exitUsage)
	} else if !strings.Contains(log.String(), "exclude each other") {
		t.Errorf("run(-open -key-file) logged %q", log.String())
	}
	// A taken UDP port: the node cannot start.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if c := runOnce([]string{"-open", "-bind", pc.LocalAddr().String(), "-http", "off"}, io.Discard, &syncBuffer{}); c != exitRuntime {
		t.Errorf("run(bind a taken port) = %d, want %d", c, exitRuntime)
	}
	// A taken HTTP port: nothing is left running.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if c := runOnce([]string{"-open", "-bind", "127.0.0.1:0", "-http", ln.Addr().String()}, io.Discard, &syncBuffer{}); c != exitRuntime {
		t.Errorf("run(HTTP on a taken port) = %d, want %d", c, exitRuntime)
	}
}

// TestUnixSocketInUse checks that a second agent does not steal a live
// agent's unix socket, and that a stale one is replaced.
func TestUnixSocketInUse(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "h.sock")
	live := start(t, "-open", "-bind", "127.0.0.1:0", "-http", "unix:"+sock)
	_ = live
	if c := run([]string{"-open", "-bind", "127.0.0.1:0", "-http", "unix:" + sock}, io.Discard, &syncBuffer{}, nil, nil); c != exitRuntime {
		t.Errorf("second agent on a live socket: run = %d, want %d", c, exitRuntime)
	}
	// A stale socket file: a listener that is gone without removing it.
	stale := filepath.Join(t.TempDir(), "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	start(t, "-open", "-bind", "127.0.0.1:0", "-http", "unix:"+stale)
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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
	go func() { p.code <- run(args, p.log, p.sigs, func(a *agent) { ready <- a }) }()
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

// TestRun runs two agents as main does, over loopback, with HTTP on TCP and
// on a unix socket: they join, a SIGTERM makes one leave and exit 0, and a
// restart with the same ID file returns as the same member with a higher
// generation.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	common := []string{"-bind", "127.0.0.1:0", "-preset", "local", "-log-level", "info", "-leave-timeout", "3s"}
	a := start(t, append(common, "-http", "127.0.0.1:0", "-id-file", filepath.Join(dir, "a.id"))...)
	aURL := "http://" + a.a.ln.Addr().String()
	tcp := &http.Client{Timeout: 5 * time.Second}

	sock := filepath.Join(dir, "b.sock")
	bArgs := append(common, "-http", "unix:"+sock, "-id-file", filepath.Join(dir, "b.id"), "-seeds", a.a.node.Addr().String())
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

	b.stop(t)
	if log := b.log.String(); !strings.Contains(log, "left the cluster") || !strings.Contains(log, "signal received") {
		t.Errorf("b's log does not show the leave:\n%s", log)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("b's unix socket is still there after exit (stat: %v)", err)
	}
	waitUntil(t, 10*time.Second, "a sees b left", func() (bool, string) {
		m, s := memberOf(bID)
		return m.State == "left", s
	})
	if log := a.log.String(); !strings.Contains(log, "event=left member="+bID) {
		t.Errorf("a's log does not show b's leave event:\n%s", log)
	}

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
	if c := run([]string{"-h"}, &syncBuffer{}, nil, nil); c != exitOK {
		t.Errorf("run(-h) = %d, want %d", c, exitOK)
	}
	var log syncBuffer
	if c := run([]string{"-bind", "nowhere", "-preset", "fast"}, &log, nil, nil); c != exitUsage {
		t.Errorf("run(bad config) = %d, want %d", c, exitUsage)
	} else if !strings.Contains(log.String(), "bind:") || !strings.Contains(log.String(), "preset:") {
		t.Errorf("run(bad config) logged %q, want both problems", log.String())
	}
	if c := run([]string{"-bogus"}, &syncBuffer{}, nil, nil); c != exitUsage {
		t.Errorf("run(-bogus) = %d, want %d", c, exitUsage)
	}
	// A taken UDP port: the node cannot start.
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if c := run([]string{"-bind", pc.LocalAddr().String(), "-http", "off"}, &syncBuffer{}, nil, nil); c != exitRuntime {
		t.Errorf("run(bind a taken port) = %d, want %d", c, exitRuntime)
	}
	// A taken HTTP port: nothing is left running.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if c := run([]string{"-bind", "127.0.0.1:0", "-http", ln.Addr().String()}, &syncBuffer{}, nil, nil); c != exitRuntime {
		t.Errorf("run(HTTP on a taken port) = %d, want %d", c, exitRuntime)
	}
}

// TestUnixSocketInUse checks that a second agent does not steal a live
// agent's unix socket, and that a stale one is replaced.
func TestUnixSocketInUse(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "h.sock")
	live := start(t, "-bind", "127.0.0.1:0", "-http", "unix:"+sock)
	_ = live
	if c := run([]string{"-bind", "127.0.0.1:0", "-http", "unix:" + sock}, &syncBuffer{}, nil, nil); c != exitRuntime {
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
	start(t, "-bind", "127.0.0.1:0", "-http", "unix:"+stale)
}

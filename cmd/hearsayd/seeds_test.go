package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay"
)

// resolvedAgent is testAgent with a resolver for -advertise and -seeds.
func resolvedAgent(t *testing.T, res hearsay.Resolver, args ...string) *agent {
	t.Helper()
	base := []string{"-preset", "local", "-http", "off", "-leave-timeout", "2s", "-open"}
	o, err := parseArgs(append(base, args...), io.Discard)
	if err != nil {
		t.Fatalf("parseArgs: %v", err)
	}
	set, err := o.build(context.Background(), res)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	a, err := startAgent(set, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("startAgent: %v", err)
	}
	t.Cleanup(func() { a.shutdown(nil) })
	return a
}

// sharedPort returns a UDP port free on 127.0.0.1 to 127.0.0.<n> a moment
// ago.
func sharedPort(t *testing.T, n int) int {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := pc.LocalAddr().(*net.UDPAddr).Port
		pc.Close()
		free := true
		for i := 2; i <= n && free; i++ {
			c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.%d:%d", i, p))
			if err != nil {
				free = false
				continue
			}
			c.Close()
		}
		if free {
			return p
		}
	}
	t.Fatal("no UDP port free on every loopback address")
	return 0
}

// TestSeedsByName starts three agents on 127.0.0.1, .2 and .3, each with
// -seeds set to one name that resolves to the three addresses (through an
// injected resolver, not DNS). They find each other, become healthy, and
// /members shows the round trips their probes measured.
func TestSeedsByName(t *testing.T) {
	const n = 3
	port := sharedPort(t, n)
	res := fakeResolver(map[string][]string{"gossip.hearsay.test": {"127.0.0.1", "127.0.0.2", "127.0.0.3"}})
	seeds := fmt.Sprintf("gossip.hearsay.test:%d", port)
	agents := make([]*agent, n)
	for i := range agents {
		agents[i] = resolvedAgent(t, res, "-bind", fmt.Sprintf("127.0.0.%d:%d", i+1, port), "-seeds", seeds)
	}
	waitUntil(t, 30*time.Second, "every agent sees three live members and is healthy", func() (bool, string) {
		for i, a := range agents {
			rec := get(t, a, "/healthz")
			h := decode[healthJSON](t, rec)
			if rec.Code != http.StatusOK || h.LiveMembers != n {
				return false, fmt.Sprintf("agent %d: /healthz %d %+v", i, rec.Code, h)
			}
		}
		return true, ""
	})
	if c := res.count("gossip.hearsay.test"); c < n {
		t.Errorf("the seed name was looked up %d times, want at least once per agent", c)
	}
	waitUntil(t, 30*time.Second, "/members shows a measured round trip", func() (bool, string) {
		ms := decode[[]memberJSON](t, get(t, agents[0], "/members"))
		for _, m := range ms {
			if !m.Self && m.RTTMicros > 0 {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", ms)
	})
	samples := checkExposition(t, get(t, agents[0], "/metrics").Body.String())
	if c := samples["hearsay_probe_rtt_seconds_count"]; c < 1 {
		t.Errorf("hearsay_probe_rtt_seconds_count = %v, want the probes' samples", c)
	}
}

package main

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/hearsay-io/hearsay"
)

// TestHealthzSelfDead feeds the agent's event handling the two events
// about this node and checks /healthz (and hearsay_healthy) after each:
// 200 while alive, 503 with a reason once the cluster holds the node dead,
// 200 again once it refuted. No cluster is needed: the events are handed
// to handleEvent directly.
func TestHealthzSelfDead(t *testing.T) {
	a := testAgent(t, "-open")
	a.joined.Store(true) // a seedless node; do not wait for its join loop
	self := hearsay.Member{ID: a.node.ID(), Addr: a.node.Addr(), State: hearsay.StateAlive, Incarnation: 3}

	check := func(step string, wantCode int, wantStatus string, wantHealthy float64) {
		t.Helper()
		rec := get(t, a, "/healthz")
		h := decode[healthJSON](t, rec)
		if rec.Code != wantCode || h.Status != wantStatus || (h.Reason == "") != (wantCode == http.StatusOK) {
			t.Errorf("%s: /healthz = %d %+v, want %d %s (a reason exactly when not ok)", step, rec.Code, h, wantCode, wantStatus)
		}
		samples := checkExposition(t, get(t, a, "/metrics").Body.String())
		if got := samples["hearsay_healthy"]; got != wantHealthy {
			t.Errorf("%s: hearsay_healthy = %v, want %v", step, got, wantHealthy)
		}
	}
	check("alive", http.StatusOK, "ok", 1)

	a.handleEvent(&hearsay.Event{Type: hearsay.EventSelfDead, Member: self})
	check("after EventSelfDead", http.StatusServiceUnavailable, "rejoining", 0)
	if h := decode[healthJSON](t, get(t, a, "/healthz")); !strings.Contains(h.Reason, "dead or left") {
		t.Errorf("/healthz reason %q does not say the cluster holds the node dead or left", h.Reason)
	}
	// Other events do not end it: only the refutation does.
	a.handleEvent(&hearsay.Event{Type: hearsay.EventJoin, Member: hearsay.Member{ID: 7, State: hearsay.StateAlive}})
	check("after another member's join", http.StatusServiceUnavailable, "rejoining", 0)

	self.Incarnation++
	a.handleEvent(&hearsay.Event{Type: hearsay.EventSelfAlive, Member: self})
	check("after EventSelfAlive", http.StatusOK, "ok", 1)
}

// TestEventLogLevels checks that membership and state events are logged
// at Debug only, with the member's identity, incarnation and witness.
func TestEventLogLevels(t *testing.T) {
	member := hearsay.Member{ID: 0xab, Addr: netip.MustParseAddrPort("10.0.0.2:7946"), State: hearsay.StateDead, Generation: 5, Incarnation: 2}
	events := []hearsay.Event{
		{Type: hearsay.EventJoin, Member: member},
		{Type: hearsay.EventDead, Member: member, Witness: 0xcd},
		{Type: hearsay.EventState, Member: member, Key: []byte("role"), Version: 4},
	}
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var buf syncBuffer
		a := &agent{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: level}))}
		for i := range events {
			a.handleEvent(&events[i])
		}
		got := buf.String()
		if level == slog.LevelInfo {
			if got != "" {
				t.Errorf("at info level, events logged:\n%s", got)
			}
			continue
		}
		for _, want := range []string{
			"level=DEBUG msg=membership event=join member=00000000000000ab addr=10.0.0.2:7946 state=dead generation=5 incarnation=2\n",
			"level=DEBUG msg=membership event=dead member=00000000000000ab addr=10.0.0.2:7946 state=dead generation=5 incarnation=2 witness=00000000000000cd\n",
			"level=DEBUG msg=state member=00000000000000ab key=role version=4 deleted=false\n",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("at debug level, the log lacks %q:\n%s", want, got)
			}
		}
	}
}

package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/hearsay-io/hearsay"
)

// handler serves the agent's HTTP API; see the package documentation.
func (a *agent) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /members", a.serveMembers)
	mux.HandleFunc("GET /state", a.serveState)
	mux.HandleFunc("GET /healthz", a.serveHealth)
	mux.HandleFunc("GET /metrics", a.serveMetrics)
	mux.HandleFunc("GET /config", a.serveConfig)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("hearsayd " + a.node.ID().String() + "\n\n" +
			"/members  every member this node knows (JSON)\n" +
			"/state    every member's application state (JSON)\n" +
			"/healthz  200 when running and joined, 503 with a reason otherwise (JSON)\n" +
			"/metrics  the node's counters, Go runtime and process metrics (Prometheus text format)\n" +
			"/config   the configuration in effect (JSON; keys by ID only)\n"))
	})
	return mux
}

// memberJSON is one element of /members.
type memberJSON struct {
	ID           string `json:"id"`
	Addr         string `json:"addr"`
	State        string `json:"state"`
	Generation   uint64 `json:"generation"`
	Incarnation  uint32 `json:"incarnation"`
	RTTMicros    uint64 `json:"rtt_us,omitempty"` // smoothed probe round trip; absent when not measured
	StateVersion uint64 `json:"state_version"`
	Name         string `json:"name,omitempty"`
	Self         bool   `json:"self,omitempty"`
}

// sortedMembers returns the node's members ordered by ID.
func (a *agent) sortedMembers() []hearsay.Member {
	ms := a.node.AllMembers()
	sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
	return ms
}

func (a *agent) serveMembers(w http.ResponseWriter, r *http.Request) {
	ms := a.sortedMembers()
	out := make([]memberJSON, len(ms))
	self := a.node.ID()
	rtts := a.node.RTTs()
	for i, m := range ms {
		out[i] = memberJSON{
			ID:           m.ID.String(),
			Addr:         m.Addr.String(),
			State:        m.State.String(),
			Generation:   m.Generation,
			Incarnation:  m.Incarnation,
			RTTMicros:    micros(rtts, m.ID),
			StateVersion: m.StateVersion,
			Name:         m.Name,
			Self:         m.ID == self,
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// micros returns id's round trip in rtts in microseconds, at least 1, or
// 0 when there is none.
func micros(rtts map[hearsay.ID]time.Duration, id hearsay.ID) uint64 {
	d, ok := rtts[id]
	if !ok {
		return 0
	}
	return uint64(max(d.Microseconds(), 1))
}

// stateJSON is the body of /state.
type stateJSON struct {
	Members map[string]memberStateJSON `json:"members"`
}

type memberStateJSON struct {
	State        string               `json:"state"`
	Generation   uint64               `json:"generation"`
	StateVersion uint64               `json:"state_version"`
	Keys         map[string]entryJSON `json:"keys"`
}

// entryJSON is one key's value: Value when it is valid UTF-8, else
// ValueBase64.
type entryJSON struct {
	Value       *string `json:"value,omitempty"`
	ValueBase64 string  `json:"value_base64,omitempty"`
	Version     uint64  `json:"version"`
}

// serveState lists every member's application state as the node holds it
// (Node.StateOf), reserved keys such as the name included.
func (a *agent) serveState(w http.ResponseWriter, r *http.Request) {
	ms := a.sortedMembers()
	out := stateJSON{Members: make(map[string]memberStateJSON, len(ms))}
	for _, m := range ms {
		ks := memberStateJSON{State: m.State.String(), Generation: m.Generation, StateVersion: m.StateVersion, Keys: map[string]entryJSON{}}
		if st, ok := a.node.StateOf(m.ID); ok {
			for k, v := range st.All() {
				ver, _ := st.Version(k)
				e := entryJSON{Version: ver}
				if utf8.Valid(v) {
					s := string(v)
					e.Value = &s
				} else {
					e.ValueBase64 = base64.StdEncoding.EncodeToString(v)
				}
				ks.Keys[string(k)] = e
			}
		}
		out.Members[m.ID.String()] = ks
	}
	writeJSON(w, http.StatusOK, out)
}

// healthJSON is the body of /healthz.
type healthJSON struct {
	Status      string `json:"status"`           // ok, joining, leaving or rejoining
	Reason      string `json:"reason,omitempty"` // why it is not ok, for a person
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	LiveMembers int    `json:"live_members"`
	Members     int    `json:"members"`
	Uptime      string `json:"uptime"`
}

func (a *agent) serveHealth(w http.ResponseWriter, r *http.Request) {
	ok, status, reason := a.status()
	counts := a.node.Counts()
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, healthJSON{
		Status:      status,
		Reason:      reason,
		ID:          a.node.ID().String(),
		Addr:        a.node.Addr().String(),
		LiveMembers: counts.Live(),
		Members:     counts.Total(),
		Uptime:      time.Since(a.start).Round(time.Millisecond).String(),
	})
}

func (a *agent) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	st := a.node.Stats()
	extra := append(a.agentMetrics(), rttFamily(&st.ProbeRTT))
	extra = append(extra, runtimeMetrics()...)
	extra = append(extra, processMetrics()...)
	writeMetrics(w, st.Metrics(nil), extra)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // a failed write means the client went away
}

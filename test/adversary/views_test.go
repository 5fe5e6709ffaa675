//go:build linux

package adversary

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/hearsay-io/hearsay/engine"
)

// What the test reads of the nodes: their HTTP views (/members, /state,
// /metrics), and their memory from /proc.

// member is one element of /members.
type member struct {
	ID           string `json:"id"`
	Addr         string `json:"addr"`
	State        string `json:"state"`
	Generation   uint64 `json:"generation"`
	Incarnation  uint32 `json:"incarnation"`
	StateVersion uint64 `json:"state_version"`
	Self         bool   `json:"self"`
	Name         string `json:"name"`
}

func (m member) id() engine.ID {
	id, _ := engine.ParseID(m.ID)
	return id
}

func findMember(ms []member, id engine.ID) (member, bool) {
	s := id.String()
	for _, m := range ms {
		if m.ID == s {
			return m, true
		}
	}
	return member{}, false
}

// stateView is the body of /state.
type stateView struct {
	Members map[string]struct {
		State        string `json:"state"`
		Generation   uint64 `json:"generation"`
		StateVersion uint64 `json:"state_version"`
		Keys         map[string]struct {
			Value       *string `json:"value"`
			ValueBase64 string  `json:"value_base64"`
			Version     uint64  `json:"version"`
		} `json:"keys"`
	} `json:"members"`
}

// get reads path from n's HTTP view. A request that fails in transport
// (a timeout while the machine is busy, a connection reset) is tried
// again, up to httpAttempts times in all; the error names every attempt's
// failure. A status other than 200 is an error at once.
func (n *node) get(path string) ([]byte, error) {
	var errs []error
	for range httpAttempts {
		resp, err := n.client.Get("http://" + strconv.Itoa(n.i) + path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: reading the body: %w", path, err))
			continue
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("%s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
		}
		return b, nil
	}
	return nil, fmt.Errorf("%s: %d attempts failed: %w", path, httpAttempts, errors.Join(errs...))
}

// getJSON reads path from n's HTTP view into v.
func (n *node) getJSON(path string, v any) error {
	b, err := n.get(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (n *node) members() ([]member, error) {
	var ms []member
	err := n.getJSON("/members", &ms)
	return ms, err
}

func (n *node) state() (stateView, error) {
	var s stateView
	err := n.getJSON("/state", &s)
	return s, err
}

// metrics reads n's /metrics: each sample by its name with labels, as
// written (hearsay_drops_total{cause="replay"}).
func (n *node) metrics() (metrics, error) {
	b, err := n.get("/metrics")
	if err != nil {
		return nil, err
	}
	m := metrics{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

type metrics map[string]float64

// drops returns hearsay_drops_total for a cause.
func (m metrics) drops(cause string) float64 {
	return m[`hearsay_drops_total{cause="`+cause+`"}`]
}

// members returns the size of the table (every state).
func (m metrics) members() float64 {
	var s float64
	for _, st := range []string{"alive", "suspect", "dead", "left"} {
		s += m[`hearsay_members{state="`+st+`"}`]
	}
	return s
}

// sub returns m - m0 for one sample.
func (m metrics) sub(m0 metrics, name string) float64 { return m[name] - m0[name] }

// forEach runs f for every running node concurrently and waits.
func (c *cluster) forEach(f func(n *node)) {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		if n.running() {
			wg.Go(func() { f(n) })
		}
	}
	wg.Wait()
}

// allMembers reads /members of every running node.
func (c *cluster) allMembers() ([][]member, []error) {
	views := make([][]member, len(c.nodes))
	errs := make([]error, len(c.nodes))
	c.forEach(func(n *node) { views[n.i], errs[n.i] = n.members() })
	return views, errs
}

// allMetrics reads /metrics of every running node; it fails the test for
// a node that does not answer.
func (c *cluster) allMetrics(t *testing.T) []metrics {
	t.Helper()
	out := make([]metrics, len(c.nodes))
	errs := make([]error, len(c.nodes))
	c.forEach(func(n *node) { out[n.i], errs[n.i] = n.metrics() })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%v /metrics: %v", c.nodes[i], err)
		}
	}
	return out
}

// memStatus returns a process's resident memory now and at its peak
// (VmRSS and VmHWM of /proc/<pid>/status), in bytes.
func memStatus(pid int) (rss, hwm uint64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseUint(f[0], 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			hwm = n << 10
		}
	}
	return rss, hwm, nil
}

// logTail returns the last n lines of a log file.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// mb formats bytes as MB.
func mb(b uint64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

package netns

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

// How the harness talks to the agents: each hearsayd serves HTTP on a unix
// socket in the test's temporary directory (-http unix:PATH). A socket
// file is reachable from every network namespace, so the test process,
// which stays in the root namespace, queries every host directly, with no
// address or route in the root namespace and no helper process per query.
// The agents' gossip traffic stays on the namespace network.

// Limits of the harness itself, not of the protocol.
const (
	// startTimeout bounds an agent's process start (exec through ip netns
	// exec, socket bound, HTTP answering). It is not a protocol bound.
	startTimeout = 20 * time.Second
	// exitSlack is added to the agent's leave timeout to bound its exit
	// after SIGTERM (closing the node and the HTTP server).
	exitSlack = 3 * time.Second
	// pollEvery is how often the harness reads every host's /members while
	// waiting for an outcome: the resolution of the measured times.
	pollEvery = 25 * time.Millisecond
	// overrun is how far past its bound a late outcome is still awaited,
	// as a multiple of the bound, so that the failure reports how late it
	// was.
	overrun = 3
)

// member is one element of hearsayd's /members.
type member struct {
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	State       string `json:"state"`
	Generation  uint64 `json:"generation"`
	Incarnation uint32 `json:"incarnation"`
	Self        bool   `json:"self"`
}

// agentConfig is the part of hearsayd's /config the harness reads.
type agentConfig struct {
	ID                string `json:"id"`
	Generation        uint64 `json:"generation"`
	Advertise         string `json:"advertise"`
	HeartbeatInterval string `json:"heartbeat_interval"`
	Observers         int    `json:"observers"`
	Phi               struct {
		Threshold       float64 `json:"threshold"`
		Window          int     `json:"window"`
		MinStdDev       string  `json:"min_std_dev"`
		AcceptablePause string  `json:"acceptable_pause"`
		FirstInterval   string  `json:"first_interval"`
		MaxInterval     string  `json:"max_interval"`
	} `json:"phi"`
	ProbeTimeout    string `json:"probe_timeout"`
	IndirectTimeout string `json:"indirect_timeout"`
	Suspicion       struct {
		MinBase   string  `json:"min_base"`
		MaxFactor float64 `json:"max_factor"`
		Expected  int     `json:"expected"`
	} `json:"suspicion"`
	MaxLocalHealth int     `json:"max_local_health"`
	GossipInterval string  `json:"gossip_interval"`
	GossipFanout   int     `json:"gossip_fanout"`
	RetransmitMult float64 `json:"retransmit_mult"`
	SyncInterval   string  `json:"sync_interval"`
	LeaveTimeout   string  `json:"leave_timeout"`
}

// timing converts the configuration to the bounds' inputs.
func (c *agentConfig) timing() (timing, error) {
	var errs []error
	dur := func(s string) time.Duration {
		d, err := time.ParseDuration(s)
		if err != nil {
			errs = append(errs, err)
		}
		return d
	}
	tm := timing{
		HeartbeatInterval: dur(c.HeartbeatInterval),
		Observers:         c.Observers,
		Phi: detector.PhiConfig{
			Threshold:       c.Phi.Threshold,
			Window:          c.Phi.Window,
			MinStdDev:       dur(c.Phi.MinStdDev),
			AcceptablePause: dur(c.Phi.AcceptablePause),
			FirstInterval:   dur(c.Phi.FirstInterval),
			MaxInterval:     dur(c.Phi.MaxInterval),
		},
		ProbeTimeout:    dur(c.ProbeTimeout),
		IndirectTimeout: dur(c.IndirectTimeout),
		Suspicion: detector.SuspicionConfig{
			MinBase:   dur(c.Suspicion.MinBase),
			MaxFactor: c.Suspicion.MaxFactor,
			Expected:  c.Suspicion.Expected,
		},
		MaxLocalHealth: c.MaxLocalHealth,
		GossipInterval: dur(c.GossipInterval),
		GossipFanout:   c.GossipFanout,
		RetransmitMult: c.RetransmitMult,
		SyncInterval:   dur(c.SyncInterval),
		LeaveTimeout:   dur(c.LeaveTimeout),
	}
	return tm, errors.Join(errs...)
}

// proc is one hearsayd process.
type proc struct {
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{} // closed when the process has exited
	err     error         // its exit status, once done
	killed  bool          // the harness sent SIGKILL
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// wait waits up to d for the process to exit.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// host is one machine of a cluster: its namespace, its files, and the
// agent running there.
type host struct {
	i      int
	net    hostNet
	addr   netip.AddrPort // the agent's gossip address in this cluster
	sock   string
	idFile string
	log    string
	client *http.Client
	proc   *proc

	id  string // member ID, from /config
	gen uint64 // generation of the running process, from /config
}

func newHost(i int, hn hostNet, dir string, v6 bool) *host {
	ip := hn.v4
	if v6 {
		ip = hn.v6
	}
	h := &host{
		i:      i,
		net:    hn,
		addr:   netip.AddrPortFrom(ip, 7946),
		sock:   filepath.Join(dir, fmt.Sprintf("h%d.sock", i)),
		idFile: filepath.Join(dir, fmt.Sprintf("h%d.id", i)),
		log:    filepath.Join(dir, fmt.Sprintf("h%d.log", i)),
	}
	h.client = &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true, // a restarted agent is a new socket
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", h.sock)
		},
	}}
	return h
}

func (h *host) String() string { return fmt.Sprintf("host %d (%v)", h.i, h.addr.Addr()) }

// start runs hearsayd in the host's namespace with args, logging to the
// host's log file (appended across restarts).
func (h *host) start(bin string, args []string) error {
	f, err := os.OpenFile(h.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "=== harness: starting hearsayd at %s\n", time.Now().Format(time.RFC3339Nano))
	// ip netns exec enters the namespace and execs the agent in the same
	// process, so the PID is the agent's and signals reach it directly.
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.net.ns, bin}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	// Should the test process die without its cleanup, the agent dies too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &proc{cmd: cmd, started: time.Now(), done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	h.proc = p
	return nil
}

// signal sends sig to the running agent.
func (h *host) signal(sig syscall.Signal) error {
	if h.proc == nil || !h.proc.running() {
		return fmt.Errorf("%v: no running agent", h)
	}
	if sig == syscall.SIGKILL {
		h.proc.killed = true
	}
	return h.proc.cmd.Process.Signal(sig)
}

// awaitConfig polls the agent's /config into cfg until it answers, the
// process exits, or startTimeout passes.
func (h *host) awaitConfig(cfg *agentConfig) error {
	deadline := time.Now().Add(startTimeout)
	for {
		_, err := h.getJSON("/config", cfg)
		if err == nil {
			return nil
		}
		if !h.proc.running() {
			return fmt.Errorf("agent exited (%v) before answering", h.proc.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agent did not answer within %v: %v", startTimeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// getJSON reads path from the host's agent into v.
func (h *host) getJSON(path string, v any) (int, error) {
	resp, err := h.client.Get("http://" + strconv.Itoa(h.i) + path)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return resp.StatusCode, fmt.Errorf("%s: %w", path, err)
	}
	return resp.StatusCode, nil
}

// members reads the host's /members, by ID.
func (h *host) members() (map[string]member, error) {
	var ms []member
	if _, err := h.getJSON("/members", &ms); err != nil {
		return nil, err
	}
	out := make(map[string]member, len(ms))
	for _, m := range ms {
		out[m.ID] = m
	}
	return out, nil
}

// logTail returns the last n lines of the host's log.
func (h *host) logTail(n int) string {
	b, err := os.ReadFile(h.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// view is what one observer lists: its members by ID.
type view = map[string]member

// check is a condition on one observer's view; it returns "" when met,
// else what is missing.
type check func(obs *host, v view) string

// waitAll polls every observer's /members until check holds at all of
// them, and returns the time taken, measured from since. It fails the test
// when that exceeds bound, after waiting up to overrun·bound to report how
// late the outcome was.
func waitAll(t *testing.T, what string, since time.Time, bound time.Duration, observers []*host, ok check) time.Duration {
	t.Helper()
	deadline := since.Add(overrun * bound)
	var status string
	for {
		status = ""
		for _, h := range observers {
			v, err := h.members()
			if err != nil {
				status = fmt.Sprintf("%v: %v", h, err)
				break
			}
			if s := ok(h, v); s != "" {
				status = fmt.Sprintf("%v: %s", h, s)
				break
			}
		}
		took := time.Since(since)
		if status == "" {
			if took > bound {
				t.Errorf("%s: took %v, over its bound %v", what, took.Round(time.Millisecond), bound)
			} else {
				t.Logf("%s: %v (bound %v)", what, took.Round(time.Millisecond), bound.Round(time.Millisecond))
			}
			return took
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v (%d× its bound %v); last: %s", what, took.Round(time.Millisecond), overrun, bound, status)
		}
		time.Sleep(pollEvery)
	}
}

// sees returns a check that every host in targets is listed with a state
// for which want returns true.
func sees(targets []*host, desc string, want func(h *host, m member) bool) check {
	return func(obs *host, v view) string {
		for _, h := range targets {
			m, ok := v[h.id]
			if !ok {
				return fmt.Sprintf("does not list %v (%s)", h, h.id)
			}
			if !want(h, m) {
				return fmt.Sprintf("lists %v as %s (gen %d, inc %d), want %s", h, m.State, m.Generation, m.Incarnation, desc)
			}
		}
		return ""
	}
}

func state(s string) func(*host, member) bool {
	return func(_ *host, m member) bool { return m.State == s }
}

// aliveAtCurrentGen holds for a member listed alive with the generation of
// its running process.
func aliveAtCurrentGen(h *host, m member) bool { return m.State == "alive" && m.Generation == h.gen }

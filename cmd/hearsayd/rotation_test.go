package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay"
)

// rotationNodes is the size of TestRotateKeysLive's cluster.
const rotationNodes = 5

// liveAgent is one hearsayd process of TestRotateKeysLive, its HTTP server
// on a unix socket.
type liveAgent struct {
	i       int
	keyFile string
	cmd     *exec.Cmd
	client  *http.Client
	log     *syncBuffer // stderr and stdout
	exited  chan struct{}
	err     error // of Wait, once exited is closed
}

func (p *liveAgent) String() string { return fmt.Sprintf("agent %d", p.i) }

// get fetches path from the agent's HTTP server.
func (p *liveAgent) get(path string) (string, error) {
	resp, err := p.client.Get("http://hearsayd" + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return string(b), err
}

// startLive starts bin as agent i with args, and stops it when the test
// ends: SIGTERM, then SIGKILL if it has not exited 15 s later.
func startLive(t *testing.T, bin, dir string, i int, args ...string) *liveAgent {
	t.Helper()
	sock := filepath.Join(dir, fmt.Sprintf("a%d.sock", i))
	p := &liveAgent{i: i, keyFile: filepath.Join(dir, fmt.Sprintf("a%d.keys", i)), client: unixClient(sock),
		log: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, append([]string{"-http", "unix:" + sock, "-key-file", p.keyFile}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
			t.Errorf("%v: no exit within 15 s of SIGTERM; killed", p)
		}
	})
	return p
}

// rotationMetrics are the counters TestRotateKeysLive reads from /metrics.
type rotationMetrics struct {
	heartbeats, deaths, suspicions, unknownKey, auth, dead float64
}

func (p *liveAgent) metrics(t *testing.T) (rotationMetrics, error) {
	t.Helper()
	text, err := p.get("/metrics")
	if err != nil {
		return rotationMetrics{}, err
	}
	s := checkExposition(t, text)
	return rotationMetrics{
		heartbeats: s["hearsay_heartbeats_total"],
		deaths:     s["hearsay_deaths_total"],
		suspicions: s["hearsay_suspicions_total"],
		unknownKey: s[`hearsay_drops_total{cause="unknown_key"}`],
		auth:       s[`hearsay_drops_total{cause="auth"}`],
		dead:       s[`hearsay_members{state="dead"}`],
	}, nil
}

// allAlive reports whether p lists n members, every one alive.
func (p *liveAgent) allAlive(n int) (bool, string) {
	var ms []memberJSON
	if _, err := getJSON(p.client, "http://hearsayd/members", &ms); err != nil {
		return false, fmt.Sprintf("%v: /members: %v", p, err)
	}
	alive := 0
	for _, m := range ms {
		if m.State == "alive" {
			alive++
		}
	}
	if len(ms) != n || alive != n {
		return false, fmt.Sprintf("%v lists %d members, %d alive: %+v", p, len(ms), alive, ms)
	}
	return true, ""
}

// keyIDs returns the key IDs p's /config reports, primary first.
func (p *liveAgent) keyIDs() ([]string, error) {
	var c struct {
		KeyIDs []string `json:"key_ids"`
	}
	_, err := getJSON(p.client, "http://hearsayd/config", &c)
	return c.KeyIDs, err
}

// TestRotateKeysLive rotates the key of a sealed cluster of five hearsayd
// processes on loopback the way an operator does: in three steps (install
// the new key second, move it first, remove the old one), each applied to
// every agent by rewriting its key file and sending it SIGHUP, the next
// step starting once every agent's /config shows the keys of the one
// before. After each step every agent must receive fresh heartbeats (so
// the cluster still talks, sealed with whatever key is primary by then)
// and list the five members alive; at the end, no agent may have logged a
// dead or left event (each logs every membership event at debug level, and
// must not have dropped any), declared a death, held a dead member, or
// dropped a datagram for an unknown key or a failed authentication. Every
// wait is bounded; the processes are stopped at the end.
func TestRotateKeysLive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hearsayd and runs five processes")
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "hearsayd")
	if out, err := exec.Command(goCmd, "build", "-o", bin, "github.com/hearsay-io/hearsay/cmd/hearsayd").CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/hearsayd: %v\n%s", err, out)
	}
	oldKey, newKey := make([]byte, 32), make([]byte, 32)
	for i := range oldKey {
		oldKey[i], newKey[i] = byte(0xa0+i), byte(0x50+i)
	}
	oldID, newID := hearsay.KeyIDOf(oldKey).String(), hearsay.KeyIDOf(newKey).String()
	common := []string{"-bind", "127.0.0.1:0", "-preset", "local", "-log-level", "debug", "-leave-timeout", "2s"}

	began := time.Now()
	agents := make([]*liveAgent, rotationNodes)
	for i := range agents {
		writeKeys(t, filepath.Join(dir, fmt.Sprintf("a%d.keys", i)), oldKey)
		args := append(slices.Clone(common), "-name", fmt.Sprintf("node-%d", i))
		if i > 0 {
			var c struct{ Advertise string }
			if _, err := getJSON(agents[0].client, "http://hearsayd/config", &c); err != nil {
				t.Fatal(err)
			}
			args = append(args, "-seeds", c.Advertise)
		}
		agents[i] = startLive(t, bin, dir, i, args...)
		waitUntil(t, 10*time.Second, fmt.Sprintf("agent %d serves /config", i), func() (bool, string) {
			_, err := agents[i].keyIDs()
			return err == nil, fmt.Sprint(err, "\n", agents[i].log)
		})
	}
	everyoneAlive := func(what string) {
		t.Helper()
		waitUntil(t, 20*time.Second, what, func() (bool, string) {
			for _, p := range agents {
				if ok, status := p.allAlive(rotationNodes); !ok {
					return false, status
				}
			}
			return true, ""
		})
	}
	everyoneAlive("every agent lists five members alive")
	formed := time.Since(began)
	before := make([]rotationMetrics, rotationNodes)
	for i, p := range agents {
		if before[i], err = p.metrics(t); err != nil {
			t.Fatal(err)
		}
	}

	logStart := make([]int, rotationNodes) // where each log stands when the rotation begins
	for i, p := range agents {
		logStart[i] = len(p.log.String())
	}
	for _, step := range []struct {
		name string
		file [][]byte
		want []string
	}{
		{"install the new key second", [][]byte{oldKey, newKey}, []string{oldID, newID}},
		{"make the new key primary", [][]byte{newKey, oldKey}, []string{newID, oldID}},
		{"remove the old key", [][]byte{newKey}, []string{newID}},
	} {
		stepBegan := time.Now()
		for _, p := range agents {
			// As a mounted Secret changes: a new file renamed over the old.
			writeKeys(t, p.keyFile+".new", step.file...)
			if err := os.Rename(p.keyFile+".new", p.keyFile); err != nil {
				t.Fatal(err)
			}
			if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatalf("%s: SIGHUP to %v: %v", step.name, p, err)
			}
		}
		applied := make([]rotationMetrics, rotationNodes)
		for i, p := range agents {
			waitUntil(t, 10*time.Second, fmt.Sprintf("%s: %v reports keys %v", step.name, p, step.want), func() (bool, string) {
				ids, err := p.keyIDs()
				return err == nil && slices.Equal(ids, step.want), fmt.Sprint(ids, err)
			})
			if applied[i], err = p.metrics(t); err != nil {
				t.Fatal(err)
			}
		}
		// Datagrams sealed before the step are delivered by now; each agent
		// must go on receiving heartbeats, opened with the keys it holds.
		for i, p := range agents {
			waitUntil(t, 10*time.Second, fmt.Sprintf("%s: %v receives heartbeats", step.name, p), func() (bool, string) {
				m, err := p.metrics(t)
				return err == nil && m.heartbeats >= applied[i].heartbeats+8, fmt.Sprintf("%+v, at the step %+v, %v", m, applied[i], err)
			})
		}
		everyoneAlive(step.name + ": every agent lists five members alive")
		t.Logf("%s: applied everywhere and checked in %v", step.name, time.Since(stepBegan).Round(time.Millisecond))
	}

	var suspects, heartbeats float64
	for i, p := range agents {
		m, err := p.metrics(t)
		if err != nil {
			t.Fatal(err)
		}
		log := p.log.String()
		dead := strings.Count(log, "msg=membership event=dead ")
		left := strings.Count(log, "msg=membership event=left ")
		suspect := strings.Count(log, "msg=membership event=suspect ")
		joins := strings.Count(log, "msg=membership event=join ")
		applied := strings.Count(log, `msg="key file applied"`)
		t.Logf("%v: %d join, %d suspect, %d dead, %d left events; %v heartbeats received during the rotation; %d reloads applied",
			p, joins, suspect, dead, left, m.heartbeats-before[i].heartbeats, applied)
		if dead != 0 || left != 0 || m.deaths != 0 || m.dead != 0 {
			t.Errorf("%v: %d dead and %d left events, %v deaths declared, %v members held dead: want none", p, dead, left, m.deaths, m.dead)
		}
		if joins != rotationNodes-1 {
			t.Errorf("%v logged %d join events, want %d (one per other member): are membership events logged at debug?", p, joins, rotationNodes-1)
		}
		if strings.Contains(log, "membership events dropped") {
			t.Errorf("%v dropped membership events, so its counts are incomplete:\n%s", p, log)
		}
		if during := log[logStart[i]:]; applied != 3 || strings.Contains(during, "level=WARN") || strings.Contains(during, "level=ERROR") {
			t.Errorf("%v: %d reloads applied, want 3, and no warning or error during the rotation:\n%s", p, applied, during)
		}
		if m.unknownKey != before[i].unknownKey || m.auth != before[i].auth {
			t.Errorf("%v dropped %v datagrams for an unknown key and %v for failed authentication during the rotation, want none",
				p, m.unknownKey-before[i].unknownKey, m.auth-before[i].auth)
		}
		if strings.Contains(log, hexKey(oldKey)) || strings.Contains(log, hexKey(newKey)) {
			t.Errorf("%v's log shows key bytes", p)
		}
		suspects += float64(suspect)
		heartbeats += m.heartbeats - before[i].heartbeats
	}
	t.Logf("%d agents formed a cluster in %v; rotated in %v: %v suspect events, 0 dead, %v heartbeats received",
		rotationNodes, formed.Round(time.Millisecond), (time.Since(began) - formed).Round(time.Millisecond), suspects, heartbeats)

	// The agents stop cleanly: each leaves and exits 0.
	for _, p := range agents {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range agents {
		select {
		case <-p.exited:
			if p.err != nil {
				t.Errorf("%v exited with %v after SIGTERM, want 0:\n%s", p, p.err, p.log)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("%v: no exit within 15 s of SIGTERM", p)
		}
	}
}

// hexKey is a key as a key file and a careless log would show it.
func hexKey(k []byte) string { return fmt.Sprintf("%x", k) }

package main

import (
	"context"
	"errors"
	stdlog "log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hearsay-io/hearsay"
)

// joinAttempt bounds one Join call; the agent logs and calls Join again
// (which replaces the attempt) until it succeeds or the agent stops.
const joinAttempt = 10 * time.Second

// agent is one running member: the node, its event log, its join loop and
// its HTTP server.
type agent struct {
	set     settings
	log     *slog.Logger
	warn    *warner // rate-limited warnings
	node    *hearsay.Node
	sub     *hearsay.Subscription // membership and state events, for the debug log
	selfSub *hearsay.Subscription // EventSelfDead and EventSelfAlive
	keys    *keyring              // the key bytes behind node.KeyIDs, for SIGHUP
	start   time.Time

	joined   atomic.Bool // Join succeeded, or there was no seed to join through
	leaving  atomic.Bool // shutdown began
	selfDead atomic.Bool // the cluster holds this node dead or left; it has not refuted yet

	ln  net.Listener // nil without HTTP
	srv *http.Server

	stopJoin context.CancelFunc
	wg       sync.WaitGroup
}

// startAgent starts the node, publishes the configured state, starts the
// HTTP server and the join loop. On error nothing is left running.
func startAgent(set settings, log *slog.Logger) (*agent, error) {
	set.cfg.Logger = log
	a := &agent{set: set, log: log, warn: newWarner(log),
		keys: newKeyring(set.cfg.Keys), start: time.Now()}
	node, err := hearsay.NewNode(set.cfg)
	if err != nil {
		return nil, err
	}
	a.node = node
	// Subscribe before joining, so that the debug log shows every member
	// the join brings.
	a.subscribe()
	for _, k := range sortedKeys(set.state) {
		if err := node.SetState([]byte(k), []byte(set.state[k])); err != nil {
			node.Close()
			return nil, err
		}
	}
	if set.http.network != "" {
		ln, err := listenHTTP(set.http)
		if err != nil {
			node.Close()
			return nil, err
		}
		a.ln = ln
		a.srv = &http.Server{
			Handler:           a.handler(),
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       10 * time.Second,
			WriteTimeout:      10 * time.Second,
			IdleTimeout:       time.Minute,
			ErrorLog:          stdlog.New(errorLogWriter{a.warn}, "", 0),
		}
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("HTTP server stopped", "err", err)
			}
		}()
		log.Info("serving HTTP", "addr", set.http.String(), "paths", "/members /state /healthz /metrics /config")
	}
	a.wg.Add(1)
	go a.readEvents()
	ctx, cancel := context.WithCancel(context.Background())
	a.stopJoin = cancel
	a.wg.Add(1)
	go a.joinLoop(ctx)
	return a, nil
}

// listenHTTP listens on a TCP address or a unix socket. A unix socket file
// left by an agent that died is removed; one that answers is in use.
func listenHTTP(l listenAddr) (net.Listener, error) {
	if l.network == "unix" {
		if fi, err := os.Lstat(l.address); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if c, err := net.DialTimeout("unix", l.address, time.Second); err == nil {
				c.Close()
				return nil, &net.OpError{Op: "listen", Net: "unix", Err: errors.New("socket in use by a running process")}
			}
			os.Remove(l.address)
		}
	}
	return net.Listen(l.network, l.address)
}

// joinLoop joins the cluster through the configured seeds, retrying until
// it succeeds or ctx ends; each attempt resolves the seed names again. A
// node without seeds (other than itself) starts a new cluster and counts as
// joined. Once joined, the node re-contacts its seeds (names resolved again
// each time) every SeedInterval.
func (a *agent) joinLoop(ctx context.Context) {
	defer a.wg.Done()
	if len(a.set.cfg.Seeds) == 0 && len(a.set.cfg.SeedNames) == 0 {
		a.log.Info("no seeds: this node starts a new cluster; others join through it")
		a.joined.Store(true)
		return
	}
	for attempt := 1; ctx.Err() == nil; attempt++ {
		began := time.Now()
		actx, cancel := context.WithTimeout(ctx, joinAttempt)
		err := a.node.Join(actx)
		cancel()
		switch {
		case err == nil:
			a.joined.Store(true)
			return
		case errors.Is(err, hearsay.ErrNoSeeds):
			a.log.Info("the only seed is this node: it starts a new cluster; others join through it")
			a.joined.Store(true)
			return
		case errors.Is(err, hearsay.ErrClosed), errors.Is(err, hearsay.ErrLeft), ctx.Err() != nil:
			return
		}
		a.warn.warn("join not complete yet; retrying", "attempt", attempt, "err", err)
		// Join returns early only on a bug or a closed node; never spin.
		if wait := time.Second - time.Since(began); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// status reports whether the agent is running as a cluster member (joined,
// not leaving, not held dead) and names its condition, with a sentence for
// the operator when it is not ok.
func (a *agent) status() (ok bool, status, reason string) {
	switch {
	case a.leaving.Load():
		return false, "leaving", "the node is leaving the cluster (shutting down)"
	case !a.joined.Load():
		return false, "joining", "the node has not joined yet: it is contacting its seeds"
	case a.selfDead.Load():
		return false, "rejoining", "the cluster holds this node dead or left; it refutes once " +
			strconv.Itoa(a.node.Config().RejoinProbes) + " random members (RejoinProbes) answer its probes"
	}
	return true, "ok", ""
}

// shutdown leaves the cluster within the leave timeout (cut short when
// interrupt delivers a value), closes the node and stops the HTTP server.
func (a *agent) shutdown(interrupt <-chan struct{}) {
	a.leaving.Store(true)
	a.stopJoin()
	ctx, cancel := context.WithTimeout(context.Background(), a.set.leaveTimeout)
	defer cancel()
	go func() {
		select {
		case <-interrupt:
			a.log.Warn("second signal: not waiting for the leave to spread")
			cancel()
		case <-ctx.Done():
		}
	}()
	began := time.Now()
	if err := a.node.Leave(ctx); err != nil {
		a.log.Warn("leave did not finish; closing anyway", "err", err, "waited", time.Since(began).Round(time.Millisecond))
	}
	if err := a.node.Close(); err != nil {
		a.log.Warn("closing the node", "err", err)
	}
	if a.srv != nil {
		hctx, hcancel := context.WithTimeout(context.Background(), time.Second)
		if err := a.srv.Shutdown(hctx); err != nil {
			a.srv.Close()
		}
		hcancel()
	}
	a.wg.Wait()
}

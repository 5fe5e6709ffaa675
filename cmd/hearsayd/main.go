package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes.
const (
	exitOK      = 0 // ran and shut down on a signal
	exitRuntime = 1 // could not start (socket, HTTP listener)
	exitUsage   = 2 // bad flags or configuration
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, sigs, nil))
}

// run is the whole agent: it parses args, starts the member, waits for a
// signal on sigs, then leaves and stops. SIGHUP re-reads the key file
// instead of stopping. ready, when set, is called with the running agent
// (tests use it to find its addresses). -version prints to stdout,
// everything else goes to stderr. It returns the exit code.
func run(args []string, stdout, stderr io.Writer, sigs <-chan os.Signal, ready func(*agent)) int {
	opts, err := parseArgs(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errVersion):
		fmt.Fprintln(stdout, readBuildInfo().String())
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "hearsayd: %v\n", err)
		return exitUsage
	}
	log, err := newLogger(stderr, opts.LogLevel, opts.LogFormat)
	if err != nil {
		fmt.Fprintf(stderr, "hearsayd: %v\n", err)
		return exitUsage
	}
	set, err := opts.build(context.Background(), systemResolver)
	if err != nil {
		fmt.Fprintf(stderr, "hearsayd: invalid configuration:\n%v\n", err)
		return exitUsage
	}
	if set.idCreated {
		log.Info("created the ID file; restarts keep this ID", "file", opts.IDFile, "id", set.cfg.ID.String())
	}
	a, err := startAgent(set, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitRuntime
	}
	if set.keyWarning != "" {
		a.warn.warn(set.keyWarning)
	}
	if ready != nil {
		ready(a)
	}
	sig := a.awaitStop(sigs)
	log.Info("signal received: leaving the cluster", "signal", sig.String(), "timeout", set.leaveTimeout)
	second, done := make(chan struct{}), make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGHUP {
					continue // no reload while leaving
				}
				close(second)
			case <-done:
			}
			return
		}
	}()
	a.shutdown(second)
	close(done)
	log.Info("stopped")
	return exitOK
}

// awaitStop waits for a signal that stops the agent and returns it;
// SIGHUP re-reads the key file and goes on waiting.
func (a *agent) awaitStop(sigs <-chan os.Signal) os.Signal {
	for {
		sig := <-sigs
		if sig != syscall.SIGHUP {
			return sig
		}
		if _, err := a.reloadKeys(); err != nil {
			a.log.Error("SIGHUP: key file not applied", "err", err, "keys", keyIDList(a.node.KeyIDs()))
		}
	}
}

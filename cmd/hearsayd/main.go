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
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	os.Exit(run(os.Args[1:], os.Stderr, sigs, nil))
}

// run is the whole agent: it parses args, starts the member, waits for a
// signal on sigs, then leaves and stops. ready, when set, is called with the
// running agent (tests use it to find its addresses). It returns the exit
// code.
func run(args []string, stderr io.Writer, sigs <-chan os.Signal, ready func(*agent)) int {
	opts, err := parseArgs(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
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
	if set.keyWarning != "" {
		log.Warn(set.keyWarning)
	}
	if set.idCreated {
		log.Info("created the ID file; restarts keep this ID", "file", opts.IDFile, "id", set.cfg.ID.String())
	}
	a, err := startAgent(set, log)
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitRuntime
	}
	if ready != nil {
		ready(a)
	}
	sig := <-sigs
	log.Info("signal received: leaving the cluster", "signal", sig.String(), "timeout", set.leaveTimeout)
	second, done := make(chan struct{}), make(chan struct{})
	go func() {
		select {
		case <-sigs:
			close(second)
		case <-done:
		}
	}()
	a.shutdown(second)
	close(done)
	log.Info("stopped")
	return exitOK
}

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
)

// -busy K starts K other processes that do nothing but spin, for the whole
// run, so that a real-UDP cluster runs on cores that are also busy with
// other work, as a node shares its host with the service it serves. Each
// is gossipbench itself, started again with busyEnv set; it spins on one
// thread until its standard input closes, which happens when the run ends
// or when this process dies for any reason, so no busy loop outlives it.
const busyEnv = "GOSSIPBENCH_BUSY_LOOP"

// isBusyLoop reports whether this process was started as a busy loop.
func isBusyLoop() bool { return os.Getenv(busyEnv) == "1" }

// busyLoop spins until standard input is closed, then exits.
func busyLoop() {
	runtime.GOMAXPROCS(1)
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	var x uint64
	for {
		x++
	}
}

// busyLoops are the running busy-loop processes.
type busyLoops struct {
	cmds  []*exec.Cmd
	pipes []io.Closer
}

// startBusy starts k busy-loop processes.
func startBusy(k int) (*busyLoops, error) {
	b := &busyLoops{}
	if k == 0 {
		return b, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("-busy: %w", err)
	}
	for range k {
		cmd := exec.Command(exe)
		cmd.Env = append(os.Environ(), busyEnv+"=1")
		w, err := cmd.StdinPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			b.stop()
			return nil, fmt.Errorf("-busy: starting a busy loop: %w", err)
		}
		b.cmds = append(b.cmds, cmd)
		b.pipes = append(b.pipes, w)
	}
	return b, nil
}

// stop ends the busy loops and waits for them.
func (b *busyLoops) stop() error {
	var errs []error
	for k, cmd := range b.cmds {
		b.pipes[k].Close()
		cmd.Process.Kill()
		if err := cmd.Wait(); err != nil && !exited(err) {
			errs = append(errs, err)
		}
	}
	b.cmds, b.pipes = nil, nil
	return errors.Join(errs...)
}

// exited reports whether err only says that the process exited, killed or
// at the end of its input, which is all stop asks of it.
func exited(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

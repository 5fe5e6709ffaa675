package main

import (
	"bytes"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"

	"github.com/hearsay-io/hearsay/bench"
)

// commandLine formats a command line for reading and for pasting into a
// POSIX shell: arguments that need it are single-quoted.
func commandLine(name string, args []string) string {
	parts := []string{name}
	for _, a := range args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell unless it is made only of
// characters that need no quoting.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	plain := true
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("_./=,:+@%-", r):
		default:
			plain = false
		}
	}
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// maxModified bounds the paths a Source lists.
const maxModified = 50

// source identifies the commit the working directory is at, with git,
// and whether the tree differs from it. The results directory,
// bench/results, does not count: the runs of scripts/figures.sh write
// there one after the other, and what they write changes no code.
// Without git (or outside a
// repository) it falls back to what the Go toolchain stamped into the
// binary (go build stamps it; go run does not), and returns nil when
// neither knows.
func source() *bench.Source {
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		s := &bench.Source{Commit: strings.TrimSpace(string(out))}
		// Porcelain lines are "XY path"; untracked files count too, since
		// a new file in a package changes what is built.
		if st, err := exec.Command("git", "status", "--porcelain=v1", "--", ":(top,exclude)bench/results").Output(); err == nil {
			for _, line := range bytes.Split(bytes.TrimRight(st, "\n"), []byte("\n")) {
				if len(line) < 4 {
					continue
				}
				s.Dirty = true
				if len(s.Modified) < maxModified {
					s.Modified = append(s.Modified, string(line[3:]))
				} else {
					s.More++
				}
			}
		}
		return s
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	var s bench.Source
	for _, kv := range info.Settings {
		switch kv.Key {
		case "vcs.revision":
			s.Commit = kv.Value
		case "vcs.modified":
			s.Dirty = kv.Value == "true"
		}
	}
	if s.Commit == "" {
		return nil
	}
	return &s
}

// goEnv returns the environment variables that change how the Go runtime
// runs the process, where set.
func goEnv() map[string]string {
	var env map[string]string
	for _, k := range []string{"GOMAXPROCS", "GOMEMLIMIT", "GOGC", "GODEBUG"} {
		if v, ok := os.LookupEnv(k); ok {
			if env == nil {
				env = make(map[string]string)
			}
			env[k] = v
		}
	}
	return env
}

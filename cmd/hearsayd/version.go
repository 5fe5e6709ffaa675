package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// buildInfo is what the binary knows about its own build, from
// runtime/debug.ReadBuildInfo: the module version ("(devel)" for a build
// from a checkout, vX.Y.Z for go install of a release), the VCS revision and
// whether the work tree had changes (stamped by go build from a git
// checkout; absent with -buildvcs=false and in test binaries), and the Go
// version. Missing values are "unknown".
type buildInfo struct {
	module    string
	version   string
	revision  string
	time      string // commit time, RFC 3339
	modified  bool
	goVersion string
}

func readBuildInfo() buildInfo {
	b := buildInfo{module: "unknown", version: "unknown", revision: "unknown", goVersion: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if bi.Main.Path != "" {
		b.module = bi.Main.Path
	}
	if bi.Main.Version != "" {
		b.version = bi.Main.Version
	}
	if bi.GoVersion != "" {
		b.goVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.revision = s.Value
		case "vcs.time":
			b.time = s.Value
		case "vcs.modified":
			b.modified = s.Value == "true"
		}
	}
	return b
}

// String is the -version line, for example
//
//	hearsayd (devel) github.com/hearsay-io/hearsay revision 0123abcd… (2026-12-05T18:59:23Z, modified) go1.26.8
func (b buildInfo) String() string {
	var s strings.Builder
	s.WriteString("hearsayd " + b.version + " " + b.module + " revision " + b.revision)
	var notes []string
	if b.time != "" {
		notes = append(notes, b.time)
	}
	if b.modified {
		notes = append(notes, "modified")
	}
	if len(notes) > 0 {
		s.WriteString(" (" + strings.Join(notes, ", ") + ")")
	}
	s.WriteString(" " + b.goVersion)
	return s.String()
}

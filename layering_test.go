package hearsay_test

import (
	"bufio"
	"bytes"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/hearsay-io/hearsay"

// rule forbids a package (and everything it imports, transitively) from
// depending on some other packages.
type rule struct {
	pkg       string   // module-relative; "." is the root package
	forbidden []string // module-relative package paths; "." means the root package, "" anything outside the standard library
	why       string
}

var rules = []rule{
	{"codec", []string{"", "."}, "the wire format depends on the standard library only"},
	{"detector", []string{"netio", "engine", "."}, "detectors are pure values: no I/O, no protocol"},
	{"ring", []string{"netio", "engine", "."}, "the ring is a pure data structure: no I/O, no protocol"},
	{"netio", []string{"codec", "engine", "."}, "netio moves bytes and knows no message types"},
	{"engine", []string{".", "bench", "fuzz", "cmd"}, "the root package wraps the engine, never the other way round"},
	{".", []string{"bench", "fuzz", "cmd", "test"}, "the embedding API is the library and nothing else"},
}

// deps lists the transitive imports of pkg with whether each is in the
// standard library.
func deps(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}}", "./"+pkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./%s: %v\n%s", pkg, err, stderr.String())
	}
	m := make(map[string]bool)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		path, std, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			t.Fatalf("go list printed %q", sc.Text())
		}
		m[path] = std == "true"
	}
	return m
}

func TestLayering(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	full := func(p string) string {
		if p == "." {
			return module
		}
		return module + "/" + p
	}
	for _, r := range rules {
		self := full(r.pkg)
		for path, std := range deps(t, r.pkg) {
			if path == self {
				continue
			}
			for _, f := range r.forbidden {
				switch {
				case f == "" && !std:
					t.Errorf("%s imports %s, outside the standard library: %s", r.pkg, path, r.why)
				case f == ".":
					if path == module {
						t.Errorf("%s imports the root package: %s", r.pkg, r.why)
					}
				case f != "" && (path == full(f) || strings.HasPrefix(path, full(f)+"/")):
					t.Errorf("%s imports %s: %s", r.pkg, path, r.why)
				}
			}
		}
	}
}

// TestModuleDependencies checks that the module requires exactly the four
// dependencies of the design.
func TestModuleDependencies(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH")
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{if not .Main}}{{if not .Indirect}}{{.Path}}{{end}}{{end}}", "all").Output()
	if err != nil {
		t.Fatalf("go list -m all: %v", err)
	}
	want := map[string]bool{
		"golang.org/x/sys":              true,
		"golang.org/x/net":              true,
		"github.com/cespare/xxhash/v2":  true,
		"github.com/klauspost/compress": true,
	}
	got := map[string]bool{}
	for _, line := range strings.Fields(string(out)) {
		got[line] = true
	}
	for p := range got {
		if !want[p] {
			t.Errorf("go.mod requires %s directly; the design allows only x/sys, x/net, xxhash and klauspost/compress", p)
		}
	}
	for p := range want {
		if !got[p] {
			t.Errorf("go.mod does not require %s directly", p)
		}
	}
}

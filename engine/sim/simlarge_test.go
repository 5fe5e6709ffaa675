package sim_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSimLargeListed checks that make sim-large runs every test the race
// run skips: each test of this package that calls skipLargeUnderRace must
// be named in the Makefile's SIM_LARGE, or CI, which runs the race run
// and sim-large, would run it nowhere.
func TestSimLargeListed(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^SIM_LARGE = \^\(([A-Za-z0-9_|]+)\)\$\$$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile: no SIM_LARGE = ^(TestA|TestB|...)$$ line")
	}
	listed := strings.Split(string(m[1]), "|")
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	funcRE := regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]+)\(t \*testing\.T\) \{\n\tskipLargeUnderRace\(t\)`)
	found, calls := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		calls += strings.Count(string(b), "\tskipLargeUnderRace(t)\n")
		for _, sm := range funcRE.FindAllSubmatch(b, -1) {
			found++
			if name := string(sm[1]); !slices.Contains(listed, name) {
				t.Errorf("%s: %s skips under the race detector but is not in the Makefile's SIM_LARGE", f, name)
			}
		}
	}
	// Every call must be the first statement of its test, where the
	// pattern above finds it.
	if calls != found {
		t.Errorf("%d calls of skipLargeUnderRace, %d as the first statement of a test: put each first", calls, found)
	}
	if found == 0 {
		t.Error("no test calls skipLargeUnderRace: the pattern is stale")
	}
}

//go:build linux

package adversary

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"
)

// mode is how much the suite does: see the package documentation.
type mode int

const (
	modeOff mode = iota
	modeShort
	modeLong
)

// modeVar is the environment variable that turns the suite on.
const modeVar = "HEARSAY_ADVERSARY"

// suiteMode reads the mode from the environment; it fails t for a value it
// does not know, and skips t when the suite is off or go test -short runs.
func suiteMode(t *testing.T) mode {
	t.Helper()
	v := os.Getenv(modeVar)
	var m mode
	switch v {
	case "":
		t.Skipf("SKIP: the adversary suite is off; run it with %s=short (about 2 min) or %s=long (about 5 min)", modeVar, modeVar)
	case "short":
		m = modeShort
	case "long":
		m = modeLong
	default:
		t.Fatalf("%s=%q: want short or long (or unset to skip)", modeVar, v)
	}
	if testing.Short() {
		t.Skipf("SKIP: go test -short skips the adversary suite (%s=%s)", modeVar, v)
	}
	return m
}

// pick returns short in short mode and long in long mode.
func pick[T any](m mode, short, long T) T {
	if m == modeLong {
		return long
	}
	return short
}

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
	buildTook time.Duration
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// agentBinary builds cmd/hearsayd once per test binary and returns its
// path. GOFLAGS from the environment applies, as to any go command.
func agentBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		buildDir, buildErr = os.MkdirTemp("", "hsadv-bin-")
		if buildErr != nil {
			return
		}
		goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goCmd); err != nil {
			goCmd = "go"
		}
		buildBin = filepath.Join(buildDir, "hearsayd")
		out, err := exec.Command(goCmd, "build", "-o", buildBin, "github.com/hearsay-io/hearsay/cmd/hearsayd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building hearsayd: %v\n%s", err, out)
		}
		buildTook = time.Since(start)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildBin
}

// table formats rows as aligned columns, for t.Logf.
type table struct {
	b  strings.Builder
	tw *tabwriter.Writer
}

func newTable(header ...string) *table {
	tb := &table{}
	tb.tw = tabwriter.NewWriter(&tb.b, 2, 0, 2, ' ', tabwriter.AlignRight)
	tb.row(header...)
	return tb
}

func (tb *table) row(cells ...string) {
	fmt.Fprintln(tb.tw, strings.Join(cells, "\t")+"\t")
}

func (tb *table) String() string {
	tb.tw.Flush()
	return "\n" + tb.b.String()
}

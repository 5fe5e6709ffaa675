package deploy_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAgainstHearsayd builds hearsayd and checks the manifests against it.
func TestAgainstHearsayd(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH")
	}
	bin := filepath.Join(t.TempDir(), "hearsayd")
	build := exec.Command(goCmd, "build", "-o", bin, "github.com/hearsay-io/hearsay/cmd/hearsayd")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build cmd/hearsayd: %v\n%s", err, out)
	}
	m := loadManifests(t)
	c := m.container(t)

	code, usage := runHearsayd(t, bin, "-h")
	if code != 0 {
		t.Fatalf("hearsayd -h exit code = %d, want 0\n%s", code, usage)
	}
	spec := parseUsage(usage)
	if len(spec) < 10 || !spec["key-file"] {
		t.Fatalf("hearsayd -h lists flags %v: the usage format changed?\n%s", spec, usage)
	}

	t.Run("FlagsExist", func(t *testing.T) {
		// The manifest tests read args with knownFlags: it must be
		// hearsayd's set of flags.
		if !maps.Equal(knownFlags, spec) {
			t.Errorf("knownFlags (flags_test.go) = %v, but hearsayd -h lists %v (true: takes a value)", knownFlags, spec)
		}
		if _, err := parseArgs(c.Args, spec); err != nil {
			t.Errorf("statefulset.json: args %q: %v", c.Args, err)
		}
		instrs, _ := parseDockerfile(t)
		for _, in := range instrs {
			var words []string
			if in.cmd != "ENTRYPOINT" && in.cmd != "CMD" || json.Unmarshal([]byte(in.rest), &words) != nil {
				continue // the shell form is refused by TestDockerfile
			}
			if in.cmd == "ENTRYPOINT" && len(words) > 0 {
				words = words[1:] // the program
			}
			if _, err := parseArgs(words, spec); err != nil {
				t.Errorf("%s:%d: %s %q: %v", dockerfile, in.line, in.cmd, words, err)
			}
		}
	})

	// hearsayd checks its whole configuration before it starts anything and
	// reports every problem at once. Adding a -state with an over-long key
	// (-state adds, so it overrides nothing the manifest sets) makes any
	// command line a usage error: these runs start nothing, bind nothing,
	// write no ID file, and must report exactly the problems expected.
	poison := "-state=" + strings.Repeat("k", 300) + "=v"
	isPoison := func(p string) bool { return strings.HasPrefix(p, "state: key") }
	t.Run("ArgsAccepted", func(t *testing.T) {
		var key [32]byte
		for i := range key {
			key[i] = byte(i)
		}
		args := podArgs(t, c, base64.StdEncoding.EncodeToString(key[:])+"\n")
		code, out := runHearsayd(t, bin, append(args, poison)...)
		problems := configProblems(out)
		if code != 2 || len(problems) != 1 || !isPoison(problems[0]) {
			t.Errorf("hearsayd %q -state <300-byte key>=v: exit code %d, problems %q; want 2 and only the one about the state key\n%s",
				args, code, problems, out)
		}
	})

	t.Run("PlaceholderKeyRefused", func(t *testing.T) {
		ks, err := m.keySource(c, argsOf(t, c)["key-file"])
		if err != nil {
			t.Fatal(err)
		}
		content, ok, err := m.secret.value(ks.key)
		if !ok || err != nil {
			t.Fatalf("secret.example.json has no key %q (%v)", ks.key, err)
		}
		args := podArgs(t, c, content)
		code, out := runHearsayd(t, bin, append(args, poison)...)
		problems := configProblems(out)
		if code != 2 || !slices.ContainsFunc(problems, isPoison) || !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, "key file") }) {
			t.Errorf("hearsayd with secret.example.json's key: exit code %d, problems %q; want 2 and a key file error: "+
				"the example's placeholder must not be a usable key\n%s", code, problems, out)
		}
	})
}

// podArgs returns the container's args as the kubelet would pass them in
// a pod, made runnable here, each as -name=value: $(VAR) references take
// sample values, the seeds' host names (which resolve only in the
// cluster) become addresses, and files in volume mounts move to a
// temporary directory, the key file holding keyFile.
func podArgs(t *testing.T, c *container, keyFile string) []string {
	t.Helper()
	parsed, err := parseArgs(c.Args, knownFlags)
	if err != nil {
		t.Fatal(err)
	}
	sample := map[string]string{"status.podIP": "10.1.2.3", "metadata.namespace": "default"}
	dir := t.TempDir()
	var out []string
	keyPath := ""
	for _, a := range parsed {
		v := envRef.ReplaceAllStringFunc(a.value, func(ref string) string {
			f, _ := c.envField(envRef.FindStringSubmatch(ref)[1])
			s, ok := sample[f]
			if !ok {
				t.Fatalf("no sample value for %s (field %q)", ref, f)
			}
			return s
		})
		if a.name == "seeds" {
			seeds := strings.Split(v, ",")
			for i, s := range seeds {
				if _, port, err := net.SplitHostPort(s); err == nil {
					seeds[i] = net.JoinHostPort(fmt.Sprintf("10.1.3.%d", i+1), port)
				}
			}
			v = strings.Join(seeds, ",")
		}
		if vm, rel := c.mountOf(v); vm != nil {
			d := filepath.Join(dir, vm.Name)
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
			v = filepath.Join(d, filepath.FromSlash(rel))
		}
		if a.name == "key-file" {
			keyPath = v
		}
		out = append(out, "-"+a.name+"="+v)
	}
	if keyPath == "" {
		t.Fatal("no -key-file")
	}
	if err := os.WriteFile(keyPath, []byte(keyFile), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// configProblems returns the problems hearsayd listed after "invalid
// configuration:", one per line.
func configProblems(out string) []string {
	_, list, ok := strings.Cut(out, "invalid configuration:\n")
	if !ok {
		return nil
	}
	var problems []string
	for _, line := range strings.Split(list, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			problems = append(problems, line)
		}
	}
	return problems
}

// runHearsayd runs bin with args and returns its exit code and combined
// output. It never waits more than 10 s: every run here ends at once.
func runHearsayd(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case ctx.Err() != nil:
		t.Fatalf("hearsayd %q did not exit within 10 s: it started?\n%s", args, out.String())
	case errors.As(err, &exit):
		return exit.ExitCode(), out.String()
	}
	t.Fatalf("hearsayd %q: %v", args, err)
	return 0, ""
}

package deploy_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// dockerInstr is one instruction of a Dockerfile, continuation lines
// joined.
type dockerInstr struct {
	line int
	cmd  string // upper case
	rest string
}

// parseDockerfile returns the instructions of the Dockerfile and its
// comment text.
func parseDockerfile(t *testing.T) (instrs []dockerInstr, comments string) {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			comments += strings.TrimPrefix(trimmed, "#") + "\n"
			continue
		}
		if trimmed == "" && cur.Len() == 0 {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, rest, _ := strings.Cut(cur.String(), " ")
		instrs = append(instrs, dockerInstr{start, strings.ToUpper(cmd), strings.TrimSpace(rest)})
		cur.Reset()
	}
	return instrs, comments
}

// dockerStage is one FROM stage.
type dockerStage struct {
	image, name string
	instrs      []dockerInstr
}

func TestDockerfile(t *testing.T) {
	instrs, comments := parseDockerfile(t)
	args := map[string]string{} // ARG defaults
	var stages []*dockerStage
	for _, in := range instrs {
		switch in.cmd {
		case "ARG":
			name, def, _ := strings.Cut(in.rest, "=")
			if !regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `\b`).MatchString(comments) {
				t.Errorf("%s:%d: build argument %s is not documented in the comments", dockerfile, in.line, name)
			}
			if _, ok := args[name]; !ok || def != "" {
				args[name] = def
			}
			continue
		case "FROM":
			f := strings.Fields(in.rest)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--platform=") })
			st := &dockerStage{image: os.Expand(f[0], func(k string) string { return args[k] })}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s:%d: %s before FROM", dockerfile, in.line, in.cmd)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	if len(stages) < 2 {
		t.Fatalf("%s has %d stages, want a builder and a runtime stage", dockerfile, len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(build.image, "golang:1.26") {
		t.Errorf("builder image = %q, want golang:1.26", build.image)
	}
	if build.name == "" {
		t.Errorf("the builder stage has no name (FROM ... AS name)")
	}
	if v := args["BUILDVCS"]; v != "auto" && v != "true" && v != "false" {
		t.Errorf("BUILDVCS default = %q, want auto, true or false", v)
	}

	// The go build command and where it writes the binary.
	var goBuild string
	for _, in := range build.instrs {
		if in.cmd == "RUN" && strings.Contains(in.rest, "go build") {
			goBuild = in.rest
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-buildvcs=", "./cmd/hearsayd"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("the go build RUN lacks %s: %q", want, goBuild)
		}
	}
	if !regexp.MustCompile(`-ldflags[= ](["'])-s -w["']`).MatchString(goBuild) {
		t.Errorf("the go build RUN lacks -ldflags \"-s -w\": %q", goBuild)
	}
	out := regexp.MustCompile(`-o (\S+)`).FindStringSubmatch(goBuild)
	if out == nil {
		t.Fatalf("the go build RUN has no -o: %q", goBuild)
	}

	// The runtime stage: a static base, the binary, a non-root user, the
	// ports and the entrypoint.
	if !strings.HasPrefix(final.image, "gcr.io/distroless/static") && final.image != "scratch" {
		t.Errorf("runtime image = %q, want gcr.io/distroless/static... or scratch", final.image)
	}
	var bin, user, entrypoint string
	exposed := map[string]bool{}
	for _, in := range final.instrs {
		switch in.cmd {
		case "COPY":
			f := strings.Fields(in.rest)
			if len(f) == 3 && f[0] == "--from="+build.name && f[1] == out[1] {
				bin = f[2]
			}
		case "USER":
			user = in.rest
		case "EXPOSE":
			for _, p := range strings.Fields(in.rest) {
				if !strings.Contains(p, "/") {
					p += "/tcp"
				}
				exposed[strings.ToLower(p)] = true
			}
		case "ENTRYPOINT":
			entrypoint = in.rest
		}
	}
	if bin == "" {
		t.Errorf("the runtime stage does not COPY --from=%s %s", build.name, out[1])
	}
	uid, gid, _ := strings.Cut(user, ":")
	for _, id := range []string{uid, gid} {
		if n, err := strconv.Atoi(id); id != "" && (err != nil || n == 0) {
			t.Errorf("USER = %q, want a numeric non-root user (runAsNonRoot can check only numbers)", user)
		}
	}
	if uid == "" {
		t.Errorf("the runtime stage sets no USER")
	}
	var ep []string
	if err := json.Unmarshal([]byte(entrypoint), &ep); err != nil || len(ep) == 0 {
		t.Errorf("ENTRYPOINT %s: want the exec form, a JSON array (so that hearsayd is PID 1 and gets SIGTERM and SIGHUP)", entrypoint)
	} else if ep[0] != bin || path.Base(ep[0]) != "hearsayd" {
		t.Errorf("ENTRYPOINT = %q, want the copied binary %s", ep, bin)
	}

	// The image and the manifests agree on ports and user.
	m := loadManifests(t)
	c := m.container(t)
	want := map[string]bool{}
	for _, p := range c.Ports {
		proto := cmp.Or(p.Protocol, "TCP")
		want[fmt.Sprintf("%d/%s", p.ContainerPort, strings.ToLower(proto))] = true
	}
	if !maps.Equal(exposed, want) {
		t.Errorf("EXPOSE = %v, want the container ports %v", slices.Sorted(maps.Keys(exposed)), slices.Sorted(maps.Keys(want)))
	}
	if u := m.sts.Spec.Template.Spec.SecurityContext.RunAsUser; u != nil && strconv.FormatInt(*u, 10) != uid {
		t.Errorf("pod runAsUser = %d, Dockerfile USER = %s; want the same user", *u, uid)
	}
}

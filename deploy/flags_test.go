package deploy_test

import (
	"bufio"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// flagSpec is what hearsayd -h says about its flags: whether each takes a
// value (false: a boolean flag).
type flagSpec map[string]bool

// usageFlag matches a flag line of Go's flag.PrintDefaults: two spaces, the
// flag, and the value's name unless the flag is boolean.
var usageFlag = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9-]*)(?: (\S+))?$`)

func parseUsage(usage string) flagSpec {
	spec := flagSpec{}
	sc := bufio.NewScanner(strings.NewReader(usage))
	for sc.Scan() {
		if m := usageFlag.FindStringSubmatch(sc.Text()); m != nil {
			spec[m[1]] = m[2] != ""
		}
	}
	return spec
}

// arg is one flag of a command line, as Go's flag package reads it.
type arg struct {
	name, value string
}

// parseArgs splits args into flags the way package flag does: -name value,
// -name=value, --name; a boolean flag takes no separate value. It fails on
// a flag that spec lacks and on anything that is not a flag.
func parseArgs(args []string, spec flagSpec) ([]arg, error) {
	var out []arg
	for i := 0; i < len(args); i++ {
		s := args[i]
		if len(s) < 2 || s[0] != '-' {
			return nil, fmt.Errorf("argument %q is not a flag (hearsayd takes flags only)", s)
		}
		s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "-")
		name, value, hasValue := strings.Cut(s, "=")
		takesValue, known := spec[name]
		switch {
		case !known:
			return nil, fmt.Errorf("flag -%s is not in hearsayd -h", name)
		case takesValue && !hasValue:
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag -%s needs a value", name)
			}
			i++
			value = args[i]
		case !takesValue && !hasValue:
			value = "true"
		}
		out = append(out, arg{name, value})
	}
	return out, nil
}

// knownFlags is hearsayd's flags, so that the manifest checks need no
// build; TestAgainstHearsayd checks the args against the real binary.
var knownFlags = flagSpec{"advertise": true, "bind": true, "cluster": true, "config": true, "http": true,
	"id": true, "id-file": true, "key-file": true, "leave-timeout": true, "log-format": true,
	"log-level": true, "max-members": true, "name": true, "preset": true, "seeds": true, "state": true,
	"dual-stack": false, "open": false, "version": false}

// argsOf returns the container's args by flag name.
func argsOf(t *testing.T, c *container) map[string]string {
	t.Helper()
	parsed, err := parseArgs(c.Args, knownFlags)
	if err != nil {
		t.Fatalf("container args %q: %v", c.Args, err)
	}
	m := map[string]string{}
	for _, a := range parsed {
		if _, dup := m[a.name]; dup && a.name != "state" {
			t.Errorf("container args set -%s twice", a.name)
		}
		m[a.name] = a.value
	}
	return m
}

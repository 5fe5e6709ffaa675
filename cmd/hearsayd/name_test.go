package main

import (
	"os"
	"strings"
	"testing"

	"github.com/hearsay-io/hearsay"
)

// TestName checks -name: /members shows it for this node, a name the
// engine refuses is a usage error, and the default is this host's name.
func TestName(t *testing.T) {
	a := testAgent(t, "-open", "-name", "edge-1 (eu)")
	ms := decode[[]memberJSON](t, get(t, a, "/members"))
	if len(ms) != 1 || ms[0].Name != "edge-1 (eu)" || !ms[0].Self {
		t.Errorf("/members = %+v, want this node named %q", ms, "edge-1 (eu)")
	}
	for _, bad := range []string{strings.Repeat("x", hearsay.MaxNameSize+1), "tab\tname"} {
		o, err := parseArgs([]string{"-open", "-name", bad}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.build(t.Context(), systemResolver); err == nil || !strings.Contains(err.Error(), "Name") {
			t.Errorf("-name %q: build = %v, want an error about the name", bad, err)
		}
	}
	o, err := parseArgs([]string{"-open"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	set, err := o.build(t.Context(), systemResolver)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := os.Hostname(); err == nil && len(h) <= hearsay.MaxNameSize && set.cfg.Name != h {
		t.Errorf("default name %q, want the host name %q", set.cfg.Name, h)
	}
}

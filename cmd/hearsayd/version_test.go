package main

import (
	"runtime"
	"testing"
)

func TestBuildInfo(t *testing.T) {
	b := readBuildInfo()
	if b.version == "" || b.revision == "" || b.module == "" || b.goVersion != runtime.Version() {
		t.Errorf("readBuildInfo() = %+v; want every field set (unknown when missing), Go %s", b, runtime.Version())
	}
	for _, c := range []struct {
		b    buildInfo
		want string
	}{
		{buildInfo{module: "github.com/hearsay-io/hearsay", version: "v1.2.3", revision: "0123abcd", goVersion: "go1.26.8"},
			"hearsayd v1.2.3 github.com/hearsay-io/hearsay revision 0123abcd go1.26.8"},
		{buildInfo{module: "m", version: "(devel)", revision: "0123abcd", time: "2026-12-05T18:59:23Z", modified: true, goVersion: "go1.26.8"},
			"hearsayd (devel) m revision 0123abcd (2026-12-05T18:59:23Z, modified) go1.26.8"},
	} {
		if got := c.b.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.b, got, c.want)
		}
	}
}

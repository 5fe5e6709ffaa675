package main

import (
	"flag"
	"io"
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay"
)

// TestConfigCoversEngineConfig checks that /config reports every field of
// hearsay.Config (and of its nested structs) but the logger and the key
// bytes, so that a field the engine adds cannot be missed.
func TestConfigCoversEngineConfig(t *testing.T) {
	keys := writeKeys(t, t.TempDir()+"/keys", testKey(1))
	a := testAgent(t, "-key-file", keys)
	got := decode[map[string]any](t, get(t, a, "/config"))
	var walk func(path string, typ reflect.Type, obj map[string]any)
	walk = func(path string, typ reflect.Type, obj map[string]any) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if !f.IsExported() {
				continue
			}
			name := path + f.Name
			if configSkipped(f.Type) {
				if name != "Logger" && name != "Keys" && name != "Resolver" && name != "Admit" {
					t.Errorf("hearsay.Config.%s (%v) is left out of /config; render it (never as key bytes)", name, f.Type)
				}
				continue
			}
			key := configKey(f.Name)
			v, ok := obj[key]
			if !ok {
				t.Errorf("/config lacks %q for hearsay.Config.%s", key, name)
				continue
			}
			if sub, ok := v.(map[string]any); ok && f.Type.Kind() == reflect.Struct {
				walk(name+".", f.Type, sub)
			}
		}
	}
	walk("", reflect.TypeFor[hearsay.Config](), got)
	// Values as the node runs with them.
	c := a.node.Config()
	for key, want := range map[string]any{
		"id":                a.node.ID().String(),
		"generation":        float64(c.Generation),
		"bind":              a.node.LocalAddr().String(),
		"max_members":       float64(c.MaxMembers),
		"max_refutations":   float64(c.MaxRefutations),
		"max_transfers":     float64(c.MaxTransfers),
		"refutation_window": c.RefutationWindow.String(),
		"seeds":             []any{},
		"resolver":          "system",
		"key_file":          keys,
	} {
		if g := got[key]; !reflect.DeepEqual(g, want) {
			t.Errorf("/config %s = %#v, want %#v", key, g, want)
		}
	}
	if _, ok := got["keys"]; ok {
		t.Error("/config has a keys field; want key_ids only")
	}
}

func TestConfigValue(t *testing.T) {
	for _, c := range []struct {
		in   any
		want any
	}{
		{1500 * time.Millisecond, "1.5s"},
		{[][]byte{{1, 2}}, nil},
		{[]byte{1}, nil},
		{struct{ MinStdDev time.Duration }{time.Second}, map[string]any{"min_std_dev": "1s"}},
		{hearsay.ID(0xff), "00000000000000ff"},
		{netip.MustParseAddrPort("[::1]:7946"), "[::1]:7946"},
		{[]netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:1")}, []any{"10.0.0.1:1"}},
		{time.Unix(0, 0).UTC(), "1970-01-01T00:00:00Z"},
		{3, 3},
	} {
		got, ok := configValue(reflect.ValueOf(c.in))
		if (c.want == nil) == ok || (ok && !reflect.DeepEqual(got, c.want)) {
			t.Errorf("configValue(%#v) = %#v, %v; want %#v", c.in, got, ok, c.want)
		}
	}
}

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"ID":                "id",
		"MinStdDev":         "min_std_dev",
		"MaxTransfers":      "max_transfers",
		"HeartbeatInterval": "heartbeat_interval",
		"MaxReplyBytes":     "max_reply_bytes",
		"TTL":               "ttl",
	} {
		if got := snakeCase(in); got != want {
			t.Errorf("snakeCase(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConfigCoversFlags checks that /config reports every setting the
// agent takes, under its flag's name in snake case, with the value in
// effect.
func TestConfigCoversFlags(t *testing.T) {
	dir := t.TempDir()
	keys := writeKeys(t, filepath.Join(dir, "keys"), testKey(1))
	idFile := filepath.Join(dir, "id")
	configFile := writeFile(t, dir, "hearsayd.json", `{"cluster": "c1", "log_format": "json"}`, 0o600)
	a := testAgent(t, "-config", configFile, "-key-file", keys, "-id-file", idFile, "-state", "role=cache",
		"-http", "127.0.0.1:0", "-name", "n1")
	got := decode[map[string]any](t, get(t, a, "/config"))

	renames := map[string]string{"config": "config_file"}
	newFlagSet(io.Discard, &flagValues{}).VisitAll(func(f *flag.Flag) {
		if f.Name == "version" {
			return // not a setting
		}
		key := strings.ReplaceAll(f.Name, "-", "_")
		if r, ok := renames[key]; ok {
			key = r
		}
		if _, ok := got[key]; !ok {
			t.Errorf("/config lacks %q for -%s", key, f.Name)
		}
	})
	for key, want := range map[string]any{
		"config_file":   configFile,
		"cluster":       "c1",
		"key_file":      keys,
		"id_file":       idFile,
		"http":          a.ln.Addr().String(),
		"log_level":     "info",
		"log_format":    "json",
		"leave_timeout": "2s",
		"preset":        "local",
		"state":         map[string]any{"role": "cache"},
		"name":          "n1",
		"dual_stack":    false,
		"open":          false,
	} {
		if g := got[key]; !reflect.DeepEqual(g, want) {
			t.Errorf("/config %s = %#v, want %#v", key, g, want)
		}
	}
	if h, _ := got["http"].(string); strings.HasSuffix(h, ":0") {
		t.Errorf("/config http = %q, want the port the system chose", h)
	}
	off := testAgent(t, "-open")
	if g := decode[map[string]any](t, get(t, off, "/config"))["http"]; g != "off" {
		t.Errorf("/config http = %#v with -http off, want \"off\"", g)
	}
}

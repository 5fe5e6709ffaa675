package main

import (
	"encoding"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strings"
	"unicode"
)

// /config reports the configuration in effect: every field of
// hearsay.Config as the node runs with it (defaults applied), rendered by
// reflection so that a field the engine adds appears without a change
// here, plus the agent's own settings. Keys are named as they are:
//
//   - a Config field's key is its name in snake case (HeartbeatInterval:
//     heartbeat_interval, Phi.MinStdDev: phi.min_std_dev), except
//     ClusterName (cluster), BindAddr (bind: the bound socket, with the
//     port the system chose), AdvertiseAddr (advertise) and Keys;
//   - values with a text form are shown as text: durations in
//     time.Duration's ("1.5s"), addresses in netip's, enumerations
//     (detector.Distribution) by name; nested structs (Phi, Suspicion)
//     are objects;
//   - Keys is reported as key_ids: the IDs (hearsay.KeyID) of the keys the
//     node holds now, after SIGHUP reloads, primary first. Key bytes are
//     never shown: no byte slice of the configuration is, and fields that
//     are functions, interfaces, pointers or channels (Logger) are left
//     out;
//   - Resolver is reported as resolver: "system" for the system's
//     resolver, else its type.
//
// The agent adds its own settings, each under its flag's name in snake
// case: config_file (-config), preset, key_file, id_file, http (the
// address the HTTP server listens on, with the port the system chose, or
// "off"), log_level, log_format, leave_timeout and state (the -state
// entries published at start; /state has the node's current state).
// TestConfigCoversFlags checks that every flag has its key.

// configRenames are the Config fields whose /config key is not their snake
// case name.
var configRenames = map[string]string{
	"ClusterName":   "cluster",
	"BindAddr":      "bind",
	"AdvertiseAddr": "advertise",
}

// configSkipped reports whether a Config field of type t is left out of
// /config: it holds bytes (keys) or is not a value (a logger).
func configSkipped(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Func, reflect.Interface, reflect.Pointer, reflect.Chan, reflect.UnsafePointer:
		return true
	case reflect.Slice, reflect.Array:
		return t.Elem().Kind() == reflect.Uint8 || configSkipped(t.Elem())
	}
	return false
}

var (
	textType     = reflect.TypeFor[encoding.TextMarshaler]()
	stringerType = reflect.TypeFor[fmt.Stringer]()
)

// configValue renders one configuration value for JSON; ok is false for a
// value left out (see configSkipped). A value with a text form
// (encoding.TextMarshaler, then fmt.Stringer: netip.AddrPort,
// time.Duration, detector.Distribution) is shown as that text.
func configValue(v reflect.Value) (any, bool) {
	t := v.Type()
	switch {
	case configSkipped(t):
		return nil, false
	case t.Implements(textType):
		b, err := v.Interface().(encoding.TextMarshaler).MarshalText()
		if err != nil {
			return err.Error(), true
		}
		return string(b), true
	case t.Kind() != reflect.String && t.Implements(stringerType):
		return v.Interface().(fmt.Stringer).String(), true
	case t.Kind() == reflect.Struct:
		return configObject(v), true
	case t.Kind() == reflect.Slice || t.Kind() == reflect.Array:
		out := make([]any, 0, v.Len())
		for i := range v.Len() {
			if x, ok := configValue(v.Index(i)); ok {
				out = append(out, x)
			}
		}
		return out, true
	}
	return v.Interface(), true
}

// configObject renders a struct's exported fields by snake-case name.
func configObject(v reflect.Value) map[string]any {
	t := v.Type()
	out := make(map[string]any, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		if x, ok := configValue(v.Field(i)); ok {
			out[configKey(f.Name)] = x
		}
	}
	return out
}

// configKey is a field's /config key.
func configKey(field string) string {
	if k, ok := configRenames[field]; ok {
		return k
	}
	return snakeCase(field)
}

// snakeCase turns a Go field name into lower snake case, keeping runs of
// capitals together: MinStdDev min_std_dev, ID id, MaxTransfers
// max_transfers.
func snakeCase(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 &&
			(unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// configMap is the body of /config.
func (a *agent) configMap() map[string]any {
	c := a.node.Config()
	out := configObject(reflect.ValueOf(c))
	out["id"] = a.node.ID().String()
	out["bind"] = a.node.LocalAddr().String()
	out["advertise"] = a.node.Addr().String()
	ids := a.node.KeyIDs()
	keyIDs := make([]string, len(ids))
	for i, id := range ids {
		keyIDs[i] = id.String()
	}
	out["key_ids"] = keyIDs
	out["resolver"] = "system"
	if c.Resolver != nil && c.Resolver != net.DefaultResolver {
		out["resolver"] = fmt.Sprintf("%T", c.Resolver)
	}
	out["config_file"] = a.set.configFile
	out["preset"] = a.set.preset
	out["key_file"] = a.set.keyFile
	out["id_file"] = a.set.idFile
	out["http"] = "off"
	if a.ln != nil {
		out["http"] = a.set.http.String()
		if a.set.http.network == "tcp" {
			out["http"] = a.ln.Addr().String()
		}
	}
	out["log_level"] = a.set.logLevel
	out["log_format"] = a.set.logFormat
	out["leave_timeout"] = a.set.leaveTimeout.String()
	state := make(map[string]string, len(a.set.state))
	for k, v := range a.set.state {
		state[k] = v
	}
	out["state"] = state
	return out
}

func (a *agent) serveConfig(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, a.configMap())
}

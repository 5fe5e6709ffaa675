package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Defaults of the agent's own settings (the protocol's come from the preset).
const (
	defaultBind         = "0.0.0.0:7946"
	defaultHTTP         = "127.0.0.1:7947"
	defaultPreset       = "lan"
	defaultLeaveTimeout = 5 * time.Second
)

// options are the agent's settings: flags over an optional JSON config file
// over defaults. Every field is a string or plain value as the operator gave
// it; build turns them into a hearsay.Config and checks them.
type options struct {
	Config       string // the config file read, if any
	Bind         string
	Advertise    string
	Seeds        []string
	Cluster      string
	KeyFile      string
	Open         bool // run without keys; exclusive with KeyFile
	MaxMembers   int  // hearsay.Config.MaxMembers; 0: the engine's default
	Preset       string
	ID           string
	IDFile       string
	HTTP         string
	LogLevel     string
	LogFormat    string
	DualStack    bool
	LeaveTimeout time.Duration
	State        map[string]string
	Name         string // hearsay.Config.Name; empty: this host's name
}

func defaultOptions() options {
	return options{
		Bind:         defaultBind,
		Preset:       defaultPreset,
		HTTP:         defaultHTTP,
		LogLevel:     "info",
		LogFormat:    "text",
		LeaveTimeout: defaultLeaveTimeout,
	}
}

// fileConfig is the JSON config file. Every field is optional; unknown
// fields are an error, so that a typo does not silently keep a default.
// Relative key_file and id_file paths are relative to the config file.
type fileConfig struct {
	Bind         *string           `json:"bind"`
	Advertise    *string           `json:"advertise"`
	Seeds        []string          `json:"seeds"`
	Cluster      *string           `json:"cluster"`
	KeyFile      *string           `json:"key_file"`
	Open         *bool             `json:"open"`
	MaxMembers   *int              `json:"max_members"`
	Preset       *string           `json:"preset"`
	ID           *string           `json:"id"`
	IDFile       *string           `json:"id_file"`
	HTTP         *string           `json:"http"`
	LogLevel     *string           `json:"log_level"`
	LogFormat    *string           `json:"log_format"`
	DualStack    *bool             `json:"dual_stack"`
	LeaveTimeout *string           `json:"leave_timeout"`
	State        map[string]string `json:"state"`
	Name         *string           `json:"name"`
}

// flagValues receives the command line; only flags the operator set are
// applied over the file and the defaults.
type flagValues struct {
	config, bind, advertise, seeds, cluster, keyFile, preset string
	id, idFile, http, logLevel, logFormat, name              string
	dualStack, open, version                                 bool
	maxMembers                                               int
	leaveTimeout                                             time.Duration
	state                                                    map[string]string
}

// errVersion is returned by parseArgs for -version: print the version and
// exit 0.
var errVersion = errors.New("version requested")

func newFlagSet(out io.Writer, v *flagValues) *flag.FlagSet {
	d := defaultOptions()
	fs := flag.NewFlagSet("hearsayd", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&v.config, "config", "", "JSON config `file`; flags override its settings")
	fs.StringVar(&v.bind, "bind", d.Bind, "UDP `address:port` to listen on for the gossip protocol")
	fs.StringVar(&v.advertise, "advertise", "", "`address:port` other members reach this node at (default: the bind address, or one of this host's when that is unspecified)")
	fs.StringVar(&v.seeds, "seeds", "", "comma-separated `seeds` to join through and re-contact: ip:port, host:port or SRV names (_gossip._udp.name), names resolved before every contact; this node's own address is skipped")
	fs.StringVar(&v.cluster, "cluster", "", "cluster `name`; datagrams of other clusters are dropped (default \"hearsay\")")
	fs.StringVar(&v.keyFile, "key-file", "", "`file` of AES keys sealing every datagram, one per line in hex or base64; the first seals, all open; SIGHUP re-reads it (required unless -open)")
	fs.BoolVar(&v.open, "open", false, "run an open cluster, without keys: datagrams are neither sealed nor authenticated, so forged, overheard and replayed datagrams are not refused; for trusted networks only; excludes -key-file")
	fs.IntVar(&v.maxMembers, "max-members", 0, "bound the membership table to `n` members; records of new members beyond it are dropped and counted (0: the engine's default)")
	fs.StringVar(&v.preset, "preset", d.Preset, "protocol timing `preset`: lan, wan or local")
	fs.StringVar(&v.id, "id", "", "member `ID` (16 hex digits); default: read from -id-file, or random")
	fs.StringVar(&v.idFile, "id-file", "", "`file` holding the member ID, created on first start, so that restarts keep the ID")
	fs.StringVar(&v.http, "http", d.HTTP, "HTTP listen `address` (host:port, unix:/path, or off)")
	fs.StringVar(&v.logLevel, "log-level", d.LogLevel, "log `level`: debug (adds every membership event), info, warn or error")
	fs.StringVar(&v.logFormat, "log-format", d.LogFormat, "log `format`: text or json")
	fs.BoolVar(&v.dualStack, "dual-stack", false, "let an IPv6 bind address accept IPv4 too")
	fs.DurationVar(&v.leaveTimeout, "leave-timeout", d.LeaveTimeout, "how long a graceful shutdown waits for the leave to spread")
	fs.BoolVar(&v.version, "version", false, "print the version and VCS revision and exit")
	fs.StringVar(&v.name, "name", "", "human-readable member `name` every member shows (at most 64 bytes of UTF-8; default: this host's name)")
	fs.Func("state", "application state `key=value` to publish at start (repeatable)", func(s string) error {
		k, val, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want key=value, got %q", s)
		}
		if v.state == nil {
			v.state = map[string]string{}
		}
		v.state[k] = val
		return nil
	})
	fs.Usage = func() { fmt.Fprint(fs.Output(), usageHeader); fs.PrintDefaults() }
	return fs
}

// usageHeader leads the -h text: keys first, as the package documentation.
const usageHeader = `Usage: hearsayd -key-file FILE [flags]
       hearsayd -open [flags]    (trusted networks only)

Runs one Hearsay cluster member and serves its view over HTTP.

Every datagram is sealed and authenticated with the cluster's keys, read from
-key-file (one key per line; make one with: head -c 32 /dev/urandom | base64).
For example:

  hearsayd -key-file /etc/hearsay/keys -id-file /var/lib/hearsay/id \
      -bind 10.0.0.1:7946 -seeds 10.0.0.2:7946,10.0.0.3:7946

Rotate keys without a restart: edit the key file on every node and send
SIGHUP, in three rounds (add the new key second; move it first; remove the
old one), each round on every node before the next.

-open runs without keys instead. An open cluster cannot refuse datagrams
forged with a spoofed source address (a heartbeat keeping a crashed member
alive, false claims about members), cannot hide its traffic from anyone on
the path, and cannot detect replayed datagrams. Use it only on a network
where nobody untrusted can send to or listen on the port.

Flags:

`

// parseArgs reads the command line and the config file it names. It
// returns flag.ErrHelp for -h and errVersion for -version.
func parseArgs(args []string, out io.Writer) (options, error) {
	var v flagValues
	fs := newFlagSet(out, &v)
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	if v.version {
		return options{}, errVersion
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q: every setting is a flag", fs.Args())
	}
	o := defaultOptions()
	if v.config != "" {
		if err := o.loadFile(v.config); err != nil {
			return options{}, err
		}
	}
	var errs []error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "bind":
			o.Bind = v.bind
		case "advertise":
			o.Advertise = v.advertise
		case "seeds":
			o.Seeds = splitList(v.seeds)
		case "cluster":
			o.Cluster = v.cluster
		case "key-file":
			o.KeyFile = v.keyFile
		case "open":
			o.Open = v.open
		case "max-members":
			o.MaxMembers = v.maxMembers
		case "preset":
			o.Preset = v.preset
		case "id":
			o.ID = v.id
		case "id-file":
			o.IDFile = v.idFile
		case "http":
			o.HTTP = v.http
		case "log-level":
			o.LogLevel = v.logLevel
		case "log-format":
			o.LogFormat = v.logFormat
		case "dual-stack":
			o.DualStack = v.dualStack
		case "leave-timeout":
			o.LeaveTimeout = v.leaveTimeout
		case "name":
			o.Name = v.name
		case "state":
			if o.State == nil {
				o.State = map[string]string{}
			}
			for k, val := range v.state {
				o.State[k] = val
			}
		case "config", "version":
		default:
			errs = append(errs, fmt.Errorf("flag -%s is not applied (a bug)", f.Name))
		}
	})
	return o, errors.Join(errs...)
}

// loadFile applies a JSON config file over o.
func (o *options) loadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var f fileConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if dec.More() {
		return fmt.Errorf("config file %s: data after the JSON object", path)
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	o.Config = path
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&o.Bind, f.Bind)
	set(&o.Advertise, f.Advertise)
	if f.Seeds != nil {
		o.Seeds = f.Seeds
	}
	set(&o.Cluster, f.Cluster)
	if f.KeyFile != nil {
		o.KeyFile = rel(*f.KeyFile)
	}
	if f.Open != nil {
		o.Open = *f.Open
	}
	if f.MaxMembers != nil {
		o.MaxMembers = *f.MaxMembers
	}
	set(&o.Preset, f.Preset)
	set(&o.ID, f.ID)
	if f.IDFile != nil {
		o.IDFile = rel(*f.IDFile)
	}
	set(&o.HTTP, f.HTTP)
	set(&o.LogLevel, f.LogLevel)
	set(&o.LogFormat, f.LogFormat)
	if f.DualStack != nil {
		o.DualStack = *f.DualStack
	}
	if f.LeaveTimeout != nil {
		d, err := time.ParseDuration(*f.LeaveTimeout)
		if err != nil {
			return fmt.Errorf("config file %s: leave_timeout: %w", path, err)
		}
		o.LeaveTimeout = d
	}
	if f.State != nil {
		o.State = f.State
	}
	set(&o.Name, f.Name)
	return nil
}

// splitList splits a comma-separated list, dropping empty items and spaces.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseLevel maps a -log-level value to a slog level.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level: want debug, info, warn or error, got %q", s)
}

// newLogger builds the agent's logger on w.
func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	lv, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	ho := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, ho)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, ho)), nil
	}
	return nil, fmt.Errorf("log format: want text or json, got %q", format)
}

// sortedKeys returns m's keys in order, for deterministic start-up.
func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

package detector_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

// TestScripts runs every timeline in testdata/*.txt. The language is
// described in testdata/README.md; in short, each line is a command:
//
//	phi [threshold=8] [window=100] [minstd=100ms] [pause=0s] [first=1s] [max=10s] [dist=normal|exponential]
//	timeout 3s
//	beat T [T …]
//	beats T every=D count=N [jitter=D] [loss=P] [seed=N] [alive]
//	reset
//	suspicion [minbase=1s] [factor=6] [expected=2]
//	start T n=N witness=W
//	confirm W counted|ignored
//	health [max=8]
//	failure [N]
//	success [N]
//	at T CHECK …
//	check CHECK …
//
// Times T are durations since the epoch ("99.5s") or, with a leading "+",
// since the detector's last heartbeat ("+1.5s"). A CHECK is a name ("suspect",
// "dead"), a negated name ("!suspect"), or name OP value with OP one of
// < <= > >= = and an optional "±tolerance" after the value.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScript(t, file)
		})
	}
}

type script struct {
	t    *testing.T
	pos  string // file:line of the command being run
	det  detector.Detector
	phi  *detector.Phi
	to   *detector.Timeout
	scfg detector.SuspicionConfig
	sus  detector.Suspicion
	hlth detector.Health
	// checks counts the assertions evaluated, so an empty script fails.
	checks int
}

func runScript(t *testing.T, file string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &script{t: t}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		s.pos = fmt.Sprintf("%s:%d", file, line)
		if err := s.run(fields[0], fields[1:]); err != nil {
			t.Fatalf("%s: %s: %v", s.pos, strings.TrimSpace(text), err)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if s.checks == 0 {
		t.Fatalf("%s: no checks", file)
	}
	t.Logf("%s: %d checks", file, s.checks)
}

// keyValues splits "k=v" arguments; bare words map to "".
func keyValues(args []string) map[string]string {
	m := make(map[string]string)
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		m[k] = v
	}
	return m
}

func (s *script) run(cmd string, args []string) error {
	switch cmd {
	case "phi":
		var cfg detector.PhiConfig
		for k, v := range keyValues(args) {
			var err error
			switch k {
			case "threshold":
				cfg.Threshold, err = strconv.ParseFloat(v, 64)
			case "window":
				cfg.Window, err = strconv.Atoi(v)
			case "minstd":
				cfg.MinStdDev, err = time.ParseDuration(v)
			case "pause":
				cfg.AcceptablePause, err = time.ParseDuration(v)
			case "first":
				cfg.FirstInterval, err = time.ParseDuration(v)
			case "max":
				cfg.MaxInterval, err = time.ParseDuration(v)
			case "dist":
				switch v {
				case "normal":
					cfg.Distribution = detector.Normal
				case "exponential":
					cfg.Distribution = detector.Exponential
				default:
					err = fmt.Errorf("unknown distribution %q", v)
				}
			default:
				err = fmt.Errorf("unknown phi parameter %q", k)
			}
			if err != nil {
				return err
			}
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		s.phi, s.to = detector.NewPhi(cfg), nil
		s.det = s.phi
	case "timeout":
		if len(args) != 1 {
			return fmt.Errorf("want: timeout DURATION")
		}
		d, err := time.ParseDuration(args[0])
		if err != nil {
			return err
		}
		s.to, s.phi = detector.NewTimeout(d), nil
		s.det = s.to
	case "beat":
		if s.det == nil {
			return fmt.Errorf("no detector")
		}
		for _, a := range args {
			tm, err := s.time(a)
			if err != nil {
				return err
			}
			s.det.Heartbeat(tm)
		}
	case "beats":
		return s.beats(args)
	case "reset":
		if s.det == nil {
			return fmt.Errorf("no detector")
		}
		s.det.Reset()
	case "suspicion":
		s.scfg = detector.SuspicionConfig{}
		for k, v := range keyValues(args) {
			var err error
			switch k {
			case "minbase":
				s.scfg.MinBase, err = time.ParseDuration(v)
			case "factor":
				s.scfg.MaxFactor, err = strconv.ParseFloat(v, 64)
			case "expected":
				s.scfg.Expected, err = strconv.Atoi(v)
			default:
				err = fmt.Errorf("unknown suspicion parameter %q", k)
			}
			if err != nil {
				return err
			}
		}
		return s.scfg.Validate()
	case "start":
		if len(args) != 3 {
			return fmt.Errorf("want: start T n=N witness=W")
		}
		tm, err := s.time(args[0])
		if err != nil {
			return err
		}
		kv := keyValues(args[1:])
		n, err := strconv.Atoi(kv["n"])
		if err != nil {
			return err
		}
		w, err := strconv.ParseUint(kv["witness"], 10, 64)
		if err != nil {
			return err
		}
		s.sus.Start(tm, n, w, s.scfg)
	case "confirm":
		if len(args) != 2 || (args[1] != "counted" && args[1] != "ignored") {
			return fmt.Errorf("want: confirm W counted|ignored")
		}
		w, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil {
			return err
		}
		s.checks++
		if got, want := s.sus.Confirm(w), args[1] == "counted"; got != want {
			s.t.Errorf("%s: Confirm(%d) = %v, want %v", s.pos, w, got, want)
		}
	case "health":
		kv := keyValues(args)
		m := 0
		if v, ok := kv["max"]; ok {
			var err error
			if m, err = strconv.Atoi(v); err != nil {
				return err
			}
		}
		s.hlth = detector.NewHealth(m)
	case "failure", "success":
		n := 1
		if len(args) == 1 {
			var err error
			if n, err = strconv.Atoi(args[0]); err != nil {
				return err
			}
		}
		for range n {
			if cmd == "failure" {
				s.hlth.Failure()
			} else {
				s.hlth.Success()
			}
		}
	case "at":
		if len(args) < 2 {
			return fmt.Errorf("want: at T CHECK…")
		}
		tm, err := s.time(args[0])
		if err != nil {
			return err
		}
		for _, c := range args[1:] {
			if err := s.check(c, tm, true); err != nil {
				return err
			}
		}
	case "check":
		for _, c := range args {
			if err := s.check(c, 0, false); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("unknown command %q", cmd)
	}
	return nil
}

// beats generates heartbeats: the k-th is due at from + k·every, arrives
// up to ±jitter off schedule (uniform, seeded), and is lost with
// probability loss. With "alive", the detector must not be suspicious at
// the instant each heartbeat arrives, just before it is recorded.
func (s *script) beats(args []string) error {
	if s.det == nil || len(args) < 1 {
		return fmt.Errorf("want a detector and: beats T every=D count=N …")
	}
	from, err := s.time(args[0])
	if err != nil {
		return err
	}
	kv := keyValues(args[1:])
	every, err := time.ParseDuration(kv["every"])
	if err != nil {
		return fmt.Errorf("every: %v", err)
	}
	count, err := strconv.Atoi(kv["count"])
	if err != nil {
		return fmt.Errorf("count: %v", err)
	}
	var jitter time.Duration
	if v, ok := kv["jitter"]; ok {
		if jitter, err = time.ParseDuration(v); err != nil {
			return err
		}
	}
	var loss float64
	if v, ok := kv["loss"]; ok {
		if loss, err = strconv.ParseFloat(v, 64); err != nil {
			return err
		}
	}
	var seed uint64
	if v, ok := kv["seed"]; ok {
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			return err
		}
	}
	_, alive := kv["alive"]
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	for k := range count {
		at := from.Add(time.Duration(k) * every)
		if jitter > 0 {
			at = at.Add(time.Duration(r.Int64N(2*int64(jitter)+1)) - jitter)
		}
		if loss > 0 && r.Float64() < loss {
			continue
		}
		if alive {
			s.checks++
			if s.det.Suspicious(at) {
				s.t.Errorf("%s: heartbeat %d arrives at %v to a detector already suspicious (level %.3f)", s.pos, k, at, s.det.Level(at))
			}
		}
		s.det.Heartbeat(at)
	}
	return nil
}

// last returns the detector's last heartbeat.
func (s *script) last() detector.Time {
	switch {
	case s.phi != nil:
		return s.phi.Last()
	case s.to != nil:
		return s.to.Last()
	}
	return 0
}

// time parses an absolute time or, with a leading "+", one relative to
// the last heartbeat.
func (s *script) time(v string) (detector.Time, error) {
	base := detector.Time(0)
	if rest, ok := strings.CutPrefix(v, "+"); ok {
		base, v = s.last(), rest
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	return base.Add(d), nil
}

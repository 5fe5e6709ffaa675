package detector_test

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/hearsay-io/hearsay/detector"
)

// check evaluates one assertion, at tm if hasTime.
func (s *script) check(c string, tm detector.Time, hasTime bool) error {
	s.checks++
	needTime := func(name string) error {
		if !hasTime {
			return fmt.Errorf("%s needs a time: use at T", name)
		}
		return nil
	}
	// Boolean checks.
	name, negated := strings.CutPrefix(c, "!")
	var b *bool
	switch name {
	case "suspect", "alive":
		if err := needTime(name); err != nil {
			return err
		}
		if s.det == nil {
			return fmt.Errorf("no detector")
		}
		v := s.det.Suspicious(tm) == (name == "suspect")
		b = &v
	case "dead":
		if err := needTime(name); err != nil {
			return err
		}
		v := s.sus.Expired(tm)
		b = &v
	}
	if b != nil {
		if *b == negated {
			s.t.Errorf("%s: %s at %v is false", s.pos, c, tm)
		}
		return nil
	}

	// Comparisons.
	i := strings.IndexAny(c, "<>=")
	if i <= 0 {
		return fmt.Errorf("bad check %q", c)
	}
	name = c[:i]
	op := c[i:]
	j := 1
	if len(op) > 1 && op[1] == '=' {
		j = 2
	}
	op, val := op[:j], op[j:]
	val, tolText, _ := strings.Cut(val, "±")

	var got float64
	kind := "duration" // how to parse the expected value
	arg, hasArg := "", false
	if k := strings.Index(name, "("); k > 0 && strings.HasSuffix(name, ")") {
		name, arg, hasArg = name[:k], name[k+1:len(name)-1], true
	}
	intArgs := func() ([]int, error) {
		var out []int
		for _, a := range strings.Split(arg, ",") {
			n, err := strconv.Atoi(a)
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	}
	switch {
	case name == "phi" || name == "level":
		if err := needTime(name); err != nil {
			return err
		}
		if s.det == nil {
			return fmt.Errorf("no detector")
		}
		got, kind = s.det.Level(tm), "float"
	case name == "samples" && s.phi != nil:
		got, kind = float64(s.phi.Samples()), "float"
	case name == "mean" && s.phi != nil:
		got = float64(s.phi.Mean())
	case name == "std" && s.phi != nil:
		got = float64(s.phi.StdDev())
	case name == "suspect-at":
		switch {
		case s.phi != nil:
			got = float64(s.phi.SuspectAt())
		case s.to != nil:
			got = float64(s.to.SuspectAt())
		default:
			return fmt.Errorf("no detector")
		}
		kind = "time"
	case name == "deadline":
		got, kind = float64(s.sus.Deadline()), "time"
	case name == "confirmations":
		got, kind = float64(s.sus.Confirmations()), "float"
	case name == "timeout" && !hasArg:
		got = float64(s.sus.Timeout())
	case name == "score":
		got, kind = float64(s.hlth.Score()), "float"
	case name == "scale" && hasArg:
		d, err := time.ParseDuration(arg)
		if err != nil {
			return err
		}
		got = float64(s.hlth.Scale(d))
	case (name == "min" || name == "max") && hasArg:
		a, err := intArgs()
		if err != nil || len(a) != 1 {
			return fmt.Errorf("want %s(n)", name)
		}
		if name == "min" {
			got = float64(s.scfg.Min(a[0]))
		} else {
			got = float64(s.scfg.Max(a[0]))
		}
	case name == "timeout" && hasArg:
		a, err := intArgs()
		if err != nil || len(a) != 2 {
			return fmt.Errorf("want timeout(n,confirmations)")
		}
		got = float64(s.scfg.Timeout(a[0], a[1]))
	default:
		return fmt.Errorf("unknown check %q (or no detector for it)", name)
	}

	gotKind := kind
	parse := func(v string) (float64, error) {
		switch kind {
		case "float":
			return strconv.ParseFloat(v, 64)
		case "time":
			tv, err := s.time(v)
			return float64(tv), err
		}
		d, err := time.ParseDuration(v)
		return float64(d), err
	}
	want, err := parse(val)
	if err != nil {
		return err
	}
	var tol float64
	if tolText != "" {
		if kind == "time" {
			kind = "duration" // a tolerance is a duration, never "+…"
		}
		if tol, err = parse(tolText); err != nil {
			return err
		}
	}
	var ok bool
	switch op {
	case "<":
		ok = got < want
	case "<=":
		ok = got <= want
	case ">":
		ok = got > want
	case ">=":
		ok = got >= want
	case "=":
		ok = math.Abs(got-want) <= tol
	}
	if !ok {
		s.t.Errorf("%s: %s: got %s", s.pos, c, s.format(got, gotKind))
	}
	return nil
}

func (s *script) format(v float64, kind string) string {
	switch kind {
	case "float":
		return strconv.FormatFloat(v, 'g', 8, 64)
	case "time":
		return fmt.Sprintf("%v (last heartbeat +%v)", time.Duration(v), detector.Time(v).Sub(s.last()))
	}
	return time.Duration(v).String()
}

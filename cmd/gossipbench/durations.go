package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// durations is the -duration flag: a duration for every scenario, one per
// scenario, or both — "30s", "false-positives=360s", "20s,crash=30s" —
// since each scenario's main phase means something different (see -list).
type durations struct {
	all    time.Duration
	byName map[string]time.Duration
}

func (d *durations) String() string {
	if d == nil {
		return "0"
	}
	var parts []string
	if d.all > 0 {
		parts = append(parts, d.all.String())
	}
	for k, v := range d.byName {
		parts = append(parts, k+"="+v.String())
	}
	if len(parts) == 0 {
		return "0"
	}
	return strings.Join(parts, ",")
}

func (d *durations) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, named := strings.Cut(part, "=")
		if !named {
			val = name
		}
		v, err := time.ParseDuration(strings.TrimSpace(val))
		if err != nil || v < 0 {
			return fmt.Errorf("bad duration %q", val)
		}
		if !named {
			d.all = v
			continue
		}
		if d.byName == nil {
			d.byName = make(map[string]time.Duration)
		}
		d.byName[strings.TrimSpace(name)] = v
	}
	return nil
}

// of returns the duration for a scenario (zero: its default).
func (d *durations) of(name string) time.Duration {
	if v, ok := d.byName[name]; ok {
		return v
	}
	return d.all
}

// sizes is the -n-for flag: cluster sizes by scenario name,
// "bootstrap=2000,appstate=500".
type sizes map[string]int

func (z *sizes) String() string {
	if z == nil || len(*z) == 0 {
		return ""
	}
	var parts []string
	for k, v := range *z {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	return strings.Join(parts, ",")
}

func (z *sizes) Set(s string) error {
	if *z == nil {
		*z = make(sizes)
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return fmt.Errorf("want name=size, got %q", part)
		}
		n, err := strconv.Atoi(strings.TrimSpace(val))
		if err != nil {
			return fmt.Errorf("bad size %q", val)
		}
		(*z)[strings.TrimSpace(name)] = n
	}
	return nil
}

package main

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"time"
)

// userHZ is the unit of the clock-tick times in /proc (USER_HZ), 100 on
// every Linux architecture Go supports.
const userHZ = 100

// processMetrics returns the process_* families: CPU time from getrusage,
// memory from /proc/self/statm, open descriptors from /proc/self/fd and
// their limit from getrlimit, and the start time from /proc/self/stat and
// the boot time in /proc/stat. A value that cannot be read is left out.
func processMetrics() []*metricFamily {
	var out []*metricFamily
	add := func(name, help string, kind metricKind, s metricSample) {
		out = append(out, &metricFamily{name: name, help: help, kind: kind, samples: []metricSample{s}})
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		add("process_cpu_seconds_total", "Total user and system CPU time spent, in seconds.", counter, floatSample(cpu.Seconds()))
	}
	if vsize, rss, ok := readStatm(); ok {
		add("process_virtual_memory_bytes", "Virtual memory size in bytes.", gauge, intSample(vsize))
		add("process_resident_memory_bytes", "Resident memory size in bytes.", gauge, intSample(rss))
	}
	if f, err := os.Open("/proc/self/fd"); err == nil {
		names, err := f.Readdirnames(-1)
		f.Close()
		if err == nil {
			add("process_open_fds", "Number of open file descriptors.", gauge, intSample(uint64(len(names))))
		}
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		add("process_max_fds", "Maximum number of open file descriptors (soft limit).", gauge, intSample(lim.Cur))
	}
	start, ok := readStartTime()
	if !ok {
		start = processStart
	}
	out = append(out, processStartFamily(start))
	return out
}

// readStatm returns the virtual and resident memory sizes in bytes from
// /proc/self/statm (both in pages).
func readStatm() (vsize, rss uint64, ok bool) {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, 0, false
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return 0, 0, false
	}
	size, err1 := strconv.ParseUint(string(f[0]), 10, 64)
	res, err2 := strconv.ParseUint(string(f[1]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	page := uint64(os.Getpagesize())
	return size * page, res * page, true
}

// readStartTime returns when the process started: its start time in clock
// ticks after boot (field 22 of /proc/self/stat) plus the boot time (btime
// in /proc/stat).
func readStartTime() (time.Time, bool) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return time.Time{}, false
	}
	// Field 2, the command name, is in parentheses and may hold spaces
	// and parentheses: count fields from the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return time.Time{}, false
	}
	f := bytes.Fields(stat[i+1:]) // f[0] is field 3
	if len(f) < 20 {
		return time.Time{}, false
	}
	ticks, err := strconv.ParseUint(string(f[22-3]), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	boot, ok := readBootTime()
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(boot, 0).Add(time.Duration(ticks) * (time.Second / userHZ)), true
}

// readBootTime returns btime from /proc/stat: the boot time in seconds
// since the Unix epoch.
func readBootTime() (int64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("btime ")); ok {
			t, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64)
			return t, err == nil
		}
	}
	return 0, false
}

package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// The go_* families: the names and meanings of the Prometheus Go client's
// default collector, so that dashboards made for it work, written by hand
// (the agent takes no metrics dependency). They are read from
// runtime/metrics, which does not stop the world, and the GC pause summary
// from runtime/debug.ReadGCStats. A family whose runtime metric this Go
// version does not have is left out.

// goMetric is one go_* family whose value is the sum of runtime metrics
// (all of kind Uint64).
type goMetric struct {
	name    string
	help    string
	kind    metricKind
	sources []string
}

var goMetrics = []goMetric{
	{"go_goroutines", "Number of goroutines that currently exist.", gauge,
		[]string{"/sched/goroutines:goroutines"}},
	{"go_threads", "Number of OS threads created.", gauge,
		[]string{"/sched/threads/total:threads"}},
	{"go_sched_gomaxprocs_threads", "GOMAXPROCS: the number of OS threads that can execute Go code at once.", gauge,
		[]string{"/sched/gomaxprocs:threads"}},
	{"go_gc_gogc_percent", "Heap growth that triggers a collection, in percent (GOGC).", gauge,
		[]string{"/gc/gogc:percent"}},
	{"go_gc_gomemlimit_bytes", "Go runtime memory limit (GOMEMLIMIT).", gauge,
		[]string{"/gc/gomemlimit:bytes"}},
	{"go_memstats_alloc_bytes", "Bytes of allocated heap objects.", gauge,
		[]string{"/memory/classes/heap/objects:bytes"}},
	{"go_memstats_alloc_bytes_total", "Bytes allocated for heap objects, even if freed.", counter,
		[]string{"/gc/heap/allocs:bytes"}},
	{"go_memstats_sys_bytes", "Bytes of memory obtained from the OS.", gauge,
		[]string{"/memory/classes/total:bytes"}},
	{"go_memstats_mallocs_total", "Heap objects allocated.", counter,
		[]string{"/gc/heap/allocs:objects", "/gc/heap/tiny/allocs:objects"}},
	{"go_memstats_frees_total", "Heap objects freed.", counter,
		[]string{"/gc/heap/frees:objects", "/gc/heap/tiny/allocs:objects"}},
	{"go_memstats_heap_alloc_bytes", "Bytes of allocated heap objects.", gauge,
		[]string{"/memory/classes/heap/objects:bytes"}},
	{"go_memstats_heap_sys_bytes", "Bytes of heap memory obtained from the OS.", gauge,
		[]string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes",
			"/memory/classes/heap/free:bytes", "/memory/classes/heap/released:bytes"}},
	{"go_memstats_heap_idle_bytes", "Bytes of heap spans with no objects (free, or released to the OS).", gauge,
		[]string{"/memory/classes/heap/free:bytes", "/memory/classes/heap/released:bytes"}},
	{"go_memstats_heap_inuse_bytes", "Bytes of heap spans with at least one object.", gauge,
		[]string{"/memory/classes/heap/objects:bytes", "/memory/classes/heap/unused:bytes"}},
	{"go_memstats_heap_released_bytes", "Bytes of heap memory returned to the OS.", gauge,
		[]string{"/memory/classes/heap/released:bytes"}},
	{"go_memstats_heap_objects", "Number of allocated heap objects.", gauge,
		[]string{"/gc/heap/objects:objects"}},
	{"go_memstats_stack_inuse_bytes", "Bytes of stack spans in use.", gauge,
		[]string{"/memory/classes/heap/stacks:bytes"}},
	{"go_memstats_next_gc_bytes", "Heap size the next collection aims at.", gauge,
		[]string{"/gc/heap/goal:bytes"}},
}

// goSamples is the runtime/metrics read list, one sample per distinct
// source of goMetrics, and goSampleIndex where each source is in it.
var goSamples, goSampleIndex = func() ([]metrics.Sample, map[string]int) {
	var ss []metrics.Sample
	idx := map[string]int{}
	for _, m := range goMetrics {
		for _, src := range m.sources {
			if _, ok := idx[src]; !ok {
				idx[src] = len(ss)
				ss = append(ss, metrics.Sample{Name: src})
			}
		}
	}
	return ss, idx
}()

// runtimeMetrics returns the go_* families.
func runtimeMetrics() []*metricFamily {
	ss := make([]metrics.Sample, len(goSamples))
	copy(ss, goSamples)
	metrics.Read(ss)
	out := []*metricFamily{{
		name: "go_info", help: "Information about the Go environment.", kind: gauge,
		samples: []metricSample{{labels: [][2]string{{"version", runtime.Version()}}, val: 1}},
	}}
Families:
	for _, m := range goMetrics {
		var sum uint64
		for _, src := range m.sources {
			v := ss[goSampleIndex[src]].Value
			if v.Kind() != metrics.KindUint64 {
				continue Families // not in this Go version
			}
			sum += v.Uint64()
		}
		out = append(out, &metricFamily{name: m.name, help: m.help, kind: m.kind, samples: []metricSample{intSample(sum)}})
	}
	return append(out, gcMetrics()...)
}

// gcMetrics returns go_gc_duration_seconds, a summary of the recent
// stop-the-world pauses of collections (quantiles over the last pauses
// the runtime keeps, up to 256; sum and count over all), and
// go_memstats_last_gc_time_seconds.
func gcMetrics() []*metricFamily {
	st := debug.GCStats{PauseQuantiles: make([]time.Duration, 5)}
	debug.ReadGCStats(&st)
	pauses := &metricFamily{name: "go_gc_duration_seconds", help: "Stop-the-world pause durations of garbage collections.", kind: summary}
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		s := floatSample(st.PauseQuantiles[i].Seconds())
		s.labels = [][2]string{{"quantile", q}}
		pauses.samples = append(pauses.samples, s)
	}
	sum := floatSample(st.PauseTotal.Seconds())
	sum.suffix = "_sum"
	count := intSample(uint64(st.NumGC))
	count.suffix = "_count"
	pauses.samples = append(pauses.samples, sum, count)
	var last float64
	if !st.LastGC.IsZero() {
		last = float64(st.LastGC.UnixNano()) / 1e9
	}
	return []*metricFamily{
		pauses,
		{name: "go_memstats_last_gc_time_seconds", help: "Time of the last garbage collection, in seconds since the Unix epoch (0: none yet).",
			kind: gauge, samples: []metricSample{floatSample(last)}},
	}
}

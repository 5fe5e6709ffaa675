package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"time"

	"github.com/hearsay-io/hearsay/engine"
)

// One node in its own process.
//
// The steady scenario over real UDP measures what one node costs its host:
// node 0 of the cluster runs in a child process of its own from the start
// (ClusterConfig.Outside: the in-process nodes begin with it in their
// views, at its address and generation 1, as they begin with each other),
// and joins them through three of their members. Replacing an in-process
// node 0 by the child instead, with a new generation, made every
// in-process table take in that member's death and return at once, which
// at 10,000 nodes grew the process past 10 GB. After the
// warm-up the child measures itself over the window — CPU time from
// getrusage (user, and system: the kernel's cost of its datagrams, sent
// and received), bytes and objects allocated (runtime/metrics), its
// protocol counters — and reports them to the parent as one JSON line.
// Nothing else runs in the child: its figures are the node's, the Go
// runtime's and the kernel's.
//
// The child is this same executable: an init function in this package
// runs the node instead of the program when steadyNodeEnv is set, so that
// gossipbench and this package's test binary both can be the child.

// steadyNodeEnv, when set in a process's environment, makes it run one
// steady-state node (steadyNodeMain) instead of its program.
const steadyNodeEnv = "HEARSAY_BENCH_STEADY_NODE"

// SteadyNodeProfileEnv names an environment variable that, set to a file
// name in the environment of a steady run over UDP, makes the node in its
// own process record every allocation (runtime.MemProfileRate = 1) and
// write its allocation profile there when its window begins (name.start)
// and when it exits (name): go tool pprof -sample_index=alloc_space
// -base name.start name shows where the bytes of a window that was not
// free of allocation came from.
const SteadyNodeProfileEnv = "HEARSAY_BENCH_STEADY_NODE_PROFILE"

func init() {
	if os.Getenv(steadyNodeEnv) == "" {
		return
	}
	if err := steadyNodeMain(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "steady node: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// nodeConfig is an engine.Config as JSON: the fields that cannot travel
// (functions, interfaces, the logger) are hidden by nil fields of the
// same name at a shallower depth, which encoding/json omits.
type nodeConfig struct {
	engine.Config
	Resolver *struct{} `json:",omitempty"`
	Admit    *struct{} `json:",omitempty"`
	Logger   *struct{} `json:",omitempty"`
}

// nodeSpec is what the parent sends the child, on its standard input.
type nodeSpec struct {
	Config nodeConfig
	Bind   netip.AddrPort   // the port the node had in the parent
	Seeds  []netip.AddrPort // joined through
	// Members, when set, are given to the node (Node.AddMembers, as the
	// in-process cluster was built) before it joins, so that the join only
	// announces it and the table need not be fetched.
	Members []engine.Member
	N       int // members the node waits to know before it is ready
	Window  time.Duration
}

// nodeSample is what the child measures at each end of its window.
type nodeSample struct {
	User, System   time.Duration
	Switches       uint64 // context switches
	AllocBytes     uint64
	AllocObjects   uint64
	GCCycles       uint64
	Stats          engine.Stats
	At             time.Time
	HeapLiveBytes  uint64 // after a collection, at the end only
	Members, Live  int
	TransportDrops uint64
}

// nodeReport is the child's answer: its samples at both ends of the window.
type nodeReport struct {
	Begin, End nodeSample
	JoinTime   time.Duration
}

// The lines the child and the parent exchange, after the spec.
const (
	nodeReady = "ready\n" // child: joined, knows N members
	nodeStart = "start\n" // parent: the window begins
)

// readSample fills s from getrusage and runtime/metrics. It allocates
// nothing once samples is built.
func readSample(s *nodeSample, samples []metrics.Sample) {
	s.User, s.System, s.Switches = rusageSelf()
	metrics.Read(samples)
	s.AllocBytes = samples[0].Value.Uint64()
	s.AllocObjects = samples[1].Value.Uint64()
	s.GCCycles = samples[2].Value.Uint64()
	s.At = time.Now()
}

func steadyNodeMain(in io.Reader, out io.Writer) error {
	profile := os.Getenv(SteadyNodeProfileEnv)
	if profile != "" {
		runtime.MemProfileRate = 1
		defer writeAllocs(profile)
	}
	r := bufio.NewReader(in)
	line, err := r.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reading the spec: %w", err)
	}
	var spec nodeSpec
	if err := json.Unmarshal(line, &spec); err != nil {
		return fmt.Errorf("reading the spec: %w", err)
	}
	cfg := spec.Config.Config
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.BindAddr = spec.Bind
	node, err := engine.NewNode(cfg)
	if err != nil {
		return err
	}
	defer node.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	t0 := time.Now()
	if len(spec.Members) > 0 {
		if err := node.AddMembers(spec.Members); err != nil {
			return err
		}
		spec.Members = nil
	}
	if err := node.Join(ctx, spec.Seeds...); err != nil {
		return fmt.Errorf("joining through %v: %w", spec.Seeds, err)
	}
	for {
		if _, total := node.NumMembers(); total >= spec.N {
			break
		}
		if ctx.Err() != nil {
			_, total := node.NumMembers()
			return fmt.Errorf("knows %d members of %d after %v", total, spec.N, time.Since(t0).Round(time.Millisecond))
		}
		time.Sleep(50 * time.Millisecond)
	}
	rep := nodeReport{JoinTime: time.Since(t0)}
	if _, err := io.WriteString(out, nodeReady); err != nil {
		return err
	}
	cmd, err := r.ReadString('\n')
	if err != nil || cmd != nodeStart {
		return fmt.Errorf("waiting for %q: got %q, %v", nodeStart, cmd, err)
	}

	samples := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/allocs:objects"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	if profile != "" {
		writeAllocs(profile + ".start")
	}
	readSample(&rep.Begin, samples)
	rep.Begin.Stats = node.Stats().Stats
	time.Sleep(spec.Window)
	readSample(&rep.End, samples)
	st := node.Stats()
	rep.End.Stats = st.Stats
	rep.End.TransportDrops = st.Transport.DropBufferFull + st.Transport.DropOther
	rep.End.Live, rep.End.Members = node.NumMembers()
	runtime.GC()
	heap := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(heap)
	rep.End.HeapLiveBytes = heap[0].Value.Uint64()
	b, err := json.Marshal(&rep)
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

// writeAllocs writes the allocation profile to path, after a collection
// so that it is up to date.
func writeAllocs(path string) {
	runtime.GC()
	if f, err := os.Create(path); err == nil {
		_ = pprof.Lookup("allocs").WriteTo(f, 0)
		f.Close()
	}
}

// childNode is the parent's handle on the child process.
type childNode struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *limitedBuffer
	done   chan error
}

// startChildNode starts node i of the cluster, which the cluster left
// outside (ClusterConfig.Outside), in a child process as the member the
// other nodes know (its address and generation), joined through up to
// three other nodes, and waits until it knows every member.
func startChildNode(rn *run, i int) (*childNode, error) {
	c := rn.c
	if c.Running(i) {
		return nil, fmt.Errorf("bench: node %d runs in this process; a child node must be outside the cluster", i)
	}
	self, ok := c.Member(seedOf(c, i, 0), i)
	if !ok || !self.Addr.IsValid() {
		return nil, fmt.Errorf("bench: node %d's address is not known", i)
	}
	var seeds []netip.AddrPort
	for k := 0; k < 3 && k < c.Len()-1; k++ {
		j := seedOf(c, i, k)
		m, ok := c.Member(j, j)
		if !ok {
			return nil, fmt.Errorf("bench: seed %d does not know itself", j)
		}
		seeds = append(seeds, m.Addr)
	}
	spec := nodeSpec{Bind: self.Addr, Seeds: seeds, N: c.Len(), Window: rn.o.durationOr(20 * time.Second)}
	if c.Len() > childAddMembersAbove {
		// A join fetches the whole table, which at thousands of members
		// on a loaded machine may not finish (issue 19, Deliver 4): give
		// the child the table, as the in-process nodes were given theirs.
		from := seedOf(c, i, 0)
		for j := 0; j < c.Len(); j++ {
			if m, ok := c.Member(from, j); ok && j != i {
				spec.Members = append(spec.Members, m)
			}
		}
	}
	spec.Config.Config = rn.o.engineConfig()
	spec.Config.ID, spec.Config.Generation = c.ID(i), self.Generation
	line, err := json.Marshal(&spec)
	if err != nil {
		return nil, fmt.Errorf("bench: the child node's spec: %w", err)
	}

	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench: starting a child node: %w", err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), steadyNodeEnv+"=1")
	ch := &childNode{cmd: cmd, stderr: &limitedBuffer{max: 4096}, done: make(chan error, 1)}
	cmd.Stderr = ch.stderr
	if ch.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	ch.out = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting a child node: %w", err)
	}
	if _, err := ch.in.Write(append(line, '\n')); err != nil {
		ch.kill()
		return nil, fmt.Errorf("bench: the child node: %w", err)
	}
	ready := make(chan error, 1)
	go func() {
		s, err := ch.out.ReadString('\n')
		if err == nil && s != nodeReady {
			err = fmt.Errorf("said %q", s)
		}
		ready <- err
	}()
	// The cluster runs while the child joins.
	for {
		select {
		case err := <-ready:
			if err != nil {
				ch.kill()
				return nil, fmt.Errorf("bench: the child node did not join: %v; stderr: %s", err, ch.stderr)
			}
			return ch, nil
		default:
		}
		if err := c.Run(rn.ctx, 100*time.Millisecond); err != nil {
			ch.kill()
			return nil, err
		}
	}
}

// childAddMembersAbove is the cluster size above which the child is given
// the table rather than fetching it by joining.
const childAddMembersAbove = 1000

// seedOf returns the k-th node other than i.
func seedOf(c Cluster, i, k int) int { return (i + 1 + k) % c.Len() }

// start tells the child its window begins.
func (ch *childNode) start() error {
	_, err := io.WriteString(ch.in, nodeStart)
	return err
}

// report waits for the child's report and for it to exit.
func (ch *childNode) report() (*nodeReport, error) {
	line, err := ch.out.ReadBytes('\n')
	if err != nil {
		ch.kill()
		return nil, fmt.Errorf("bench: the child node's report: %v; stderr: %s", err, ch.stderr)
	}
	var rep nodeReport
	if err := json.Unmarshal(line, &rep); err != nil {
		ch.kill()
		return nil, fmt.Errorf("bench: the child node's report: %w", err)
	}
	ch.in.Close()
	if err := ch.cmd.Wait(); err != nil {
		return nil, fmt.Errorf("bench: the child node: %w; stderr: %s", err, ch.stderr)
	}
	return &rep, nil
}

// kill ends the child, if it still runs, and reaps it.
func (ch *childNode) kill() {
	ch.in.Close()
	if ch.cmd.Process != nil {
		_ = ch.cmd.Process.Kill()
	}
	_ = ch.cmd.Wait()
}

// addChildFigures adds the child's figures to the result.
func addChildFigures(r *Result, rep *nodeReport, period float64) {
	b, e := rep.Begin, rep.End
	secs := e.At.Sub(b.At).Seconds()
	per := func(x, y uint64) float64 { return float64(y-x) / secs }
	user, sys := (e.User-b.User).Seconds()*1e6/secs, (e.System-b.System).Seconds()*1e6/secs
	dOut := per(b.Stats.DatagramsOut, e.Stats.DatagramsOut)
	dIn := per(b.Stats.DatagramsIn, e.Stats.DatagramsIn)
	r.add("bytes allocated per node per second", per(b.AllocBytes, e.AllocBytes), "B/s",
		Goal("==", 0, "a node costs its host nothing: no garbage"))
	r.add("allocations per node per second", per(b.AllocObjects, e.AllocObjects), "1/s")
	r.add("garbage collections per node per second", per(b.GCCycles, e.GCCycles), "1/s")
	r.add("CPU per node per second", user+sys, "µs",
		Ref(5/period, "aim for the core alone: 5 µs per period"))
	r.add("CPU per node per second, user", user, "µs")
	r.add("CPU per node per second, system (the kernel's cost of its datagrams)", sys, "µs")
	r.add("CPU per node per period", (user+sys)*period, "µs")
	r.add("datagrams sent and received per node per second, own process", dOut+dIn, "1/s")
	if dOut+dIn > 0 {
		r.add("CPU per datagram sent or received, own process", (user+sys)/(dOut+dIn), "µs")
		r.add("system CPU per datagram sent or received, own process", sys/(dOut+dIn), "µs")
	}
	r.add("context switches per second, own process", per(b.Switches, e.Switches), "1/s")
	r.add("bytes sent per second, own process", per(b.Stats.BytesOut, e.Stats.BytesOut), "B/s")
	r.add("bytes received per second, own process", per(b.Stats.BytesIn, e.Stats.BytesIn), "B/s")
	r.add("heap in use after a collection, own process", float64(e.HeapLiveBytes)/(1<<20), "MiB")
	r.add("members known, own process", float64(e.Members), "count")
	r.add("join time, own process", rep.JoinTime.Seconds(), "s")
	r.check("the node in its own process allocates nothing in steady state", e.AllocBytes == b.AllocBytes,
		"%d bytes in %d objects over %.1f s", e.AllocBytes-b.AllocBytes, e.AllocObjects-b.AllocObjects, secs)
	r.note("CPU per node per second and bytes allocated per node per second are those of node 0, run in a process of its own from the start (the member the others began with, joined through three of them) while the other %d nodes run in this process: getrusage user and system time and runtime/metrics allocations over the window. System time is the kernel's cost of the node's datagrams; on loopback a send also delivers into the receiver's socket.", int(e.Members)-1)
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	max int
	b   []byte
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }

// processAllocs returns the bytes this process has allocated on the heap
// since it started (runtime/metrics).
func processAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

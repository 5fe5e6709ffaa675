// Package netns is Hearsay's multi-host test harness: eight hearsayd
// processes, each in its own network namespace, on a bridged network of
// veth pairs, so that a host's process can be killed, its link cut, the
// network split, and the process restarted, as on real machines. In-process
// tests cannot show these; this suite does, from the outside, through each
// agent's HTTP API. The package holds only tests.
//
// # Running
//
//	HEARSAY_NETNS=1 go test -v -run TestNetns ./test/netns/
//	HEARSAY_NETNS=1 HEARSAY_NETNS_RUNS=5 go test -v -timeout 20m -run TestNetns ./test/netns/
//	scripts/netns.sh 5          # the same, and says so when it skips
//
// It needs root (to create namespaces), the ip command (iproute2), and
// kernel support for network namespaces, veth and bridges. Without
// HEARSAY_NETNS=1 or without root, TestNetns skips with a message that
// says which is missing. As root, a network it cannot build fails the
// test: no ip command, or the ip command's error (a container without the
// privilege, a kernel without veth or bridges). A run that was asked for
// and could not happen is not passed over in silence. TestBounds, which checks the bound formulas, always runs.
//
// # What it builds
//
// The test builds cmd/hearsayd once into its temporary directory and
// creates, with names prefixed hs-<pid>-: a switch namespace holding two
// bridges, and eight host namespaces, each joined to the first bridge by a
// veth pair, with addresses 10.77.0.<i+1>/24 and fd77::<i+1>/64 (nothing is
// created or addressed in the root namespace). Each scenario starts a fresh
// cluster: one agent per host namespace (ip netns exec), preset local,
// sealed with a random AES-256 key, hosts 0, 3 and 6 as seeds, each with its
// own ID file. The test process reads every agent's /members over a unix
// socket (-http unix:PATH), which reaches across namespaces, so it needs no
// address or route in the root namespace and no helper process per query.
//
// # Scenarios (each asserted from every host's /members)
//
//	converge       8 agents start; every one lists all 8 alive
//	kill           SIGKILL one agent; every other lists it dead
//	link-down/up   its switch port down: every other lists it dead; up
//	               again: every host lists all 8 alive
//	split/heal     hosts 0-2 and 3-7 on separate bridges: each side lists
//	               the other dead; rejoined: every host lists all 8 alive
//	leave          SIGTERM one agent: it exits 0, every other lists it left
//	restart        start it again with the same ID file: every host lists
//	               it alive with its new, higher generation
//	crash-restart  the same after SIGKILL and an immediate restart
//	converge-v6,   converge and kill over IPv6
//	kill-v6
//	names          every agent's only seed is one host name that resolves
//	               (the namespace's /etc/hosts, from /etc/netns/<ns>/hosts)
//	               to hosts 0, 3 and 6; host 0 is not started: the seven
//	               others list each other alive; then host 0 starts and
//	               every host lists all 8 alive
//	names-join
//
// Every outcome must arrive within a bound computed from the configuration
// the agents report on /config (see bounds in bounds_test.go, where each
// formula is documented): the phi detector's own threshold crossing, probe
// and indirect-probe timeouts, the suspicion timeout, gossip and
// anti-entropy periods. A late outcome fails the test, which still waits up
// to three times the bound to report how late it was. Each measured time is
// logged, and TestNetns ends with a table of every scenario's median and
// maximum over the runs (HEARSAY_NETNS_RUNS, or -count).
//
// # Cleanup
//
// Every agent is stopped (SIGTERM, which must exit 0; SIGKILL if it does
// not) and every namespace deleted by t.Cleanup, also when a scenario
// fails; then the test checks that no namespace, root-namespace interface
// or agent process of its run remains. Agents are started with a parent
// death signal, so they die with a killed test process; the namespaces of
// such a run are removed by the next run, or by scripts/netns.sh clean.
package netns

// Command hearsayd runs one Hearsay cluster member as a process: a
// hearsay.Node with its configuration from flags or a JSON file, its
// warnings (and, at debug level, its membership events) in the log, and its
// view of the cluster on a local HTTP port.
//
// # Running
//
// A cluster is sealed with keys: every datagram is encrypted and
// authenticated (AES-GCM) with the keys of the key file, which is the same
// on every node. Make one key once and copy the file to every node:
//
//	head -c 32 /dev/urandom | base64 > /etc/hearsay/keys
//	chmod 600 /etc/hearsay/keys
//
// Then start each node with it:
//
//	hearsayd -key-file /etc/hearsay/keys -id-file /var/lib/hearsay/id \
//	    -bind 10.0.0.1:7946 -seeds 10.0.0.2:7946,10.0.0.3:7946
//
// The node starts, publishes the -state values, and joins through the seeds
// in the background (retrying until a seed answers); a node whose only seed
// is itself, or that has none, starts a new cluster. Seeds are re-contacted
// periodically afterwards (every SeedInterval: 30 s with the lan preset),
// so that a cluster split by a partition merges again: list a few stable
// members, or one name for all of them, on every node. A seed is an
// address (10.0.0.2:7946, [fd00::2]:7946), a host name with a port
// (db-0.db.ns.svc:7946), whose addresses (A and AAAA, those the socket can
// reach, at most 16) all count as seeds, or an SRV name
// (_gossip._udp.db.ns.svc) whose targets give names and ports. Names are
// resolved by the node, never at start: before each join attempt, and
// again shortly before every re-contact, so a name that follows a changing
// set of machines (a Kubernetes headless Service) keeps working, and a name
// that does not resolve yet is retried rather than fatal. A name that stops
// resolving keeps the addresses it had, and is logged.
//
// # Open clusters
//
// Without -key-file, hearsayd refuses to start (a usage error, exit 2)
// unless -open asks for an open cluster; both together are an error too. An
// open node neither seals nor authenticates anything: it believes every
// datagram that reaches its port. So an open cluster cannot protect against
//
//   - forged datagrams: anyone who can send to the port can put any source
//     address on a datagram, and so speak for any member: send heartbeats
//     in the name of a crashed member so that its observers keep it alive,
//     or claim that a healthy member is suspect or dead, which that member
//     must then refute;
//   - eavesdropping: member IDs, addresses and application state cross the
//     network in clear text, readable by anyone on the path;
//   - replays: a recorded datagram sent again later is taken as new, where
//     a sealed cluster drops it by its authenticated per-sender counter.
//
// What it still does on its own: it never answers an address that has not
// proven it receives there with more bytes than it was sent (no
// amplification), a member supersedes whatever is claimed about it as soon
// as it hears of it (no lasting poison), and a member known only from
// gossip is not used as observer, helper or gossip target before it
// answers a probe. Use -open only where nobody untrusted can send to or
// listen on the port: a test rig, a private segment you control.
//
// # Settings
//
// Every setting is a flag; -config names a JSON file with the same settings
// (key_file, open, max_members, id_file, log_level, log_format, dual_stack,
// leave_timeout with underscores; seeds as a list; state as an object).
// Flags override the file, the file overrides the defaults; unknown fields
// in the file are an error. Relative paths in the file are relative to the
// file.
//
//	-key-file file        AES keys, one per line, hex or base64; the first seals, all open (see Keys)
//	-open                 run an open cluster, without keys (see Open clusters); excludes -key-file
//	-bind addr:port       UDP address to listen on (default 0.0.0.0:7946; [::]:7946 for IPv6)
//	-advertise host:port  address others reach this node at (NAT, containers)
//	-seeds list           comma-separated seeds: ip:port, host:port or SRV names; names are
//	                      resolved before each join attempt and each re-contact (see Running)
//	-cluster name         cluster name (default "hearsay")
//	-preset name          protocol timing: lan (default), wan or local (hearsay.Default*Config)
//	-max-members n        bound on the membership table (hearsay.Config.MaxMembers); 0 or unset:
//	                      the engine's default. Records of new members beyond it are dropped and
//	                      counted (hearsay_refused_members_total); set it above the largest
//	                      cluster you expect, it bounds the memory a flood of forged members costs
//	-id hex               member ID, 16 hex digits
//	-id-file file         where the ID is kept across restarts (created on first start)
//	-http addr            HTTP listen address: host:port (default 127.0.0.1:7947), unix:/path, or off
//	-log-level level      debug, info (default), warn or error
//	-log-format format    text (default) or json
//	-dual-stack           let an IPv6 bind address reach IPv4 members too
//	-leave-timeout d      how long shutdown waits for the leave to spread (default 5s)
//	-state key=value      application state to publish at start (repeatable)
//	-name name            member name every member shows, at most 64 bytes of UTF-8 (default: host name)
//	-version              print the module version, VCS revision and Go version, and exit 0
//
// Identity: a member is its ID. Without -id and -id-file every start is a
// new member with a random ID. With -id-file the first start writes a random
// ID (or -id) there and later starts reuse it; each start raises the
// generation (the wall-clock time in nanoseconds at start), so a restarted
// process supersedes its previous self everywhere.
//
// # Keys
//
// A key line is 32, 48 or 64 hex digits (a 16, 24 or 32-byte key), or
// base64; prefix it with "hex:" or "base64:" to say which. Blank lines and
// lines starting with '#' are skipped. An empty key file is an error. The
// first key seals every datagram; every key listed opens. The agent warns
// when the file is readable by group or others.
//
// Keys rotate without a restart: SIGHUP makes the agent re-read the key
// file and apply it to the running node (installing the keys it lacks,
// making the file's first key primary, removing the keys the file no longer
// lists), and log what changed by key ID (a hash, never the key). A
// datagram sealed with a key the receiver does not hold is dropped, so the
// nodes must move in step, in three rounds, each done on every node before
// the next starts on any (hearsay.Node.UsePrimaryKey explains why this loses
// nothing):
//
//  1. Add the new key as the second line of the file on every node, and
//     SIGHUP every node: all accept the new key, all still seal with the
//     old one.
//  2. Move the new key to the first line on every node, and SIGHUP every
//     node: each seals with the new key, which all accept since round 1.
//  3. Remove the old key on every node, and SIGHUP every node: nobody seals
//     with it any more.
//
// Check a round everywhere before the next: /config lists the node's key
// IDs, primary first, and the log line of each reload says what changed.
// A reload that installs a key and makes it primary at once, or removes
// the primary it replaced, is applied but warned about: nodes that are a
// round behind drop this node's datagrams until they catch up. A key file
// that cannot be read or parsed changes nothing (the error is logged). An
// open cluster cannot take keys while it runs: restart its nodes with
// -key-file.
//
// # HTTP
//
// The HTTP server is for the local host (it listens on loopback by default)
// and serves GET only:
//
//	/members  JSON list of every member this node knows, tombstones included,
//	          with rtt_us, the round trip this node's probes measured (when they did):
//	          id, addr, state (alive, suspect, dead, left), generation,
//	          incarnation, state_version, name (when the member has one:
//	          its -name), and self for this node; sorted by id.
//	/state    JSON: {"members": {id: {state, generation, state_version,
//	          keys: {key: {value | value_base64, version}}}}}, every key of
//	          every member as the node holds it, reserved ones (the name)
//	          included.
//	/healthz  200 when the node runs and has joined. 503 while joining,
//	          while leaving, and while the cluster holds this node dead or
//	          left and it has not refuted yet (status rejoining: it learned
//	          of its death, hearsay.EventSelfDead, and refutes once it has
//	          reached RejoinProbes members, hearsay.EventSelfAlive). The JSON
//	          body has status (ok, joining, leaving, rejoining), reason (a
//	          sentence, when not ok), id, addr, live_members, members, uptime.
//	/metrics  the Prometheus text format (see metrics.go): every number of
//	          hearsay.Stats.Metrics as hearsay_*, counters with _total and
//	          named by direction (hearsay_received_bytes_total,
//	          hearsay_sent_bytes_total, ...); hearsay_members{state="alive|
//	          suspect|dead|left"}, the histogram hearsay_probe_rtt_seconds of
//	          the round trips probes measured, hearsay_healthy (1 when
//	          /healthz answers 200), hearsay_info and hearsay_build_info{version, revision,
//	          goversion}; the Go runtime's go_* families (goroutines, threads,
//	          go_memstats_*, the go_gc_duration_seconds summary) and, on
//	          Linux, process_* (CPU seconds, resident and virtual memory, open
//	          and maximum file descriptors; process_start_time_seconds
//	          everywhere), named as the Prometheus Go client names them.
//	/config   JSON of every setting in effect, defaults applied, in snake
//	          case (see http_config.go): every field of hearsay.Config, and
//	          the agent's own settings (config_file, preset, key_file,
//	          id_file, http, log_level, log_format, leave_timeout, state).
//	          Keys appear as key_ids, the IDs of the keys the node holds
//	          now, primary first; never as bytes.
//
// Generations are nanosecond timestamps (about 1.8e18): JSON tools that
// read numbers as float64 (jq, JavaScript) round them; compare them as
// integers or strings.
//
// # Logs
//
// Logs go to standard error via log/slog. Events about this node itself
// are logged by the engine: at Warn when the cluster declared it dead, at
// Info when it refuted. Membership events of other members (join, alive,
// suspect, dead, left, update) and application-state changes are logged
// at Debug only, with the member's ID, address, state, generation and
// incarnation, and the accusing witness for suspect and dead: at 10,000
// members a join alone is 10,000 events. (The engine logs a shorter line
// of each at Debug too.) Warnings that repeat while a condition lasts (a
// join that keeps retrying, events dropped at a full buffer, HTTP server
// errors) are written at most once a minute each, with suppressed=N on
// the next line counting those held back since the previous one.
//
// # Signals and exit codes
//
// SIGHUP: the agent re-reads the key file (see Keys). SIGTERM or SIGINT:
// the node leaves the cluster (gossiping its Left record until it has
// spread, at most -leave-timeout; a second SIGTERM or SIGINT stops
// waiting), closes, and the process exits 0. SIGKILL kills it at once; the
// others then detect it as failed. Exit code 2 means bad flags or
// configuration (nothing was started, no ID file was written), 1 that the
// node or the HTTP server could not start.
//
// The multi-host test harness in test/netns runs eight of these agents in
// network namespaces.
package main

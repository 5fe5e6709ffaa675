// Command hearsayd runs one Hearsay cluster member as a process: a node of
// package engine with its configuration from flags or a JSON file, its
// membership events in the log, and its view of the cluster on a local HTTP
// port.
//
// # Running
//
//	hearsayd -bind 10.0.0.1:7946 -seeds 10.0.0.2:7946,10.0.0.3:7946 \
//	    -key-file /etc/hearsay/keys -id-file /var/lib/hearsay/id
//
// The node starts, publishes the -state values, and joins through the seeds
// in the background (retrying until a seed answers); a node whose only seed
// is itself, or that has none, starts a new cluster. Seeds are re-contacted
// periodically afterwards, so list a few stable members on every node.
//
// # Settings
//
// Every setting is a flag; -config names a JSON file with the same settings
// (key_file, id_file, log_level, log_format, dual_stack, leave_timeout with
// underscores; seeds as a list; state as an object). Flags override the file,
// the file overrides the defaults; unknown fields in the file are an error.
// Relative paths in the file are relative to the file.
//
//	-bind addr:port       UDP address to listen on (default 0.0.0.0:7946; [::]:7946 for IPv6)
//	-advertise host:port  address others reach this node at (NAT, containers)
//	-seeds list           comma-separated host:port seeds; names are resolved once, at start
//	-cluster name         cluster name (default "hearsay")
//	-key-file file        AES keys, one per line, hex or base64; the first seals (see below)
//	-preset name          protocol timing: lan (default), wan or local (engine.Default*Config)
//	-id hex               member ID, 16 hex digits
//	-id-file file         where the ID is kept across restarts (created on first start)
//	-http addr            HTTP listen address: host:port (default 127.0.0.1:7947), unix:/path, or off
//	-log-level level      debug, info (default), warn or error
//	-log-format format    text (default) or json
//	-dual-stack           let an IPv6 bind address reach IPv4 members too
//	-leave-timeout d      how long shutdown waits for the leave to spread (default 5s)
//	-state key=value      application state to publish at start (repeatable)
//
// Identity: a member is its ID. Without -id and -id-file every start is a
// new member with a random ID. With -id-file the first start writes a random
// ID (or -id) there and later starts reuse it; each start raises the
// generation (the wall-clock time in nanoseconds at start), so a restarted
// process supersedes its previous self everywhere.
//
// Keys: a key line is 32, 48 or 64 hex digits (a 16, 24 or 32-byte key), or
// base64; prefix it with "hex:" or "base64:" to say which. Blank lines and
// lines starting with '#' are skipped. An empty key file is an error; no
// key file leaves the cluster open, which the node logs. Rotate keys by
// adding the new key second on every node, then moving it first everywhere,
// then removing the old one (engine.Core.SetKeys describes the steps), with
// a restart at each step.
//
// # HTTP
//
// The HTTP server is for the local host (it listens on loopback by default)
// and serves GET only:
//
//	/members  JSON list of every member this node knows, tombstones included:
//	          id, addr, state (alive, suspect, dead, left), generation,
//	          incarnation, state_version, and self for this node; sorted by id.
//	/state    JSON: {"complete": bool, "members": {id: {state, generation,
//	          state_version, keys: {key: {value | value_base64, version}}}}}.
//	          complete is false after events were dropped (then keys first
//	          set during the gap are missing until they change again).
//	/healthz  200 when the node runs and has joined; 503 while joining,
//	          leaving, or rejoining after the cluster declared it dead. The
//	          JSON body has status (ok, joining, leaving, rejoining), id,
//	          addr, live_members, members, uptime.
//	/metrics  every number of engine.NodeStats.Metrics in the Prometheus text
//	          format, named hearsay_*, counters with _total (see metrics.go
//	          for the mapping), plus hearsay_member_states, hearsay_healthy,
//	          hearsay_info.
//	/config   JSON of the configuration in effect, defaults applied; the
//	          keys are counted, never shown.
//
// Generations are nanosecond timestamps (about 1.8e18): JSON tools that
// read numbers as float64 (jq, JavaScript) round them; compare them as
// integers or strings.
//
// # Logs
//
// Logs go to standard error via log/slog. Membership events (join, alive,
// suspect, dead, left, update) are logged at Info with the member's ID,
// address, state, generation and incarnation, and the accusing witness for
// suspect and dead; application-state changes at Debug.
//
// # Signals and exit codes
//
// SIGTERM or SIGINT: the node leaves the cluster (gossiping its Left record
// until it has spread, at most -leave-timeout; a second signal stops
// waiting), closes, and the process exits 0. SIGKILL kills it at once; the
// others then detect it as failed. Exit code 2 means bad flags or
// configuration (nothing was started, no ID file was written), 1 that the
// node or the HTTP server could not start.
//
// # Limits
//
// engine.Node can read one application-state key at a time but cannot list
// a member's keys, so /state lists the keys the agent saw in events (see
// stateIndex). The multi-host test harness in test/netns runs eight of
// these agents in network namespaces.
package main

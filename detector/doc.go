// Package detector holds Hearsay's failure detectors and suspicion math as
// pure values: the phi accrual detector (Phi), the fixed-timeout baseline
// (Timeout), the Lifeguard suspicion timer (SuspicionConfig, Suspicion) and
// the local health multiplier (Health).
//
// # What it does not do
//
// It sends nothing, reads no clock, starts no goroutine and knows no
// message types; it imports neither netio nor engine. Every method that
// depends on time takes the current instant as a Time (monotonic
// nanoseconds since an arbitrary epoch, 8 bytes). The engine decides whom
// to watch, when to probe, and what to do with a verdict.
//
// # Concurrency and allocation
//
// No type here is safe for concurrent use: each value belongs to the one
// goroutine that drives the engine's core. Values may be embedded in
// larger structs. Only NewPhi and Phi.Init allocate (the window, 8 bytes
// per interval; Init reuses a window that is large enough), and the zero
// Phi allocates its window on its first heartbeat. Every other call, in
// particular a heartbeat arrival, a phi query, and every suspicion and
// health operation, is O(1) and allocation-free; TestNoAllocs asserts it.
//
// # Phi accrual
//
// Phi keeps the last Window heartbeat inter-arrival intervals (default
// 100, at most MaxWindow = 4096) in a ring buffer and fits a distribution
// to them. At time now, with the last heartbeat at t₀ and elapsed time
// e = now − t₀,
//
//	normal:      phi = −log10(½·erfc((e − μ − pause) / (σ'·√2))),  σ' = max(σ, MinStdDev)
//	exponential: phi = max(0, e − pause) / (μ'·ln 10),              μ' = max(μ, MinStdDev)
//
// where μ and σ are the window's mean and (population) standard deviation.
// The normal model is Hayashibara et al.'s with Akka's minimum standard
// deviation and acceptable pause; the exponential one is Cassandra's
// (whose standard deviation equals its mean, so the same floor applies to
// the mean). The pause shifts either distribution later: silence up to
// the pause is free. Before the window holds two intervals, μ is
// FirstInterval and σ a quarter of it.
//
// Precision. The window's sums are exact integers: Σx in int64 and Σx² in
// 128 bits (math/bits), with each interval capped at MaxInterval ≤ 2⁵⁰ ns,
// so n·Σx² < 2¹²⁸. An arrival adds one interval and subtracts the evicted
// one exactly; nothing drifts, and no periodic recomputation is needed.
// The variance's numerator n·Σx² − (Σx)² is formed exactly and rounded to
// float64 once, so σ is correct to about 1e-16 even when it is tiny
// beside the mean, where E[x²] − E[x]² in floating point would cancel to
// noise. The mean, σ and the model's constants are refreshed at each
// arrival; a query is a subtraction, a multiplication and the tail.
//
// The tail. 1 − CDF is never formed: phi is computed from erfc, which is
// accurate in relative terms far into the tail, and below the mean from
// log1p, so small phi are exact too. Where float64 erfc would turn
// subnormal (z > 36.8, phi > 295.5) the asymptotic expansion of ln erfc
// takes over, so phi has no cap: it is finite, exact and growing like
// z²/(2·ln 10) for any elapsed time the Time type can express (at
// MinStdDev 100 ms and 1 s mean, 5 s of silence is phi 349.4 and an hour
// is phi 2.8e8). Against a 400-bit reference, the normal tail's relative
// error is below 5e-16 for phi ≥ log10 2 and below 6e-14 in the deep
// lower tail, and the whole detector matches a plain float64
// recomputation to 4e-14 (TestNormalPhiTail, TestPhiMatchesReference).
// Phi is never NaN or negative and never decreases while time passes
// without a heartbeat (FuzzPhi).
//
// A heartbeat at the same instant as the previous one records a zero
// interval; one earlier than the previous one is ignored. SuspectAt
// returns the exact first instant at which Suspicious turns true, so the
// engine can schedule a check instead of polling.
//
// # Worked examples (LAN preset)
//
// Heartbeats every 1 s to each of K = 3 observers; threshold 8, MinStdDev
// 100 ms, no pause. Phi = 8 means a tail probability of 10⁻⁸, reached at
// z = 5.612.
//
//   - Steady node (jitter of a few ms): σ is floored at 100 ms, so phi
//     crosses 8 at 1 s + 5.612 × 100 ms = 1.561 s after the last heartbeat
//     (phi 0.30 at 1 s, 6.54 at 1.5 s, 23.1 at 2 s).
//   - 1% loss: σ ≈ 100 ms, crossing at about 1.57 s.
//   - 10% loss: gaps are geometric, mean 1/0.9 = 1.11 s and σ = √0.1/0.9 =
//     0.35 s, so phi crosses at 1.11 + 5.612 × 0.35 ≈ 3.08 s: only after
//     three heartbeats in a row are lost (one in a thousand) does the
//     observer even probe. A lost heartbeat widens σ, which is what keeps
//     loss from turning into false suspicion.
//   - Cassandra's exponential model with a 1 s mean crosses 8 only at
//     8·ln 10 = 18.42 s.
//
// The engine's budget from a crash to DEAD, at 10,000 members:
//
//	last heartbeat                 0
//	phi reaches 8                  1.561 s   the observer pings the subject
//	ping times out (200 ms)        1.761 s   it asks 3 helpers (ping-req)
//	ping-req times out (400 ms)    2.161 s   SUSPECT; the other 2 observers likewise
//	2 confirmations: Min(10,000)   3.161 s   DEAD
//	(no confirmation: Max)         8.161 s
//
// A crash falls uniformly between heartbeats, so its median distance to
// DEAD at the observers is 3.161 − 0.5 = 2.66 s, leaving 2.3 s for the
// DEAD rumour to reach every member within the 5 s median target.
//
// A node paused for 2 s must survive. In the worst phase the pause begins
// just before a heartbeat is due, so the observers hear nothing for 3 s:
// the suspicion starts at 2.161 s and, fully confirmed, expires at 2.161 s
// + Min. The resumed node's first heartbeat reaches its observers at
// 3.0 s, so Min must exceed 0.84 s plus that heartbeat's delivery. Min =
// 1 s leaves 161 ms; the 500 ms first proposed would declare such a node
// dead whenever its pause began more than 0.66 s after a heartbeat (a
// third of all 2 s pauses). Hence DefaultSuspicionMinBase = 1 s (see
// testdata/paused.txt, which plays both). The margin assumes the observers
// drop a suspicion on any packet from its subject (its heartbeat, a late
// ack); if that first heartbeat is lost, the next comes a second later.
//
// # Suspicion timer
//
// A suspicion lasts Max when nobody confirms it and shrinks on
// Lifeguard's curve as independent witnesses confirm it:
//
//	Timeout(n, c) = Max − (Max − Min)·ln(c+1)/ln(k+1), clamped to [Min, Max]
//	Min(n)        = MinBase × max(1, log10(n)/log10(10,000))
//	Max(n)        = MaxFactor × Min(n)
//
// with k = Expected (default 2: the other two observers), MaxFactor 6
// (Lifeguard's β) and MinBase 1 s. Min has two lower bounds: the time a
// paused or briefly unreachable node needs to be heard again (above; it
// does not depend on n) and the time a refutation needs to spread, which
// grows as log n (why Lifeguard and memberlist scale by log10 n). The
// first dominates up to 10,000 members; beyond, Min grows with log10 n:
// 1 s up to 10,000, 1.25 s at 100,000, 1.5 s at 1,000,000. Suspicion
// records up to MaxWitnesses distinct witness IDs in a fixed array.
//
// # Local health
//
// Health is Lifeguard's local health multiplier: a saturating score in
// [0, Max] (default 8) raised by missed acks and nacks and failed probes,
// lowered by successes, that scales the node's own probe timeouts by
// (1 + score), so a node that is itself slow or paused waits longer
// before accusing others.
//
// # References
//
//   - N. Hayashibara, X. Défago, R. Yared, T. Katayama. The φ accrual
//     failure detector. SRDS 2004.
//   - Akka, PhiAccrualFailureDetector: min-std-deviation and
//     acceptable-heartbeat-pause.
//   - Apache Cassandra, FailureDetector: the exponential model.
//   - A. Das, I. Gupta, A. Motivala. SWIM: scalable weakly-consistent
//     infection-style process group membership protocol. DSN 2002.
//   - A. Dadgar, J. Phillips, J. Currey. Lifeguard: local health awareness
//     for more accurate failure detection. DSN Workshops 2018
//     (arXiv:1707.00788).
//   - W. Chen, S. Toueg, M. K. Aguilera. On the quality of service of
//     failure detectors. IEEE Trans. Computers 51(5), 2002.
package detector

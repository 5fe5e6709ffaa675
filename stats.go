package hearsay

import "github.com/hearsay-io/hearsay/engine"

// Stats is a value snapshot of a node's numbers (Node.Stats): the
// protocol's counters, the socket's, the subscriptions'. Counters only
// grow; fields marked gauge are current values. Its Metrics method names
// every number (for Prometheus, expvar or logs). It is engine.NodeStats.
type Stats = engine.NodeStats

// Metric is one named number of Stats.Metrics. It is engine.Metric.
type Metric = engine.Metric

// RTTHistogram counts round-trip samples by size (Stats.ProbeRTT): one
// sample per answered probe. It is engine.RTTHistogram; RTTBuckets are its
// bounds.
type RTTHistogram = engine.RTTHistogram

// RTTBuckets are the upper bounds of RTTHistogram's buckets.
var RTTBuckets = engine.RTTBuckets

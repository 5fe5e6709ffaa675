// Package ring is a consistent-hash ring over live members and the monitoring topology.
package ring

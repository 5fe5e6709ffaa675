// Package netio moves datagrams: batched UDP, an in-memory network and fault injection.
package netio

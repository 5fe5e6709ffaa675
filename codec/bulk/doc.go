// Package bulk compresses bulk payloads for the wire, with a hard cap on decompressed size.
package bulk

package hearsay

import (
	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/engine"
)

// Errors, for errors.Is. Every error a Node returns reads "hearsay: ..."
// once, and wraps the sentinel of its cause and, where one caused it, the
// context's error.
var (
	// ErrClosed: the node is closed.
	ErrClosed = engine.ErrClosed
	// ErrLeft: the node has left the cluster.
	ErrLeft = engine.ErrLeft
	// ErrInvalidConfig: NewNode's or Config.Validate's error; each field's
	// problem is a *FieldError.
	ErrInvalidConfig = engine.ErrInvalidConfig
	// ErrInvalidID: a string that is not an ID.
	ErrInvalidID = engine.ErrInvalidID

	// ErrInvalidSeed: a seed that is neither "ip:port", "host:port" nor
	// an SRV name.
	ErrInvalidSeed = engine.ErrInvalidSeed
	// ErrNoSeeds: Join had no seed other than this node itself.
	ErrNoSeeds = engine.ErrNoSeeds
	// ErrNoSeedAnswered: Join's context ended before any seed answered:
	// the seeds are down, unreachable, or hold other keys.
	ErrNoSeedAnswered = engine.ErrNoSeedAnswered

	// ErrKeySize: a key that is not 16, 24 or 32 bytes, in Config.Keys or
	// given to InstallKey, UsePrimaryKey or RemoveKey.
	ErrKeySize = codec.ErrKeySize
	// ErrKeyCollision: two keys with the same KeyID (about one pair in
	// 2^32): make another key.
	ErrKeyCollision = codec.ErrKeyCollision
	// ErrKeyNotInstalled: the key is not in the node's keyring.
	ErrKeyNotInstalled = engine.ErrKeyNotInstalled
	// ErrPrimaryKey: the primary key cannot be removed.
	ErrPrimaryKey = engine.ErrPrimaryKey
	// ErrOpenCluster: an open node (without keys) cannot take keys while
	// it runs.
	ErrOpenCluster = engine.ErrOpenCluster

	// ErrStateKeySize: an application-state key that is empty or longer
	// than MaxStateKeySize.
	ErrStateKeySize = engine.ErrKeySize
	// ErrStateValueSize: a value longer than MaxStateValueSize.
	ErrStateValueSize = engine.ErrValueSize
	// ErrStateFull: over Config.MaxStateKeys or MaxStateBytes.
	ErrStateFull = engine.ErrStateFull
	// ErrNoStateKey: DeleteState of a key the node does not have.
	ErrNoStateKey = engine.ErrNoKey
)

package hearsay

import (
	"github.com/hearsay-io/hearsay/engine"
	"github.com/hearsay-io/hearsay/netio"
)

// Config configures a node. It is engine.Config, where every field is
// documented with its unit, default and trade-off: start from
// DefaultLANConfig, DefaultWANConfig or DefaultLocalConfig and change what
// you need; a zero field means its default, and Validate reports every
// problem at once. The fields a service sets first:
//
//   - Keys (or Open): the cluster's AES keys, 16, 24 or 32 random bytes
//     each, the same on every member. Keys[0] seals, all of them open.
//   - BindAddr, and AdvertiseAddr behind NAT or in containers.
//   - Seeds and SeedNames: where Join goes without arguments, and what
//     the node re-contacts so that partitions heal.
//   - ID, persisted, so that a restarted process is the same member (with
//     a higher Generation) rather than a new one.
//   - ClusterName, so that two clusters on one network ignore each other.
//   - Logger.
type Config = engine.Config

// Resolver looks up seed names (Config.Resolver): *net.Resolver
// implements it, and net.DefaultResolver is the default. It is
// engine.Resolver.
type Resolver = engine.Resolver

// FieldError is one invalid Config field, as NewNode and Config.Validate
// report them. It is engine.FieldError.
type FieldError = engine.FieldError

// DefaultLANConfig returns defaults for a data-center network: 1 s
// protocol periods, sub-second probe timeouts, a crash detected in about
// 4 s at 10,000 nodes, and a node cut off for up to 3 s never declared
// dead.
func DefaultLANConfig() Config { return engine.DefaultLANConfig() }

// DefaultWANConfig returns defaults for links with tens to hundreds of
// milliseconds of latency and more jitter: longer periods and timeouts.
func DefaultWANConfig() Config { return engine.DefaultWANConfig() }

// DefaultLocalConfig returns defaults for nodes on one host or on
// loopback, with a port picked by the system: short periods, so that tests
// and demonstrations converge in a second or two.
func DefaultLocalConfig() Config { return engine.DefaultLocalConfig() }

// SocketOptions returns the options NewNode opens its UDP socket with for
// cfg: 4 MiB receive and send buffers (netio.DefaultSocketBuffer, set with
// SO_RCVBUFFORCE and SO_SNDBUFFORCE where the process may, else capped by
// the kernel's net.core.rmem_max and wmem_max: raise those for busy
// nodes), batches of up to 64 datagrams per system call (recvmmsg and
// sendmmsg on Linux), UDP GSO where the kernel has it, datagrams up to
// cfg.MaxDatagramSize, and cfg.DualStack.
func SocketOptions(cfg Config) netio.UDPOptions { return engine.SocketOptions(cfg) }

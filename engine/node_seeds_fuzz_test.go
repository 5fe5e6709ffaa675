package engine

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"testing"
)

// fuzzResolver answers every lookup from the fuzzer's bytes: an SRV name
// gets targets, a host addresses, as many as the bytes make, which may be
// far more than a node keeps.
type fuzzResolver struct{ answers []byte }

func (r fuzzResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	b := r.answers
	for len(b) >= 5 {
		if b[0]&1 == 0 {
			out = append(out, netip.AddrFrom4([4]byte(b[1:5])))
			b = b[5:]
			continue
		}
		if len(b) < 17 {
			break
		}
		out = append(out, netip.AddrFrom16([16]byte(b[1:17])))
		b = b[17:]
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

func (r fuzzResolver) LookupSRV(_ context.Context, _, _, name string) (string, []*net.SRV, error) {
	var out []*net.SRV
	b := r.answers
	for len(b) >= 3 {
		n := int(b[2] % 16)
		if len(b) < 3+n {
			break
		}
		out = append(out, &net.SRV{Port: binary.BigEndian.Uint16(b), Target: string(b[3 : 3+n])})
		b = b[3+n:]
	}
	if b := r.answers; len(b) > 0 && b[0] == 0xff {
		out = append(out, nil) // a resolver may hand back anything
	}
	return name, out, nil
}

// FuzzSeed parses a seed as Config.SeedNames and SetSeeds take it and, for
// a name, resolves it against answers an attacker controls (DNS is network
// input): parsing never panics, an address seed keeps its address, and a
// lookup yields at most maxSeedAddrs distinct addresses, each with a port,
// of a family the socket reaches.
func FuzzSeed(f *testing.F) {
	for _, s := range []string{
		"10.0.0.1:7946", "[fd00::1]:7946", "db-0.db.ns.svc:7946", "_gossip._udp.db.ns.svc", "_gossip._udp.db.ns.svc.",
		"", ":", "[]:1", "[::ffff:10.0.0.1]:1", "host:0", "host:99999", "a..b:1", "_x", "_:1", "x:y:z",
	} {
		f.Add(s, []byte{0, 10, 0, 0, 1, 0, 10, 0, 0, 2})
	}
	f.Add("_gossip._udp.x", []byte{0xff, 0x1e, 4, 'a', '.', 'b', 'c', 0, 0, 1, '.'})
	f.Add("x.test:1", append([]byte{1}, make([]byte, 16)...))
	f.Fuzz(func(t *testing.T, text string, answers []byte) {
		s, err := parseSeed(text)
		if err != nil {
			return
		}
		if s.text != text {
			t.Fatalf("parseSeed(%q).text = %q", text, s.text)
		}
		if !s.name() {
			if a := s.addr; a.Port() == 0 || a.Addr().IsUnspecified() || a.Addr().Is4In6() {
				t.Fatalf("parseSeed(%q) = address %v", text, a)
			}
			return
		}
		if !validName(s.host) || (s.srv && s.port != 0) || (!s.srv && s.port == 0) {
			t.Fatalf("parseSeed(%q) = %+v", text, s)
		}
		reach := func(a netip.Addr) bool { return a.Is4() }
		addrs, err := lookupSeed(context.Background(), fuzzResolver{answers}, s, reach)
		if err != nil {
			return
		}
		if len(addrs) == 0 || len(addrs) > maxSeedAddrs {
			t.Fatalf("lookup of %q gave %d addresses, want 1 to %d", text, len(addrs), maxSeedAddrs)
		}
		for i, a := range addrs {
			if a.Port() == 0 || !reach(a.Addr()) || a.Addr().IsUnspecified() || slices.Contains(addrs[:i], a) {
				t.Fatalf("lookup of %q gave %v, which is not a reachable, distinct address with a port", text, addrs)
			}
		}
	})
}

package engine

import (
	"net/netip"
	"testing"
)

func TestChooseAddr(t *testing.T) {
	a := netip.MustParseAddr
	host := []netip.Addr{a("127.0.0.1"), a("::1"), a("fe80::1"), a("10.1.2.3"), a("2001:db8::7"), a("fd00::5")}
	for _, tc := range []struct {
		cands         []netip.Addr
		v6, dualStack bool
		want          string
	}{
		{host, false, false, "10.1.2.3"},
		{host, true, false, "fd00::5"},
		{host, true, true, "fd00::5"},
		{[]netip.Addr{a("127.0.0.1"), a("::1"), a("fe80::1"), a("10.1.2.3")}, true, true, "10.1.2.3"},
		{[]netip.Addr{a("127.0.0.1"), a("::1"), a("fe80::1"), a("10.1.2.3")}, true, false, "::1"},
		{[]netip.Addr{a("127.0.0.1"), a("fe80::1"), a("8.8.8.8")}, false, false, "8.8.8.8"},
		{[]netip.Addr{a("127.0.0.1"), a("fe80::1")}, true, true, "127.0.0.1"},
		{[]netip.Addr{a("fe80::1"), a("169.254.0.1")}, false, false, "invalid IP"},
	} {
		got, _ := chooseAddr(tc.cands, tc.v6, tc.dualStack)
		if got.String() != tc.want {
			t.Errorf("chooseAddr(%v, v6=%v, dualStack=%v) = %v, want %v", tc.cands, tc.v6, tc.dualStack, got, tc.want)
		}
	}
}

package hearsay_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/hearsay-io/hearsay"
)

// TestErrors checks the root package's sentinels against what a Node
// returns, and that each error has one prefix.
func TestErrors(t *testing.T) {
	cfg := hearsay.DefaultLocalConfig()
	cfg.BindAddr = netip.MustParseAddrPort("127.0.0.1:0")
	cfg.Logger = slog.New(slog.DiscardHandler)
	check := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s = %v, want %v", what, err, want)
		} else if strings.Count(err.Error(), "hearsay:") != 1 {
			t.Errorf("%s = %q, want one prefix", what, err)
		}
	}
	_, err := hearsay.NewNode(cfg)
	check("NewNode(neither Keys nor Open)", err, hearsay.ErrInvalidConfig)
	cfg.Keys = [][]byte{[]byte("too short")}
	_, err = hearsay.NewNode(cfg)
	check("NewNode(short key)", err, hearsay.ErrKeySize)
	cfg.Keys = [][]byte{make([]byte, 16)}
	cfg.SeedNames = []string{"no port"}
	_, err = hearsay.NewNode(cfg)
	check("NewNode(bad seed)", err, hearsay.ErrInvalidSeed)
	cfg.SeedNames = nil

	n, err := hearsay.NewNode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx := context.Background()
	check("Join(bad seed)", n.Join(ctx, "example.com"), hearsay.ErrInvalidSeed)
	check("Join(itself)", n.Join(ctx, n.Addr().String()), hearsay.ErrNoSeeds)
	check("JoinAddrs(itself)", n.JoinAddrs(ctx, n.Addr()), hearsay.ErrNoSeeds)
	check("InstallKey(short)", n.InstallKey([]byte("short")), hearsay.ErrKeySize)
	check("RemoveKey(primary)", n.RemoveKey(make([]byte, 16)), hearsay.ErrPrimaryKey)
	check("SetState(long key)", n.SetState(make([]byte, hearsay.MaxStateKeySize+1), nil), hearsay.ErrStateKeySize)
	check("SetState(long value)", n.SetState([]byte("k"), make([]byte, hearsay.MaxStateValueSize+1)), hearsay.ErrStateValueSize)
	check("DeleteState(missing)", n.DeleteState([]byte("k")), hearsay.ErrNoStateKey)
	if _, err := hearsay.ParseID("xyz"); !errors.Is(err, hearsay.ErrInvalidID) {
		t.Errorf("ParseID(xyz) = %v, want ErrInvalidID", err)
	}
	if err := n.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	check("SetState after Leave", n.SetState([]byte("k"), nil), hearsay.ErrLeft)
	n.Close()
	check("Join after Close", n.Join(ctx, "10.0.0.1:7946"), hearsay.ErrClosed)
}

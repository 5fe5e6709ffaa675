package codec_test

import (
	"bytes"
	"fmt"
	"net/netip"

	"github.com/hearsay-io/hearsay/codec"
)

func ExampleBuilder() {
	// Build a heartbeat datagram with a piggybacked membership update.
	var b codec.Builder
	buf := make([]byte, 0, codec.DefaultDatagramSize)
	b.Reset(buf, codec.DefaultDatagramSize, codec.Header{
		Type:    codec.MsgHeartbeat,
		Cluster: codec.ClusterID("prod"),
		Sender:  0x1111,
		Seq:     1,
	})
	b.AddHeartbeat(codec.Heartbeat{Counter: 42, Members: 3})
	b.AddMember(&codec.Member{
		ID:    0x2222,
		State: codec.StateSuspect,
		Addr:  netip.MustParseAddrPort("10.0.0.2:7946"),
	})
	fmt.Printf("room for %d more members\n", b.Room(codec.RecMember))
	d := b.Finish()

	// Read it back.
	h, body, err := codec.Parse(d)
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Type, len(d), "bytes")
	var r codec.Reader
	r.Reset(int(h.Sections), body)
	for r.Next() {
		for i := range r.Count() {
			switch r.Type() {
			case codec.RecHeartbeat:
				hb, _, _ := codec.ParseHeartbeat(r.Record(i))
				fmt.Println("heartbeat", hb.Counter)
			case codec.RecMember:
				var m codec.Member
				if _, err := m.Decode(r.Record(i)); err == nil {
					fmt.Printf("member %#x %v at %v\n", m.ID, m.State, m.Addr)
				}
			default:
				// A record type from a newer version: skip it.
			}
		}
	}
	if err := r.Err(); err != nil {
		panic(err)
	}
	// Output:
	// room for 22 more members
	// heartbeat 128 bytes
	// heartbeat 42
	// member 0x2222 suspect at 10.0.0.2:7946
}

func ExampleSeal() {
	oldKey := bytes.Repeat([]byte{1}, 32)
	newKey := bytes.Repeat([]byte{2}, 32)
	// Mid-rotation: the sender already seals with the new key; the
	// receiver still seals with the old one but accepts both.
	sender, _ := codec.NewKeyring(newKey, oldKey)
	receiver, _ := codec.NewKeyring(oldKey, newKey)

	var b codec.Builder
	b.Reset(make([]byte, 0, codec.DefaultDatagramSize), codec.DefaultDatagramSize-codec.SealOverhead,
		codec.Header{Type: codec.MsgPing, Cluster: codec.ClusterID("prod"), Sender: 1})
	b.AddPing(codec.Ping{Seq: 9, Target: 2})
	plain := b.Finish()

	sealed, err := codec.Seal(make([]byte, 0, codec.DefaultDatagramSize), plain, sender)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(plain), "bytes plain,", len(sealed), "sealed")

	opened, err := codec.Open(make([]byte, 0, codec.DefaultDatagramSize), sealed, receiver)
	fmt.Println(bytes.Equal(opened, plain), err)

	sealed[len(sealed)-1] ^= 1 // tamper
	_, err = codec.Open(nil, sealed, receiver)
	fmt.Println(err)
	// Output:
	// 60 bytes plain, 92 sealed
	// true <nil>
	// codec: authentication failed
}

func ExampleBuilder_AddUser() {
	// A broadcast relayed in a gossip datagram: the UserMsg names the
	// message (origin, generation, seq), the payload follows it.
	var b codec.Builder
	b.Reset(make([]byte, 0, codec.DefaultDatagramSize), codec.DefaultDatagramSize-codec.SealOverhead, codec.Header{
		Type:    codec.MsgGossip,
		Cluster: codec.ClusterID("prod"),
		Sender:  0x1111,
		Seq:     7,
	})
	fmt.Println("room for a payload of", b.UserRoom(), "bytes")
	b.AddUser(codec.UserMsg{Origin: 0x2222, Generation: 1, Seq: 3, Broadcast: true}, []byte("config v42 is out"))
	d := b.Finish()

	h, body, err := codec.Parse(d)
	if err != nil {
		panic(err)
	}
	var r codec.Reader
	r.Reset(int(h.Sections), body)
	for r.Next() {
		if r.Type() != codec.RecUser {
			continue
		}
		x, payload, err := r.User()
		if err != nil {
			panic(err)
		}
		fmt.Printf("from %x, seq %d, broadcast %v: %q\n", x.Origin, x.Seq, x.Broadcast, payload)
	}
	// Output:
	// room for a payload of 1296 bytes
	// from 2222, seq 3, broadcast true: "config v42 is out"
}

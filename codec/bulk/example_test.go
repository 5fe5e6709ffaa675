package bulk_test

import (
	"fmt"

	"github.com/hearsay-io/hearsay/codec"
	"github.com/hearsay-io/hearsay/codec/bulk"
)

func ExampleCompressDatagram() {
	// A shard transfer too large for one datagram when plain...
	plain := shardData(fullState(40, 1), 40)
	compressed, err := bulk.CompressDatagram(nil, plain)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(plain) > codec.DefaultDatagramSize, len(compressed) <= codec.DefaultDatagramSize)

	// ...and back, with the body capped at what a datagram may carry.
	back, err := bulk.DecompressDatagram(nil, compressed, codec.MaxBodySize)
	fmt.Println(len(back) == len(plain), err)
	// Output:
	// true true
	// true <nil>
}

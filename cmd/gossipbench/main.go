// Command gossipbench runs Hearsay's cluster benchmarks.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "gossipbench: the scenarios are not built yet")
	os.Exit(2)
}

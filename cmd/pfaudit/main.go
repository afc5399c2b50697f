// Command pfaudit audits a Postfix server's relay policy. See README.md.
package main

import (
	"os"
	"runtime/debug"

	"github.com/pfaudit/pfaudit/cmd/pfaudit/cli"
)

// memoryLimit is the soft heap limit pfaudit runs with unless GOMEMLIMIT
// says otherwise: a huge configuration (a mynetworks of a million
// entries) then audits in about 400 MB instead of twice its live data,
// at the price of more garbage collection; ordinary configurations never
// come near it.
const memoryLimit = 384 << 20

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

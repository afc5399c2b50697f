// Command pfaudit audits a Postfix server's relay policy. See README.md.
package main

import (
	"os"

	"github.com/pfaudit/pfaudit/cmd/pfaudit/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Command scalegen writes a configuration directory that is large in one
// input dimension (internal/scalegen): scalegen DIR DIMENSION N.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/pfaudit/pfaudit/internal/scalegen"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintf(os.Stderr, "usage: scalegen DIR DIMENSION N\ndimensions: %s, garbage\n", strings.Join(scalegen.Dims, ", "))
		os.Exit(2)
	}
	n, err := strconv.Atoi(os.Args[3])
	if err != nil || n < 0 {
		fmt.Fprintf(os.Stderr, "scalegen: bad size %q\n", os.Args[3])
		os.Exit(2)
	}
	if err := scalegen.Write(os.Args[1], os.Args[2], n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

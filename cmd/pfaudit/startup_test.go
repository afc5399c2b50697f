package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Init budgets of the built binary (issue 8: start-up no slower than
// postconf). Every package's init runs before any command, whichever it
// is, so what they build is paid by `pfaudit --version` and `pfaudit
// config -x` alike: regular expressions, catalogues and caches are built
// on first use instead. A package over its budget (tablewriter v1.1's
// 663 KB width cache, a catalogue decoded at init) shows here by name.
const (
	ownInitBudget   = 16 << 10  // each github.com/pfaudit/pfaudit package
	otherInitBudget = 128 << 10 // each dependency and standard package
	totalInitBudget = 320 << 10 // all of them (about 200 KB today)
)

// initCost is one line of GODEBUG=inittrace=1: "init PKG @T ms, C ms
// clock, B bytes, A allocs".
type initCost struct {
	pkg           string
	bytes, allocs int
}

func parseInitTrace(out []byte) ([]initCost, error) {
	var costs []initCost
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "init ") {
			continue
		}
		var c initCost
		var at, clock float64
		if _, err := fmt.Sscanf(line, "init %s @%f ms, %f ms clock, %d bytes, %d allocs", &c.pkg, &at, &clock, &c.bytes, &c.allocs); err != nil {
			return nil, fmt.Errorf("inittrace line %q: %v", line, err)
		}
		costs = append(costs, c)
	}
	return costs, sc.Err()
}

func initBytes(costs []initCost) int {
	n := 0
	for _, c := range costs {
		n += c.bytes
	}
	return n
}

func TestInitBudget(t *testing.T) {
	bin := pfauditBinary(t) // as `make build` builds it
	cmd := exec.Command(bin, "--version")
	cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pfaudit --version: %v\n%s", err, stderr.Bytes())
	}
	costs, err := parseInitTrace(stderr.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	own := 0
	for _, c := range costs {
		if strings.HasPrefix(c.pkg, "github.com/pfaudit/pfaudit/") {
			own++
		}
	}
	// The trace must be there and name our packages, or the budgets
	// below would pass on nothing.
	if len(costs) < 50 || own < 5 {
		t.Fatalf("inittrace names %d packages (%d of pfaudit):\n%s", len(costs), own, stderr.Bytes())
	}
	// internal/hugeheap must run before the packages that allocate: what
	// they touch before it would stay in 4 KB pages. An import added to
	// it (package syscall, say) would order it after dozens of them.
	const huge = "github.com/pfaudit/pfaudit/cmd/pfaudit/internal/hugeheap"
	before := 0
	for _, c := range costs {
		if c.pkg == huge {
			break
		}
		before += c.bytes
	}
	if before == initBytes(costs) {
		t.Errorf("%s is not initialised", huge)
	} else if before > 0 {
		t.Errorf("packages initialised before %s allocate %d bytes: it must come first", huge, before)
	}
	total := 0
	for _, c := range costs {
		total += c.bytes
		budget := otherInitBudget
		if strings.HasPrefix(c.pkg, "github.com/pfaudit/pfaudit/") {
			budget = ownInitBudget
		}
		if c.bytes > budget {
			t.Errorf("init of %s allocates %d bytes (%d allocs), budget %d: build it on first use", c.pkg, c.bytes, c.allocs, budget)
		}
	}
	if total > totalInitBudget {
		t.Errorf("package initialisation allocates %d bytes in all, budget %d", total, totalInitBudget)
	}
	t.Logf("%d packages initialised, %d bytes", len(costs), total)
}

package postconf

import (
	"os"
	"strings"
	"testing"
)

// TestStockMasterMatchesInstalled compares the built-in stock master.cf
// with the installed Postfix's master.cf.dist, when there is one.
func TestStockMasterMatchesInstalled(t *testing.T) {
	b, err := os.ReadFile("/usr/share/postfix/master.cf.dist")
	if err != nil {
		t.Skip("no installed master.cf.dist: ", err)
	}
	dist, err := ParseMasterCF("dist", b)
	if err != nil {
		t.Fatal(err)
	}
	stock := StockMaster("x.n")
	if len(dist.Services) != len(stock.Services) {
		t.Fatalf("%d stock entries, %d in master.cf.dist", len(stock.Services), len(dist.Services))
	}
	for i, s := range stock.Services {
		if got, want := s.FormatM(), dist.Services[i].FormatM(); got != want {
			t.Errorf("entry %d:\n got %s\nwant %s", i, got, want)
		}
	}
	if len(stock.Warnings) != 1 || !strings.HasPrefix(stock.Warnings[0].String(), "x.n: ") {
		t.Errorf("warnings: %v", stock.Warnings)
	}
}

package render

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pfaudit/pfaudit/rules"
)

// TestTableFitsTheTerminal: with a terminal width, the findings table
// becomes narrower than the fixed layout, and wider terminals give wider
// tables.
func TestTableFitsTheTerminal(t *testing.T) {
	r := &Report{Tool: "pfaudit", Findings: []rules.Finding{{
		ID: "PFA-RELAY-005", Title: "mynetworks trusts the whole Internet", Severity: rules.Critical,
		Message: strings.Repeat("permit_mynetworks lets anyone relay through 0.0.0.0/0 ", 6),
		File:    "/etc/postfix/main.cf", Line: 12,
		Remediation: []string{"postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'"},
	}}}
	widest := func(width int) int {
		var b bytes.Buffer
		if err := Table(&b, r, Options{Width: width}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range strings.Split(b.String(), "\n") {
			n = max(n, utf8.RuneCountInString(l))
		}
		return n
	}
	fixed, narrow, wide := widest(0), widest(120), widest(200)
	if narrow >= fixed {
		t.Errorf("120-column terminal: %d columns, not narrower than the fixed layout (%d)", narrow, fixed)
	}
	if narrow > 125 {
		t.Errorf("120-column terminal: table is %d columns wide", narrow)
	}
	if wide <= narrow {
		t.Errorf("200 columns gave %d, 120 gave %d", wide, narrow)
	}
}

package probe

import (
	"bytes"
	"strings"
	"testing"
)

// TestWriteTableEscapesReplies: a hostile server's reply text reaches the
// table with its control characters escaped.
func TestWriteTableEscapesReplies(t *testing.T) {
	hostile := "ok\x1b]52;c;ZXZpbA==\x07\x1b[2J\rall clear\u009b"
	r := &Report{Targets: []TargetReport{{Address: "127.0.0.1:25", Host: "mx\x1b[31m", Vantages: []VantageReport{{
		Vantage: VantageLoopback, Verdict: VerdictClosed, Note: "note " + hostile,
		Attempts: []AttemptResult{{Variant: "1", Stage: StageRcpt, RcptTo: "<a\x1b@example.net>", Code: 554, EnhancedCode: "5.7.1", Text: hostile, Outcome: OutcomeRefused}},
	}}}}}
	var b bytes.Buffer
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"\x1b", "\x07", "\r", "\u009b"} {
		if strings.Contains(out, bad) {
			t.Errorf("table carries %q raw:\n%s", bad, out)
		}
	}
	if !strings.Contains(out, `ok\x1b]52`) {
		t.Errorf("escaped reply missing:\n%s", out)
	}
}

package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/rules"
)

// TestControlCharactersEscaped: main.cf values and file names reach the
// table and Markdown escaped (no ESC, BEL, CR or C1 byte on the
// terminal), while JSON keeps them exact.
func TestControlCharactersEscaped(t *testing.T) {
	hostile := "x\x1b]0;owned\x07\x1b[2J\rfake \u009b31m\xff"
	r := &Report{
		Tool: "pfaudit", ConfigDir: "/etc/postfix" + hostile,
		Warnings:  []string{"/etc/postfix/main.cf, line 3: unused parameter: " + hostile},
		Listeners: []ListenerReport{{Service: "smtp" + hostile + "/inet", Verdict: relay.Open, Reason: "mynetworks = " + hostile}},
		Findings: []rules.Finding{{ID: "PFA-RELAY-001", Severity: rules.Critical, Service: "smtp/inet",
			Parameter: "mynetworks", File: "/etc/postfix/main.cf", Line: 3, Title: "open", Message: "value " + hostile,
			Remediation: []string{"postconf -e 'mynetworks = " + hostile + "'"}}},
	}
	for _, format := range []string{"table", "markdown"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, format, r, Options{}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, bad := range []string{"\x1b", "\x07", "\r", "\u009b", "\xff"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s output carries %q raw", format, bad)
				}
			}
			if !strings.Contains(out, `x\x1b]0;owned\x07`) && !strings.Contains(out, `x\\x1b]0;owned\\x07`) {
				t.Errorf("%s output does not show the escaped text:\n%s", format, out)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		var b bytes.Buffer
		if err := Write(&b, "json", r, Options{}); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Findings []struct {
				Message string `json:"message"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(b.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		// encoding/json replaces invalid UTF-8 with U+FFFD; the rest is exact.
		want := strings.ToValidUTF8("value "+hostile, "\uFFFD")
		if len(back.Findings) != 1 || back.Findings[0].Message != want {
			t.Errorf("JSON message %q, want %q", back.Findings, want)
		}
	})
}

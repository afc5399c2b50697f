package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestAuditExitCodes runs the audit end to end on scenarios whose verdicts
// were observed on a real Postfix, and checks the exit code contract.
func TestAuditExitCodes(t *testing.T) {
	cases := []struct {
		name    string
		args    []string
		code    int
		verdict string
	}{
		{"clean MX is closed", []string{"-c", "../../../testdata/scenarios/clean-strict-mx"}, ExitOK, "closed"},
		{"mynetworks 0/0 is open", []string{"-c", "../../../testdata/scenarios/mynetworks-everyone-v4"}, ExitFindings, "open"},
		{"open relay below --fail-on none", []string{"-c", "../../../testdata/scenarios/mynetworks-everyone-v4", "--fail-on", "none"}, ExitOK, "open"},
		{"host bits make it broken", []string{"-c", "../../../testdata/scenarios/mynetworks-host-bits"}, ExitFindings, "broken"},
		{"broken is below critical", []string{"-c", "../../../testdata/scenarios/mynetworks-host-bits", "--fail-on", "critical"}, ExitOK, "broken"},
		{"missing directory", []string{"-c", "/nonexistent/pfaudit"}, ExitError, ""},
		{"bad --fail-on", []string{"-c", "../../../testdata/scenarios/clean-strict-mx", "--fail-on", "loud"}, ExitError, ""},
		{"bad --format", []string{"-c", "../../../testdata/scenarios/clean-strict-mx", "--format", "xml"}, ExitError, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"audit", "--no-probe", "--defaults", "builtin", "--format", "json"}, tc.args...)
			code := Main(args, strings.NewReader(""), &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			if tc.verdict == "" {
				if errb.Len() == 0 {
					t.Fatal("an error exit printed no message")
				}
				return
			}
			var rep struct {
				Listeners []struct {
					Service string `json:"service"`
					Verdict string `json:"verdict"`
				} `json:"listeners"`
			}
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("bad JSON: %v\n%s", err, out.String())
			}
			if len(rep.Listeners) == 0 || rep.Listeners[0].Verdict != tc.verdict {
				t.Fatalf("listeners %+v, want first verdict %s", rep.Listeners, tc.verdict)
			}
		})
	}
}

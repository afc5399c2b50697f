package probe

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// sampleReport is a small report with every verdict and outcome kind.
func sampleReport() *Report {
	return &Report{Targets: []TargetReport{
		{Address: "127.0.0.1:25", Host: "mx.example.com", Banner: "mx.example.com ESMTP Postfix", Vantages: []VantageReport{
			{Vantage: VantageLoopback, Verdict: VerdictOpen, Client: "127.0.0.1", Sessions: 1,
				Note: "loopback: the view of local clients only",
				Attempts: []AttemptResult{
					{Variant: "01", Class: ClassRelay, Stage: StageRcpt, HELO: "probe.example.com", MailFrom: "<>", RcptTo: "<relaytest@example.net>",
						Code: 250, EnhancedCode: "2.1.5", Text: "Ok", Outcome: OutcomeAccepted, Session: 1},
					{Variant: "26", Class: ClassLocal, Stage: StageRcpt, HELO: "probe.example.com", MailFrom: "<probe@[127.0.0.1]>", RcptTo: "<relaytest@[127.0.0.1]>",
						Code: 550, EnhancedCode: "5.1.1", Text: "<relaytest@[127.0.0.1]>: Recipient address rejected: User unknown in local recipient table", Outcome: OutcomeRefused, Session: 1},
				}},
			{Vantage: VantageXClient, Verdict: VerdictUnknown, Client: "203.0.113.5", Sessions: 2,
				Attempts: []AttemptResult{
					{Variant: "04", Class: ClassRelay, Stage: StageMail, HELO: "probe.example.com", MailFrom: "<probe@localhost>", RcptTo: "<relaytest@example.net>",
						Code: 553, EnhancedCode: "5.7.1", Text: "<probe@localhost>: Sender address rejected", Outcome: OutcomeRefused, Session: 1},
					{Variant: "25", Class: ClassRelay, Stage: StageRcpt, HELO: "probe.example.com", MailFrom: "<probe@example.org>", RcptTo: "relaytest@example.net",
						Code: 454, EnhancedCode: "4.7.1", Text: "<relaytest@example.net>: Relay access denied", Outcome: OutcomeDeferred, Session: 1},
					{Variant: "after-auth", Class: ClassRelay, Stage: StageRcpt, HELO: "probe.example.com", MailFrom: "<probe@example.org>", RcptTo: "<relaytest@example.net>",
						Code: 530, EnhancedCode: "5.7.0", Text: "Authentication required", Outcome: OutcomeAuthRequired,
						Note: "AUTH PLAIN with bogus credentials: 535 Error: authentication failed", Session: 2},
				}},
		}},
		{Address: "127.0.0.1:2526", Host: "mx.example.net", Vantages: []VantageReport{
			{Vantage: VantageNetns, Verdict: VerdictClosed, Qualifier: QualifierDeferred, Client: "10.255.0.2", Sessions: 1,
				Reason:     "1 deferred by the relay guard (454 4.7.1 <relaytest@example.com>: Relay access denied)",
				TestDomain: "example.com", SenderDomain: "example.org", TestDomainNote: "example.net is hosted here (550 5.1.1)",
				Warnings: []string{"a warning"},
				DomainChecks: []AttemptResult{
					{Variant: "control", Class: ClassRelay, Stage: StageRcpt, HELO: "probe.example.com", MailFrom: "<probe@example.org>", RcptTo: "<pfaudit-control-0@example.net>",
						Code: 550, EnhancedCode: "5.1.1", Text: "<pfaudit-control-0@example.net>: Recipient address rejected: User unknown in local recipient table", Outcome: OutcomeHosted, Session: 1},
				},
				Attempts: []AttemptResult{
					{Variant: "01", Class: ClassRelay, Stage: StageRcpt, HELO: "probe.example.com", MailFrom: "<>", RcptTo: "<relaytest@example.com>",
						Code: 454, EnhancedCode: "4.7.1", Text: "<relaytest@example.com>: Relay access denied", Outcome: OutcomeRelayDeferred, Session: 1},
				}},
			{Vantage: VantageRemote, Verdict: VerdictBroken, Sessions: 2, Reason: "no smtpd is serving it",
				Attempts: []AttemptResult{{Variant: "session", Stage: StageGreeting, HELO: "probe.example.com", Outcome: OutcomeError, Text: "no greeting"}}},
		}},
		{Address: "[::1]:2525", Vantages: []VantageReport{
			{Vantage: VantageNone, Verdict: VerdictUnknown, Attempts: []AttemptResult{},
				Note: "no untrusted vantage available: the server does not offer XCLIENT to this host"},
			{Vantage: VantageRemote, Verdict: VerdictError, Sessions: 1, Attempts: []AttemptResult{
				{Variant: "session", Stage: StageConnect, HELO: "probe.example.com", Outcome: OutcomeError,
					Text: "probe: connect: dial tcp [::1]:2525: connect: connection refused"},
			}},
		}},
	}}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update if intended):\n%s", name, got)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"verdict 127.0.0.1:25 loopback: OPEN (1 accepted, 1 refused, 1 session)",
		"verdict 127.0.0.1:25 xclient: UNKNOWN",
		"verdict [::1]:2525 none: UNKNOWN",
		"no untrusted vantage available",
		"(MAIL) 553 5.7.1",
		"(CONNECT) probe: connect",
		"verdict 127.0.0.1:2526 netns: CLOSED (deferred) (1 relay-deferred, 1 session)",
		"  reason: 1 deferred by the relay guard",
		"  test domain: example.com (example.net is hosted here (550 5.1.1))",
		"  WARNING: a warning",
		"verdict 127.0.0.1:2526 remote: BROKEN",
		"pfaudit-control-0@example.net",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	golden(t, "report.table.golden", b.Bytes())
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json.golden", b.Bytes())

	// The documented schema: these keys, at these places.
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	targets, _ := doc["targets"].([]any)
	if len(targets) != 3 {
		t.Fatalf("targets: %v", doc["targets"])
	}
	tg := targets[0].(map[string]any)
	for _, k := range []string{"address", "vantages"} {
		if _, ok := tg[k]; !ok {
			t.Errorf("target lacks %q", k)
		}
	}
	v := tg["vantages"].([]any)[0].(map[string]any)
	for _, k := range []string{"vantage", "verdict", "attempts"} {
		if _, ok := v[k]; !ok {
			t.Errorf("vantage lacks %q", k)
		}
	}
	a := v["attempts"].([]any)[0].(map[string]any)
	for _, k := range []string{"helo", "mail_from", "rcpt_to", "code", "enhanced_code", "text", "outcome"} {
		if _, ok := a[k]; !ok {
			t.Errorf("attempt lacks %q", k)
		}
	}
	none := targets[2].(map[string]any)["vantages"].([]any)[0].(map[string]any)
	if att, ok := none["attempts"].([]any); !ok || len(att) != 0 {
		t.Errorf("an empty attempt list must be [] not null: %v", none["attempts"])
	}
}

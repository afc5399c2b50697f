package render

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pfaudit/pfaudit/audit/probe"
	"github.com/pfaudit/pfaudit/internal/validate"
)

// probeSample is a small report with every verdict and outcome kind.
func probeSample() *probe.Report {
	return &probe.Report{Targets: []probe.TargetReport{
		{Address: "127.0.0.1:25", Host: "mx.example.com", Banner: "mx.example.com ESMTP Postfix", Vantages: []probe.VantageReport{
			{Vantage: probe.VantageLoopback, Verdict: probe.VerdictOpen, Client: "127.0.0.1", Sessions: 1,
				Note: "loopback: the view of local clients only",
				Attempts: []probe.AttemptResult{
					{Variant: "01", Class: probe.ClassRelay, Stage: probe.StageRcpt, HELO: "probe.example.com", MailFrom: "<>", RcptTo: "<relaytest@example.net>",
						Code: 250, EnhancedCode: "2.1.5", Text: "Ok", Outcome: probe.OutcomeAccepted, Session: 1},
					{Variant: "26", Class: probe.ClassLocal, Stage: probe.StageRcpt, HELO: "probe.example.com", MailFrom: "<probe@[127.0.0.1]>", RcptTo: "<relaytest@[127.0.0.1]>",
						Code: 550, EnhancedCode: "5.1.1", Text: "<relaytest@[127.0.0.1]>: Recipient address rejected: User unknown in local recipient table", Outcome: probe.OutcomeRefused, Session: 1},
				}},
			{Vantage: probe.VantageXClient, Verdict: probe.VerdictUnknown, Client: "203.0.113.5", Sessions: 2,
				Attempts: []probe.AttemptResult{
					{Variant: "04", Class: probe.ClassRelay, Stage: probe.StageMail, HELO: "probe.example.com", MailFrom: "<probe@localhost>", RcptTo: "<relaytest@example.net>",
						Code: 553, EnhancedCode: "5.7.1", Text: "<probe@localhost>: Sender address rejected", Outcome: probe.OutcomeRefused, Session: 1},
					{Variant: "25", Class: probe.ClassRelay, Stage: probe.StageRcpt, HELO: "probe.example.com", MailFrom: "<probe@example.org>", RcptTo: "relaytest@example.net",
						Code: 454, EnhancedCode: "4.7.1", Text: "<relaytest@example.net>: Relay access denied", Outcome: probe.OutcomeDeferred, Session: 1},
					{Variant: "after-auth", Class: probe.ClassRelay, Stage: probe.StageRcpt, HELO: "probe.example.com", MailFrom: "<probe@example.org>", RcptTo: "<relaytest@example.net>",
						Code: 530, EnhancedCode: "5.7.0", Text: "Authentication required", Outcome: probe.OutcomeAuthRequired,
						Note: "AUTH PLAIN with bogus credentials: 535 Error: authentication failed", Session: 2},
				}},
		}},
		{Address: "[::1]:2525", Vantages: []probe.VantageReport{
			{Vantage: probe.VantageNone, Verdict: probe.VerdictUnknown, Attempts: []probe.AttemptResult{},
				Note: "no untrusted vantage available: the server does not offer XCLIENT to this host"},
			{Vantage: probe.VantageRemote, Verdict: probe.VerdictError, Sessions: 1, Attempts: []probe.AttemptResult{
				{Variant: "session", Stage: probe.StageConnect, HELO: "probe.example.com", Outcome: probe.OutcomeError,
					Text: "probe: connect: dial tcp [::1]:2525: connect: connection refused"},
			}},
		}},
	}}
}

func TestProbeTable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		width int
	}{{"probe.80.txt", 80}, {"probe.200.txt", 200}} {
		var b bytes.Buffer
		if err := ProbeTable(&b, probeSample(), tc.width); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.name, b.Bytes())
		for _, l := range strings.Split(b.String(), "\n") {
			if n := utf8.RuneCountInString(l); n > tc.width {
				t.Errorf("%d columns: line of %d: %q", tc.width, n, l)
			}
		}
	}
}

func TestProbeJSONMatchesSchema(t *testing.T) {
	docs := map[string][]byte{}
	for name, r := range map[string]*probe.Report{"sample": probeSample(), "empty": {}} {
		var b bytes.Buffer
		if err := ProbeJSON(&b, r, ProbeMeta{Version: "1.0.0-test", Host: "probe-host", Time: time.Date(2026, 12, 5, 19, 10, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		docs[name] = b.Bytes()
	}
	golden(t, "probe.json", docs["sample"])
	validate.JSON(t, "probe", docs)
}

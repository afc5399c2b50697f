package relay

import (
	"strconv"
	"strings"
	"testing"
)

// smtpOnly is a master.cf with one public smtpd.
const smtpOnly = "smtp inet n - y - - smtpd\n"

// TestTraceShortened: a long run of restrictions that do not apply is kept
// as its first maxDunnoRun steps and one that stands for the rest; the
// deciding step and the decision are those of the full list.
func TestTraceShortened(t *testing.T) {
	const n = 1000
	list := "permit_mynetworks" + strings.Repeat(", reject_non_fqdn_helo_hostname", n) + ", reject_unauth_destination"
	a := analyzeText(t, "compatibility_level = 3.6\nmyhostname = mx.example.com\nmydomain = example.com\nsmtpd_relay_restrictions = "+list+"\n", smtpOnly)[0]
	if a.Verdict != Closed || a.Deciding == nil {
		t.Fatalf("verdict %s (%s), want closed", a.Verdict, a.Reason)
	}
	tr := a.Deciding.Decision.Trace
	var relay []Step
	for _, s := range tr {
		if s.List == "smtpd_relay_restrictions" {
			relay = append(relay, s)
		}
	}
	// permit_mynetworks and the n HELO checks do not apply: maxDunnoRun
	// of them are kept, then the one standing for the rest, then the guard.
	if len(relay) != maxDunnoRun+2 {
		t.Fatalf("%d steps of smtpd_relay_restrictions, want %d: %+v", len(relay), maxDunnoRun+2, relay)
	}
	stand := relay[len(relay)-2]
	if stand.Index != n+1 || !strings.Contains(stand.Detail, strconv.Itoa(n+1-maxDunnoRun-1)+" restrictions before this one did not decide") {
		t.Errorf("standing step %+v", stand)
	}
	last := relay[len(relay)-1]
	if last.Restriction != "reject_unauth_destination" || last.Index != n+2 || last.Outcome != "reject" {
		t.Errorf("deciding step %+v", last)
	}
}

// TestTraceBounded: restriction classes every few entries break every run
// of steps that did not decide; the trace of a decision still stays within
// maxTraceSteps and the deciding step, and the decision is unchanged.
func TestTraceBounded(t *testing.T) {
	const n = 3000
	var b strings.Builder
	b.WriteString("permit_mynetworks")
	for i := 0; i < n; i++ {
		b.WriteString(", check_sender_access inline:{s" + strconv.Itoa(i) + ".invalid=REJECT}, nothing_class")
	}
	b.WriteString(", reject_unauth_destination")
	a := analyzeText(t, "compatibility_level = 3.6\nmyhostname = mx.example.com\nmydomain = example.com\n"+
		"smtpd_restriction_classes = nothing_class\nnothing_class = check_client_access inline:{192.0.2.1=REJECT}\n"+
		"smtpd_relay_restrictions = "+b.String()+"\n", smtpOnly)[0]
	if a.Verdict != Closed || a.Deciding == nil {
		t.Fatalf("verdict %s (%s), want closed", a.Verdict, a.Reason)
	}
	for _, cs := range a.Cases {
		if n := len(cs.Decision.Trace); n > maxTraceSteps+2 {
			t.Fatalf("%q: %d steps, want at most %d", cs.Trick, n, maxTraceSteps+2)
		}
	}
	tr := a.Deciding.Decision.Trace
	last := tr[len(tr)-1]
	if last.Restriction != "reject_unauth_destination" || last.Outcome != "reject" {
		t.Errorf("deciding step %+v", last)
	}
	if stand := tr[len(tr)-2]; !strings.Contains(stand.Detail, "did not decide either (not listed)") {
		t.Errorf("standing step %+v", stand)
	}
}

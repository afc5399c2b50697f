package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit/lab"
)

type auditJSON struct {
	Listeners []struct {
		Service string `json:"service"`
		Verdict string `json:"verdict"`
		WouldBe string `json:"would_be"`
		Probe   *struct {
			Vantage string `json:"vantage"`
			Verdict string `json:"verdict"`
		} `json:"probe"`
	} `json:"listeners"`
	Findings []struct {
		ID       string `json:"id"`
		Severity string `json:"severity"`
		Service  string `json:"service"`
		Status   string `json:"status"`
		Evidence string `json:"evidence"`
	} `json:"findings"`
}

func runAuditJSON(t *testing.T, dir string) (auditJSON, int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main([]string{"audit", "-c", dir, "--format", "json", "--probe-timeout", "60s"}, strings.NewReader(""), &out, &errb)
	var rep auditJSON
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d, bad JSON: %v\nstdout: %s\nstderr: %s", code, err, out.String(), errb.String())
	}
	return rep, code, errb.String()
}

func findingStatus(rep auditJSON, id string) (string, string, bool) {
	for _, f := range rep.Findings {
		if f.ID == id {
			return f.Status, f.Evidence, true
		}
	}
	return "", "", false
}

// copyConfig copies an instance's main.cf and master.cf into a new
// directory, changing main.cf with edit: "another configuration directory"
// than the one the running Postfix uses.
func copyConfig(t *testing.T, from string, extra string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"main.cf", "master.cf"} {
		b, err := os.ReadFile(filepath.Join(from, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "main.cf" {
			b = append(b, []byte("\n"+extra+"\n")...)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestAuditProbeJoin audits real, private Postfix instances with the live
// probe on: findings the probe can test are confirmed or refuted, and a
// live verdict the audited configuration does not explain is a drift
// finding.
func TestAuditProbeJoin(t *testing.T) {
	lab.Require(t)
	open := lab.Start(t, lab.Open())
	strict := lab.Start(t, lab.Strict())

	// Lab listeners are bound to loopback, so the model calls them closed
	// for Internet clients and open "if exposed" (PFA-RELAY-003); the
	// XCLIENT vantage shows what they do for an outsider.
	t.Run("open relay confirmed", func(t *testing.T) {
		rep, _, stderr := runAuditJSON(t, open.ConfigDir())
		if len(rep.Listeners) == 0 || rep.Listeners[0].WouldBe != "open" || rep.Listeners[0].Probe == nil || rep.Listeners[0].Probe.Verdict != "open" {
			t.Fatalf("listeners %+v, want open if exposed with open probe evidence; stderr %s", rep.Listeners, stderr)
		}
		st, ev, ok := findingStatus(rep, "PFA-RELAY-003")
		if !ok || st != "confirmed" || ev == "" {
			t.Fatalf("PFA-RELAY-003 status %q evidence %q (found %v), want confirmed with evidence", st, ev, ok)
		}
		if _, _, drift := findingStatus(rep, "PFA-PROBE-001"); drift {
			t.Fatal("drift reported where configuration and server agree")
		}
	})
	t.Run("closed server agrees", func(t *testing.T) {
		rep, code, stderr := runAuditJSON(t, strict.ConfigDir())
		if len(rep.Listeners) == 0 || rep.Listeners[0].Verdict != "closed" || rep.Listeners[0].Probe == nil || rep.Listeners[0].Probe.Verdict != "closed" {
			t.Fatalf("exit %d listeners %+v, want closed with closed probe evidence; stderr %s", code, rep.Listeners, stderr)
		}
		for _, f := range rep.Findings {
			if f.Status == "static" {
				t.Fatalf("finding %s still static after a probe", f.ID)
			}
			if f.ID == "PFA-PROBE-001" {
				t.Fatalf("unexpected drift: %+v", f)
			}
		}
	})
	t.Run("live open, configuration closed: drift", func(t *testing.T) {
		dir := copyConfig(t, open.ConfigDir(), "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination")
		rep, code, _ := runAuditJSON(t, dir)
		if code != ExitFindings {
			t.Fatalf("exit %d, want %d (critical drift)", code, ExitFindings)
		}
		for _, f := range rep.Findings {
			if f.ID == "PFA-PROBE-001" {
				if f.Severity != "critical" || f.Status != "drift" {
					t.Fatalf("drift finding %+v, want critical with status drift", f)
				}
				return
			}
		}
		t.Fatalf("no drift finding: %+v", rep.Findings)
	})
	t.Run("live closed, configuration open: refuted", func(t *testing.T) {
		dir := copyConfig(t, strict.ConfigDir(), "smtpd_relay_restrictions = check_client_access static:OK, reject_unauth_destination")
		rep, _, _ := runAuditJSON(t, dir)
		st, _, ok := findingStatus(rep, "PFA-RELAY-003")
		if !ok || st != "refuted" {
			t.Fatalf("PFA-RELAY-003 status %q (found %v), want refuted", st, ok)
		}
		if _, _, drift := findingStatus(rep, "PFA-PROBE-001"); !drift {
			t.Fatal("no drift finding for a configuration the live server contradicts")
		}
	})
	t.Run("interrupted probe fails the audit", func(t *testing.T) {
		// 30 ms is far less than the probe of two vantages needs: the
		// run is cut short, and an audit whose probe did not finish must
		// not exit 0 with "no findings" (issue 12).
		var out, errb bytes.Buffer
		code := Main([]string{"audit", "-c", strict.ConfigDir(), "--format", "json", "--probe-timeout", "30ms"}, strings.NewReader(""), &out, &errb)
		if code != ExitError || !strings.Contains(errb.String(), "interrupted") {
			t.Fatalf("exit %d stderr %q, want %d saying the probe was interrupted", code, errb.String(), ExitError)
		}
	})
	open.AssertNothingSent(t)
	strict.AssertNothingSent(t)
}

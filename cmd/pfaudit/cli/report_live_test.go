package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit/lab"
	"github.com/pfaudit/pfaudit/internal/validate"
)

// TestLiveReportShowsProbeEvidence audits a real, private Postfix with
// the probe on, in every format: the listener carries what the probe
// exercised (the banner it received, the relay attempts), every finding
// of that listener says what the probe made of it, and the JSON and
// SARIF of a live audit validate.
func TestLiveReportShowsProbeEvidence(t *testing.T) {
	lab.Require(t)
	// soft_bounce = yes: a main.cf-wide finding no relay attempt tests.
	opt := lab.SubmissionOpen()
	opt.Main = append(opt.Main, "soft_bounce = yes")
	inst := lab.Start(t, opt)
	run := func(format string) []byte {
		t.Helper()
		var out, errb bytes.Buffer
		code := Main([]string{"audit", "-c", inst.ConfigDir(), "--format", format, "--probe-timeout", "60s", "--fail-on", "none"},
			strings.NewReader(""), &out, &errb)
		if code != ExitOK {
			t.Fatalf("--format %s: exit %d\n%s", format, code, errb.String())
		}
		return out.Bytes()
	}
	js := run("json")
	var rep struct {
		Listeners []struct {
			Service string `json:"service"`
			Probe   *struct {
				Banner   string         `json:"banner"`
				Attempts int            `json:"attempts"`
				Outcomes map[string]int `json:"outcomes"`
			} `json:"probe"`
		} `json:"listeners"`
		Findings []struct {
			ID      string `json:"id"`
			Service string `json:"service"`
			Status  string `json:"status"`
			Probe   string `json:"probe"`
		} `json:"findings"`
	}
	if err := json.Unmarshal(js, &rep); err != nil {
		t.Fatal(err)
	}
	probed := map[string]bool{}
	for _, l := range rep.Listeners {
		if l.Probe == nil {
			continue
		}
		probed[l.Service] = true
		if l.Probe.Banner == "" || l.Probe.Attempts == 0 || len(l.Probe.Outcomes) == 0 {
			t.Errorf("%s: probe evidence without banner or attempts: %+v", l.Service, l.Probe)
		}
	}
	checked := 0
	if len(probed) == 0 {
		t.Fatalf("no listener carries probe evidence:\n%s", js)
	}
	global := 0
	for _, f := range rep.Findings {
		if f.Service == "" && f.Status == "not-tested" {
			global++
			if !strings.Contains(f.Probe, "the probe reached") {
				t.Errorf("main.cf-wide %s: not-tested without the listeners the probe reached: %q", f.ID, f.Probe)
			}
		}
		if !probed[f.Service] {
			continue
		}
		checked++
		if f.Probe == "" {
			t.Errorf("%s on probed %s: no probe field", f.ID, f.Service)
		}
		if f.Status == "not-tested" && !strings.Contains(f.Probe, "banner") {
			t.Errorf("%s on probed %s: not-tested without what the probe saw: %q", f.ID, f.Service, f.Probe)
		}
	}
	if checked == 0 || global == 0 {
		t.Errorf("no finding on a probed listener (%d) or main.cf-wide (%d) to check:\n%s", checked, global, js)
	}
	table := run("table")
	flat := strings.Join(strings.Fields(string(table)), " ")
	if !strings.Contains(flat, "banner \"") || !strings.Contains(flat, "relay attempts") || !strings.Contains(flat, "not-tested by the relay attempts; the probe saw") {
		t.Errorf("table lacks the probe's banner and attempts:\n%s", table)
	}
	validate.JSON(t, "audit", map[string][]byte{"live": js})
	validate.SARIF(t, map[string][]byte{"live": run("sarif")})
	inst.AssertNothingSent(t)
}

package render

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/internal/validate"
)

// reports are every report shape the package's tests build.
func reports() map[string]*Report {
	empty := &Report{Tool: "pfaudit", ConfigDir: "/srv/postfix"}
	return map[string]*Report{"sample": sampleReport(), "dump": dumpReport(), "empty": empty}
}

// TestSARIFAcceptedByCodeScanning validates the SARIF of every report
// shape, with the real catalogue and the test one, with Microsoft's
// validator and the GitHub ingestion rules.
func TestSARIFAcceptedByCodeScanning(t *testing.T) {
	docs := map[string][]byte{}
	for name, r := range reports() {
		for _, o := range []struct {
			suffix string
			opt    Options
		}{
			{"catalogue", Options{BaseDir: "/etc/postfix"}},
			{"test-catalogue", Options{Catalogue: testCatalogue(), SARIFRoot: "/etc"}},
			{"no-root", Options{}},
		} {
			var b bytes.Buffer
			if err := SARIF(&b, r, o.opt); err != nil {
				t.Fatal(err)
			}
			docs[name+"-"+o.suffix] = b.Bytes()
		}
	}
	validate.SARIF(t, docs)
}

// TestJSONMatchesSchema validates the JSON of every report shape against
// schema/audit.schema.json.
func TestJSONMatchesSchema(t *testing.T) {
	docs := map[string][]byte{}
	for name, r := range reports() {
		var b bytes.Buffer
		if err := JSON(&b, r, Options{}); err != nil {
			t.Fatal(err)
		}
		docs[name] = b.Bytes()
	}
	validate.JSON(t, "audit", docs)
}

// TestJUnitStructure parses the JUnit XML back: one suite per scope
// (main.cf and each listener), one case per rule in each, and failures
// exactly for the (rule, scope) pairs with a finding at or above
// --fail-on.
func TestJUnitStructure(t *testing.T) {
	r := sampleReport()
	cat := testCatalogue()
	for _, failOn := range []string{"high", "info", "none"} {
		var b bytes.Buffer
		if err := JUnit(&b, r, Options{Catalogue: cat, FailOn: failOn}); err != nil {
			t.Fatal(err)
		}
		var doc junitSuites
		if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatalf("fail-on %s: %v", failOn, err)
		}
		th := Options{FailOn: failOn}.failOn()
		want := map[string]bool{}
		scopes := map[string]bool{"main.cf": true}
		for _, l := range r.Listeners {
			scopes[l.Service] = true
		}
		for _, f := range r.Findings {
			scopes[junitScope(f)] = true
			if f.Severity >= th {
				want[junitScope(f)+" "+f.ID] = true
			}
		}
		if len(doc.Suites) != len(scopes) {
			t.Errorf("fail-on %s: %d suites, want %d", failOn, len(doc.Suites), len(scopes))
		}
		got := map[string]bool{}
		total := 0
		for _, s := range doc.Suites {
			total += len(s.Cases)
			for _, c := range s.Cases {
				if c.Failure != nil {
					got[strings.TrimPrefix(c.Classname, "pfaudit.")+" "+strings.Fields(c.Name)[0]] = true
				}
			}
		}
		if doc.Failures != len(want) || len(got) != len(want) {
			t.Errorf("fail-on %s: failures %d (%v), want %v", failOn, doc.Failures, got, want)
		}
		for k := range want {
			if !got[k] {
				t.Errorf("fail-on %s: %s did not fail", failOn, k)
			}
		}
		if total != doc.Tests || total != len(scopes)*(len(cat)+1) { // +1: PFA-PROBE-001
			t.Errorf("fail-on %s: %d cases, tests=%d", failOn, total, doc.Tests)
		}
	}
}

package render

import (
	"bytes"
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

package validate

import (
	"fmt"
	"strings"
	"testing"
)

// recorder catches what a validator reports instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }

// TestValidatorsReject: the validators must be able to fail: a SARIF
// result without a location (what GitHub rejects) and an audit document
// with a wrong schema_version and a bad severity.
func TestValidatorsReject(t *testing.T) {
	bad := `{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","version":"1.0","informationUri":"https://example.com","rules":[{"id":"X1","shortDescription":{"text":"x"},"fullDescription":{"text":"x"},"help":{"text":"x"}}]}},"results":[{"ruleId":"X1","level":"error","message":{"text":"no location"}}]}]}`
	r := &recorder{TB: t}
	SARIF(r, map[string][]byte{"bad": []byte(bad)})
	if len(r.errs) == 0 || !strings.Contains(strings.Join(r.errs, "\n"), "locations") {
		t.Errorf("SARIF without locations accepted: %q", r.errs)
	}

	r = &recorder{TB: t}
	JSON(r, "rules", map[string][]byte{"bad": []byte(`{"schema_version": 2, "tool": "pfaudit", "version": "x", "rules": [{"id": "PFA-X-001", "severity": "loud"}]}`)})
	got := strings.Join(r.errs, "\n")
	for _, want := range []string{"schema_version", "severity", "title"} {
		if !strings.Contains(got, want) {
			t.Errorf("invalid rules document: no complaint about %s in %q", want, got)
		}
	}
}

package rules

import (
	"fmt"
	"strings"
)

// Severity orders findings; an open relay is always Critical.
type Severity int

const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var severityNames = [...]string{"info", "low", "medium", "high", "critical"}

func (s Severity) String() string {
	if s < Info || s > Critical {
		return fmt.Sprintf("severity(%d)", int(s))
	}
	return severityNames[s]
}

// ParseSeverity accepts the lower-case names (and "none" as above Critical,
// for --fail-on none).
func ParseSeverity(s string) (Severity, error) {
	for i, n := range severityNames {
		if strings.EqualFold(s, n) {
			return Severity(i), nil
		}
	}
	if strings.EqualFold(s, "none") {
		return Critical + 1, nil
	}
	return 0, fmt.Errorf("unknown severity %q (want info, low, medium, high, critical or none)", s)
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Status says what the live probe made of a finding.
type Status string

const (
	StatusStatic    Status = "static"     // from the configuration only; no probe ran
	StatusConfirmed Status = "confirmed"  // a probe saw what the finding predicts
	StatusRefuted   Status = "refuted"    // a probe saw the opposite
	StatusNotTested Status = "not-tested" // probes ran, but none could test this
	StatusDrift     Status = "drift"      // live behaviour the configuration does not explain
)

// Finding is one problem, as a diagnostic: what, where, how bad, and the
// commands that fix it. File/Line locate it in main.cf or master.cf (Line 0
// when the source has no line numbers, e.g. a postconf -n dump).
type Finding struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Severity    Severity `json:"severity"`
	Service     string   `json:"service,omitempty"`
	Parameter   string   `json:"parameter,omitempty"`
	File        string   `json:"file,omitempty"`
	Line        int      `json:"line,omitempty"`
	Message     string   `json:"message"`
	Remediation []string `json:"remediation"`
	// Apply is what Postfix needs after the remediation: "reload",
	// "restart" or "" (nothing).
	Apply  string `json:"apply,omitempty"`
	Status Status `json:"status"`
	// Evidence is the probe's observation when it confirmed, refuted or
	// contradicted the finding.
	Evidence string `json:"evidence,omitempty"`

	// severitySet marks a severity chosen by the check itself (a policy
	// expectation's own severity) rather than the catalogue's.
	severitySet bool
}

package fleet

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/rules"
)

// junitFormat writes JUnit XML, one <testsuite> per host, for CI systems
// that show test reports. Test cases: one per listener ("relay
// smtp/inet", failing when the listener is not closed and a finding on it
// reaches --fail-on) and one per finding (failing when it reaches
// --fail-on; below it, a passing case whose system-out holds the
// message). A host that could not be audited has one case with <error>.
// So the failures are exactly what makes the exit status 1 or 2.
//
// Kept small on purpose: when audit/render gains its own JUnit writer for
// single audits, the per-host suite should come from there.
type junitFormat struct {
	o Options
}

type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

func (j *junitFormat) begin(w io.Writer, _ []hostDir) error {
	_, err := io.WriteString(w, xml.Header+"<testsuites name=\"pfaudit fleet\">\n")
	return err
}

func (j *junitFormat) prepare(h *Host) error {
	defer func() { h.Report, h.Raw = nil, nil }()
	s := junitSuite{Name: h.Name, Properties: []junitProperty{{"directory", h.Dir}, {"input", string(h.Kind)}}}
	class := "pfaudit." + h.Name
	switch {
	case h.Err != "":
		s.Cases = append(s.Cases, junitCase{Name: "audit", Classname: class,
			Error: &junitProblem{Message: shorten(firstLine(h.Err), 200), Type: "unreadable", Text: h.Err}})
	default:
		for _, l := range h.Report.Listeners {
			c := junitCase{Name: "relay " + l.Service, Classname: class, SystemOut: "verdict " + string(l.Verdict) + ": " + l.Reason}
			if l.Verdict != relay.Closed {
				for _, f := range h.Report.Findings {
					if f.Service == l.Service && f.Severity >= j.o.FailOn {
						c.Failure = &junitProblem{Message: "verdict " + string(l.Verdict), Type: string(l.Verdict), Text: l.Reason}
						break
					}
				}
			}
			s.Cases = append(s.Cases, c)
		}
		for _, f := range h.Report.Findings {
			name := f.ID + " " + listenerName(f.Service)
			if f.Parameter != "" {
				name += " " + f.Parameter
			}
			text := f.Message
			if loc := location(f); loc != "" {
				text += "\n" + loc
			}
			if len(f.Remediation) > 0 {
				text += "\nFix: " + strings.Join(f.Remediation, " ; ")
			}
			c := junitCase{Name: name, Classname: class}
			if f.Severity >= j.o.FailOn {
				c.Failure = &junitProblem{Message: f.Severity.String() + ": " + f.Title, Type: f.Severity.String(), Text: text}
			} else {
				c.SystemOut = f.Severity.String() + ": " + text
			}
			s.Cases = append(s.Cases, c)
		}
		if len(s.Cases) == 0 {
			s.Cases = append(s.Cases, junitCase{Name: "audit", Classname: class, SystemOut: "no smtpd listener and no findings"})
		}
	}
	for _, c := range s.Cases {
		s.Tests++
		if c.Failure != nil {
			s.Failures++
		}
		if c.Error != nil {
			s.Errors++
		}
	}
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	enc.Indent("  ", "  ")
	if err := enc.Encode(s); err != nil {
		return err
	}
	b.WriteByte('\n')
	h.out = b.Bytes()
	return nil
}

func location(f rules.Finding) string {
	switch {
	case f.File == "":
		return ""
	case f.Line > 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

func (j *junitFormat) host(w io.Writer, h *Host) error {
	_, err := w.Write(h.out)
	h.out = nil
	return err
}

func (j *junitFormat) end(w io.Writer, _ *Summary) error {
	_, err := io.WriteString(w, "</testsuites>\n")
	return err
}

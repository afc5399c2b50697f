package fleet

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
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
	XMLName   xml.Name      `xml:"testcase"`
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

// classToken stands for the host's class name in the test cases rendered
// once per analysis.
const classToken = "@@pfaudit-host@@"

func (j *junitFormat) prepare(h *Host) error {
	defer h.drop()
	class := "pfaudit." + h.Name
	var cases []byte
	if h.Err != "" {
		c := junitCase{Name: "audit", Classname: class,
			Error: &junitProblem{Message: shorten(firstLine(h.Err), 200), Type: "unreadable", Text: h.Err}}
		b, err := xml.MarshalIndent(c, "    ", "  ")
		if err != nil {
			return err
		}
		cases = append(b, '\n')
	} else {
		// File locations relative to the host directory (the suite's
		// "directory" property): the cases are then the same for every
		// host sharing the analysis, apart from the class name.
		shared, _, err := h.rendered(func(rep *render.Report, base string) ([]byte, error) {
			return j.cases(relative(rep, base))
		})
		if err != nil {
			return err
		}
		var esc bytes.Buffer
		xml.EscapeText(&esc, []byte(class))
		cases = bytes.ReplaceAll(shared, []byte(classToken), esc.Bytes())
	}
	var b bytes.Buffer
	s := junitSuite{Name: h.Name, Properties: []junitProperty{{"directory", h.Dir}, {"input", string(h.Kind)}},
		Tests: bytes.Count(cases, []byte("<testcase ")), Failures: bytes.Count(cases, []byte("<failure ")), Errors: bytes.Count(cases, []byte("<error "))}
	head, err := xml.MarshalIndent(s, "  ", "  ")
	if err != nil {
		return err
	}
	// head ends with "</testsuite>": put the cases before it.
	closing := []byte("</testsuite>")
	head = bytes.TrimSuffix(head, closing)
	b.Write(bytes.TrimRight(head, " \n"))
	b.WriteByte('\n')
	b.Write(cases)
	b.WriteString("  </testsuite>\n")
	h.out = b.Bytes()
	return nil
}

// cases renders a report's test cases, the class name left as classToken.
func (j *junitFormat) cases(rep *render.Report) ([]byte, error) {
	var cs []junitCase
	for _, l := range rep.Listeners {
		c := junitCase{Name: "relay " + l.Service, Classname: classToken, SystemOut: "verdict " + string(l.Verdict) + ": " + l.Reason}
		if l.Verdict != relay.Closed {
			for _, f := range rep.Findings {
				if f.Service == l.Service && f.Severity >= j.o.FailOn {
					c.Failure = &junitProblem{Message: "verdict " + string(l.Verdict), Type: string(l.Verdict), Text: l.Reason}
					break
				}
			}
		}
		cs = append(cs, c)
	}
	for _, f := range rep.Findings {
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
		c := junitCase{Name: name, Classname: classToken}
		if f.Severity >= j.o.FailOn {
			c.Failure = &junitProblem{Message: f.Severity.String() + ": " + f.Title, Type: f.Severity.String(), Text: text}
		} else {
			c.SystemOut = f.Severity.String() + ": " + text
		}
		cs = append(cs, c)
	}
	if len(cs) == 0 {
		cs = append(cs, junitCase{Name: "audit", Classname: classToken, SystemOut: "no smtpd listener and no findings"})
	}
	var b bytes.Buffer
	for _, c := range cs {
		x, err := xml.MarshalIndent(c, "    ", "  ")
		if err != nil {
			return nil, err
		}
		b.Write(x)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
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

package render

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/pfaudit/pfaudit/rules"
)

// JUnit XML, the dialect CI systems read (Jenkins, GitLab, GitHub
// test-reporter actions): one <testsuite> per scope (each smtpd listener,
// and main.cf for findings outside any listener), one <testcase> per rule
// in each scope. A rule with a finding at or above --fail-on fails its
// test case; a finding below the threshold passes and is told in
// <system-out>.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string      `xml:"name,attr"`
	Tests      int         `xml:"tests,attr"`
	Failures   int         `xml:"failures,attr"`
	Errors     int         `xml:"errors,attr"`
	Skipped    int         `xml:"skipped,attr"`
	Hostname   string      `xml:"hostname,attr,omitempty"`
	Timestamp  string      `xml:"timestamp,attr,omitempty"`
	Properties *junitProps `xml:"properties"`
	Cases      []junitCase `xml:"testcase"`
}

type junitProps struct {
	Property []junitProperty `xml:"property"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut *junitText    `xml:"system-out"`
}

type junitText struct {
	Text string `xml:",cdata"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// junitScope is the suite a finding belongs to.
func junitScope(f rules.Finding) string {
	if f.Service == "" {
		return "main.cf"
	}
	return f.Service
}

// JUnit writes the report as JUnit XML.
func JUnit(w io.Writer, r *Report, o Options) error {
	cat := o.Catalogue
	if cat == nil {
		cat = rules.Catalogue()
	}
	type ruleRef struct{ id, title string }
	var rs []ruleRef
	known := map[string]bool{}
	for _, ru := range cat {
		rs = append(rs, ruleRef{ru.ID, ru.Title})
		known[ru.ID] = true
	}
	for _, f := range r.Findings {
		if !known[f.ID] {
			known[f.ID] = true
			rs = append(rs, ruleRef{f.ID, f.Title})
		}
	}
	scopes := []string{"main.cf"}
	verdicts := map[string]ListenerReport{}
	for _, l := range r.Listeners {
		scopes = append(scopes, l.Service)
		verdicts[l.Service] = l
	}
	byKey := map[string][]rules.Finding{}
	for _, f := range r.Findings {
		s := junitScope(f)
		if s != "main.cf" && !contains(scopes, s) {
			scopes = append(scopes, s)
		}
		byKey[s+"\x00"+f.ID] = append(byKey[s+"\x00"+f.ID], f)
	}
	th := o.failOn()
	ts := ""
	if !r.Time.IsZero() {
		ts = r.Time.UTC().Format("2006-01-02T15:04:05")
	}
	out := junitSuites{Name: "pfaudit " + r.host()}
	for _, s := range scopes {
		su := junitSuite{Name: r.host() + " " + s, Hostname: r.Host, Timestamp: ts}
		prop := func(n, v string) {
			if su.Properties == nil {
				su.Properties = &junitProps{}
			}
			su.Properties.Property = append(su.Properties.Property, junitProperty{n, v})
		}
		if l, ok := verdicts[s]; ok {
			prop("verdict", string(l.Verdict))
			if l.Local != "" {
				prop("local", string(l.Local))
			}
			if l.TestDomain != "" {
				prop("test_domain", l.TestDomain)
			}
			for _, a := range l.Assumptions {
				prop("assumption", a)
			}
			if l.Probe != nil {
				prop("probe", probeSeen(l.Probe))
			}
		}
		for _, ru := range rs {
			c := junitCase{Name: ru.id + " " + ru.title, Classname: "pfaudit." + s}
			fs := byKey[s+"\x00"+ru.id]
			var texts []string
			worst := rules.Info
			for _, f := range fs {
				texts = append(texts, junitFindingText(r, f))
				worst = max(worst, f.Severity)
			}
			switch {
			case len(fs) > 0 && worst >= th:
				msg := fs[0].Message
				if len(fs) > 1 {
					msg = fmt.Sprintf("%d findings; first: %s", len(fs), msg)
				}
				c.Failure = &junitFailure{Message: msg, Type: worst.String(), Text: strings.Join(texts, "\n\n")}
				su.Failures++
			case len(fs) > 0:
				c.SystemOut = &junitText{fmt.Sprintf("below --fail-on %s:\n%s", th, strings.Join(texts, "\n\n"))}
			}
			su.Cases = append(su.Cases, c)
			su.Tests++
		}
		out.Tests += su.Tests
		out.Failures += su.Failures
		out.Suites = append(out.Suites, su)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitFindingText is a finding as a failure's text: severity, message,
// location, probe, fix.
func junitFindingText(r *Report, f rules.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n%s", strings.ToUpper(f.Severity.String()), f.ID, f.Title, f.Message)
	if loc := location(f); loc != "" {
		fmt.Fprintf(&b, "\nat: %s", loc)
	}
	if pr := r.findingProbe(f); pr != "" {
		fmt.Fprintf(&b, "\nprobe: %s", pr)
	}
	if len(f.Remediation) > 0 {
		fmt.Fprintf(&b, "\nfix:\n  %s", strings.Join(f.Remediation, "\n  "))
	}
	return b.String()
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

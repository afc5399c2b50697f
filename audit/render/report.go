// Package render turns one audit result (Report) into the output formats of
// `pfaudit audit`: a terminal table, JSON with a documented stable schema,
// Markdown, and SARIF 2.1.0 for code scanning. Renderers only format: the
// findings, their fixes and the listener verdicts are computed elsewhere
// (packages rules and audit/relay), and probe evidence slots in through
// ListenerReport.Probe and Finding.Status/Evidence.
package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/rules"
)

// Report is the result of one audit, the single model every renderer reads.
type Report struct {
	// Tool and Version name the program ("pfaudit", "1.2.0").
	Tool, Version string
	// Host is the audited server's name (its myhostname), PostfixVersion
	// the Postfix release whose defaults were used (mail_version), and
	// Time when the audit ran (zero: not stated).
	Host           string
	PostfixVersion string
	Time           time.Time
	// ConfigDir is the audited configuration directory ("" for dumps).
	ConfigDir string
	// Defaults says where defaults came from ("postconf -d (...)").
	Defaults string
	// LineNumbers is false when the configuration came from postconf
	// dumps, whose findings carry line 0.
	LineNumbers bool
	// Roles are the host roles the rules ran for.
	Roles []string
	// Listeners are the smtpd listeners with their relay verdicts.
	Listeners []ListenerReport
	// Findings, sorted (rules.SortFindings).
	Findings []rules.Finding
	// Warnings are postconf-style warnings about the input.
	Warnings []string
}

// ListenerReport is one smtpd listener's relay verdict and why.
type ListenerReport struct {
	// Service names the listener as postconf -M does: "smtp/inet",
	// "127.0.0.1:10025/inet".
	Service string `json:"service"`
	// Verdict for untrusted Internet clients: open, closed, broken, unknown.
	Verdict relay.Verdict `json:"verdict"`
	// WouldBe is the verdict a loopback-only listener would have if exposed.
	WouldBe relay.Verdict `json:"would_be,omitempty"`
	// Local is the verdict for clients on this host.
	Local        relay.Verdict `json:"local,omitempty"`
	Reason       string        `json:"reason"`
	LoopbackOnly bool          `json:"loopback_only"`
	Postscreen   bool          `json:"postscreen"`
	// Guard is smtpd's startup check of the RCPT lists.
	Guard relay.Guard `json:"guard"`
	// Deciding is the request that decided the verdict; Trace is its
	// trace (empty when there is none).
	Deciding *relay.Case  `json:"deciding,omitempty"`
	Trace    []relay.Step `json:"trace"`
	// Probe is what the live probe saw on this listener (nil: no probe).
	Probe *ProbeEvidence `json:"probe,omitempty"`
	// TestDomain is the third-party domain of the relay attempts (a
	// reserved name foreign to this configuration) and TestDomainNote why
	// it was chosen.
	TestDomain     string `json:"test_domain,omitempty"`
	TestDomainNote string `json:"test_domain_note,omitempty"`
	// Assumptions are what the verdict rests on beyond the configuration.
	Assumptions []string `json:"assumptions,omitempty"`
}

// ProbeEvidence is the live probe's observation of one listener.
type ProbeEvidence struct {
	Vantage string `json:"vantage"` // loopback, xclient, netns, remote
	Verdict string `json:"verdict"` // open, closed, unknown, error
	Client  string `json:"client,omitempty"`
	Note    string `json:"note,omitempty"`
	// Address is the host:port probed, Banner the first line of the 220
	// greeting it sent, and Attempts how many relay attempts the vantage
	// made with Outcomes counting them ("refused": 33). Empty when the
	// probe report was not attached (AttachProbe).
	Address  string         `json:"address,omitempty"`
	Banner   string         `json:"banner,omitempty"`
	Attempts int            `json:"attempts,omitempty"`
	Outcomes map[string]int `json:"outcomes,omitempty"`
}

// FromAnalyses converts relay analyses into listener reports.
func FromAnalyses(as []*relay.Analysis) []ListenerReport {
	out := make([]ListenerReport, 0, len(as))
	for _, a := range as {
		if a == nil {
			continue
		}
		lr := ListenerReport{
			Service: a.Listener.Key, Verdict: a.Verdict, WouldBe: a.WouldBe, Local: a.Local,
			Reason: a.Reason, LoopbackOnly: a.Listener.LoopbackOnly, Postscreen: a.Listener.Postscreen,
			Guard: a.Guard, Deciding: a.Deciding, Trace: []relay.Step{},
			TestDomain: a.TestDomain, TestDomainNote: a.TestDomainNote, Assumptions: a.Assumptions,
		}
		if a.Deciding != nil && a.Deciding.Decision.Trace != nil {
			lr.Trace = a.Deciding.Decision.Trace
		}
		out = append(out, lr)
	}
	return out
}

// Options adjust rendering.
type Options struct {
	// Color enables ANSI colours in the table. The caller decides: on
	// when standard output is a terminal and NO_COLOR is unset.
	Color bool
	// BaseDir, for SARIF: artifact URIs of files inside it are written
	// relative to it (what code scanning of a configuration repository
	// wants); other files get absolute file:// URIs.
	BaseDir string
	// Catalogue supplies SARIF rule descriptors; nil means
	// rules.Catalogue().
	Catalogue []rules.Rule
	// Width is the terminal's width in columns: the table layout wraps
	// and truncates to it. 0 means a pipe or a file: 80 columns.
	Width int
	// FailOn is the --fail-on threshold ("" means high): the summary line
	// says PASS or FAIL by it, --quiet keeps only findings at or above
	// it, and JUnit marks them as failures.
	FailOn string
	// Quiet, for the table: only the summary line and one line per
	// finding at or above FailOn.
	Quiet bool
	// SARIFRoot, for SARIF, is the directory artifact URIs are relative
	// to (uriBaseId PFAUDITROOT); "" uses BaseDir.
	SARIFRoot string
}

// Formats are the values of --format.
var Formats = []string{"table", "json", "markdown", "sarif", "junit", "summary"}

// Write renders r in the named format.
func Write(w io.Writer, format string, r *Report, o Options) error {
	switch format {
	case "table":
		return Table(w, r, o)
	case "json":
		return JSON(w, r, o)
	case "markdown", "md":
		return Markdown(w, r, o)
	case "sarif":
		return SARIF(w, r, o)
	case "junit":
		return JUnit(w, r, o)
	case "summary":
		_, err := fmt.Fprintln(w, SummaryLine(r, o))
		return err
	}
	return fmt.Errorf("unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// counts returns the number of findings per severity.
func (r *Report) counts() map[rules.Severity]int {
	m := map[rules.Severity]int{}
	for _, f := range r.Findings {
		m[f.Severity]++
	}
	return m
}

// summary is "3 findings: 1 critical, 2 low" or "no findings".
func (r *Report) summary() string {
	if len(r.Findings) == 0 {
		return "no findings"
	}
	c := r.counts()
	var parts []string
	for s := rules.Critical; s >= rules.Info; s-- {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	n := "findings"
	if len(r.Findings) == 1 {
		n = "finding"
	}
	return fmt.Sprintf("%d %s: %s", len(r.Findings), n, strings.Join(parts, ", "))
}

// listenerName is what the renderers print for a finding's service.
func listenerName(s string) string {
	if s == "" {
		return "main.cf"
	}
	return s
}

// location is "file:line", or "file" for line 0.
func location(f rules.Finding) string {
	switch {
	case f.File == "":
		return ""
	case f.Line > 0:
		return fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	return f.File
}

// failOn is the threshold of o (high when unset or invalid: the CLI
// validates the flag before rendering).
func (o Options) failOn() rules.Severity {
	if o.FailOn == "" {
		return rules.High
	}
	s, err := rules.ParseSeverity(o.FailOn)
	if err != nil {
		return rules.High
	}
	return s
}

// failing are the findings at or above o's threshold.
func (r *Report) failing(o Options) []rules.Finding {
	var out []rules.Finding
	th := o.failOn()
	for _, f := range r.Findings {
		if f.Severity >= th {
			out = append(out, f)
		}
	}
	return out
}

// host is the report's host name, or "unknown host".
func (r *Report) host() string {
	if r.Host == "" {
		return "unknown host"
	}
	return r.Host
}

// SummaryLine is the report in one line, for cron mail and monitoring:
// PASS or FAIL by --fail-on first, the host, the listeners that are not
// closed (or how many are closed), and the findings per severity.
//
//	FAIL mail.example.com: open relay smtp/inet; 8 findings: 1 critical, 2 high, 4 medium, 1 info; 3 at or above high
func SummaryLine(r *Report, o Options) string {
	fail := r.failing(o)
	st := "PASS"
	if len(fail) > 0 {
		st = "FAIL"
	}
	byVerdict := map[relay.Verdict][]string{}
	for _, l := range r.Listeners {
		byVerdict[l.Verdict] = append(byVerdict[l.Verdict], l.Service)
	}
	var ls []string
	for _, v := range []struct {
		v    relay.Verdict
		name string
	}{{relay.Open, "open relay"}, {relay.Broken, "broken"}, {relay.Unknown, "unknown"}} {
		if n := byVerdict[v.v]; len(n) > 0 {
			ls = append(ls, v.name+" "+strings.Join(n, " "))
		}
	}
	switch n := len(byVerdict[relay.Closed]); {
	case len(r.Listeners) == 0:
		ls = append(ls, "no smtpd listener")
	case n == len(r.Listeners) && n == 1:
		ls = append(ls, "1 listener closed")
	case n == len(r.Listeners):
		ls = append(ls, fmt.Sprintf("%d listeners closed", n))
	case n > 0:
		ls = append(ls, fmt.Sprintf("%d closed", n))
	}
	line := fmt.Sprintf("%s %s: %s; %s", st, r.host(), strings.Join(ls, ", "), r.summary())
	th := o.failOn()
	if th > rules.Critical {
		return line + "; --fail-on none"
	}
	return line + fmt.Sprintf("; %d at or above %s", len(fail), th)
}

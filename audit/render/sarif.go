package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/pfaudit/pfaudit/rules"
)

// SARIF 2.1.0 (OASIS), the subset code-scanning services read: one run,
// the tool's rules as reportingDescriptors, results located at the
// main.cf/master.cf line of the finding.

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	toolURI      = "https://github.com/pfaudit/pfaudit"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool         `json:"tool"`
	AutomationDetails sarifAutomation   `json:"automationDetails"`
	Invocations       []sarifInvocation `json:"invocations,omitempty"`
	Results           []sarifResult     `json:"results"`
	Properties        map[string]any    `json:"properties,omitempty"`
}

// sarifAutomation identifies the run: code scanning keeps one analysis
// per category (the id up to its last "/"), so that per-host uploads do
// not replace each other.
type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool   `json:"executionSuccessful"`
	EndTimeUTC          string `json:"endTimeUtc,omitempty"`
	// Notifications carry the report's warnings about its input (an
	// assumed master.cf, postconf's own warnings), so that code scanning
	// shows them too.
	Notifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Level   string    `json:"level"`
	Message sarifText `json:"message"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string            `json:"name"`
	Version        string            `json:"version,omitempty"`
	InformationURI string            `json:"informationUri"`
	Rules          []sarifDescriptor `json:"rules"`
}

type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifDescriptor struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	FullDescription      sarifText      `json:"fullDescription"`
	HelpURI              string         `json:"helpUri"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration sarifConfig    `json:"defaultConfiguration"`
	Properties           map[string]any `json:"properties"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           *sarifRegion  `json:"region,omitempty"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

// sarifLevel maps severities to SARIF levels.
func sarifLevel(s rules.Severity) string {
	switch {
	case s >= rules.High:
		return "error"
	case s == rules.Medium:
		return "warning"
	}
	return "note"
}

// problemSeverity is the descriptor's problem.severity: code scanning
// accepts error, warning and recommendation only.
func problemSeverity(s rules.Severity) string {
	switch {
	case s >= rules.High:
		return "error"
	case s == rules.Medium:
		return "warning"
	}
	return "recommendation"
}

// securitySeverity is the CVSS-like score code scanning ranks security
// results by (critical >= 9.0, high >= 7.0, medium >= 4.0, low > 0).
func securitySeverity(s rules.Severity) string {
	return [...]string{"1.0", "3.0", "5.0", "8.0", "9.5"}[s]
}

// sarifRootID names the directory artifact URIs are relative to: the
// --sarif-root (or the configuration directory), which code scanning
// resolves against the checkout.
const sarifRootID = "PFAUDITROOT"

// SARIF writes the report as a SARIF 2.1.0 log that GitHub code scanning
// accepts: every result is located (a finding without a file points at
// main.cf line 1), every rule has help text and a helpUri into the
// Postfix documentation it cites, security-severity follows the effective
// (policy-adjusted) severity, fingerprints do not depend on the checkout
// path or line numbers, and messages name files relative to the root.
func SARIF(w io.Writer, r *Report, o Options) error {
	cat := o.Catalogue
	if cat == nil {
		cat = rules.Catalogue()
	}
	name := r.Tool
	if name == "" {
		name = "pfaudit"
	}
	root := o.SARIFRoot
	if root == "" {
		root = o.BaseDir
	}
	if root != "" {
		if abs, err := filepath.Abs(root); err == nil {
			root = abs
		}
	}
	// The effective severity of a rule in this report: the highest of its
	// findings, which a site policy may have raised or lowered.
	effective := map[string]rules.Severity{}
	for _, f := range r.Findings {
		if s, ok := effective[f.ID]; !ok || f.Severity > s {
			effective[f.ID] = f.Severity
		}
	}
	drv := sarifDriver{Name: name, Version: r.Version, InformationURI: toolURI, Rules: []sarifDescriptor{}}
	index := map[string]int{}
	add := func(ru rules.Rule) int {
		if s, ok := effective[ru.ID]; ok {
			ru.Severity = s
		}
		index[ru.ID] = len(drv.Rules)
		drv.Rules = append(drv.Rules, descriptor(ru))
		return index[ru.ID]
	}
	for _, ru := range cat {
		add(ru)
	}
	for _, f := range r.Findings {
		if _, ok := index[f.ID]; !ok {
			add(builtinRule(f))
		}
	}
	run := sarifRun{Tool: sarifTool{Driver: drv}, Results: []sarifResult{},
		AutomationDetails: sarifAutomation{ID: name + "/" + automationHost(r.Host) + "/"},
		Properties: map[string]any{
			"host": r.Host, "postfixVersion": r.PostfixVersion, "defaults": r.Defaults, "roles": nonNil(r.Roles),
		}}
	if !r.Time.IsZero() {
		run.Invocations = []sarifInvocation{{ExecutionSuccessful: true, EndTimeUTC: r.Time.UTC().Format("2006-01-02T15:04:05Z")}}
	}
	seenFP := map[string]int{}
	for _, f := range r.Findings {
		i := index[f.ID]
		msg := relativise(f.Message, root)
		// The finding's own message identifies it; the fix and the probe's
		// observation (banner, counts) may change from run to run.
		ident := msg
		if len(f.Remediation) > 0 {
			msg += "\nFix: " + relativise(strings.Join(f.Remediation, " ; "), root)
		}
		if pr := r.findingProbe(f); pr != "" {
			msg += "\nProbe: " + pr
		}
		file, line := f.File, f.Line
		if file == "" {
			// Code scanning rejects results without a location: a
			// main.cf-wide finding without a line points at main.cf.
			file = "main.cf"
			if r.ConfigDir != "" {
				file = filepath.Join(r.ConfigDir, "main.cf")
			}
		}
		if line <= 0 {
			line = 1
		}
		uri, base := artifactURI(file, root)
		fp := fingerprint(f, uri, ident)
		seenFP[fp]++
		if n := seenFP[fp]; n > 1 {
			fp = fingerprint(f, uri, fmt.Sprintf("%s\x00%d", ident, n))
		}
		res := sarifResult{
			RuleID: f.ID, RuleIndex: i, Level: sarifLevel(f.Severity),
			Message: sarifText{Text: msg},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: uri, URIBaseID: base},
				Region:           &sarifRegion{StartLine: line},
			}}},
			PartialFingerprints: map[string]string{"pfauditFinding/v2": fp},
			Properties: map[string]any{
				"severity":    f.Severity.String(),
				"service":     f.Service,
				"parameter":   f.Parameter,
				"remediation": nonNil(f.Remediation),
				"apply":       f.Apply,
				"status":      statusOf(f),
				"lineKnown":   f.Line > 0,
			},
		}
		run.Results = append(run.Results, res)
	}
	if len(r.Warnings) > 0 {
		if len(run.Invocations) == 0 {
			run.Invocations = []sarifInvocation{{ExecutionSuccessful: true}}
		}
		for _, wn := range r.Warnings {
			run.Invocations[0].Notifications = append(run.Invocations[0].Notifications, sarifNotification{Level: "warning", Message: sarifText{Text: relativise(wn, root)}})
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

// automationHost makes a host name safe inside an automation id.
func automationHost(h string) string {
	if h == "" {
		return "unknown-host"
	}
	return strings.NewReplacer("/", "_", " ", "_").Replace(h)
}

// relativise rewrites absolute paths under root in a message relative to root, so that no runner path leaks
// into code scanning.
func relativise(s, root string) string {
	if root == "" {
		return s
	}
	s = strings.ReplaceAll(s, root+string(filepath.Separator), "")
	return strings.ReplaceAll(s, root, ".")
}

// builtinRule describes a finding that has no catalogue entry (the
// probe's drift finding, or a rule added elsewhere) so that its result
// still has a rule with help text.
func builtinRule(f rules.Finding) rules.Rule {
	r := rules.Rule{ID: f.ID, Title: f.Title, Severity: f.Severity, Family: "pfaudit",
		Why: f.Title + ". " + f.Message}
	if f.ID == "PFA-PROBE-001" {
		r.Family = "probe"
		r.Checks = "Compares the relay verdict the configuration predicts for untrusted clients with what the live probe observed on the same listener."
		r.Why = "A live server that relays when its configuration says it does not (or the reverse) runs something other than what was audited: a configuration changed without postfix reload, another configuration directory, NAT or a proxy that changes who looks trusted, postscreen, a milter or a policy service."
		r.References = []string{"postfix(1)", "SMTPD_ACCESS_README", "MULTI_INSTANCE_README"}
		r.Remediation = []string{"postfix reload", "postconf -c /etc/postfix -n  # compare with the running instance"}
	}
	if r.Title == "" {
		r.Title = f.ID
	}
	return r
}

func statusOf(f rules.Finding) string {
	if f.Status == "" {
		return string(rules.StatusStatic)
	}
	return string(f.Status)
}

func descriptor(r rules.Rule) sarifDescriptor {
	help := r.Why
	md := "**Why.** " + r.Why
	if len(r.References) > 0 {
		help += "\nReferences: " + strings.Join(r.References, "; ")
		md += "\n\n**References.** " + strings.Join(r.References, "; ")
	}
	if len(r.Remediation) > 0 {
		help += "\nFix (example): " + strings.Join(r.Remediation, " ; ")
		md += "\n\n**Fix (example).**\n\n```sh\n" + strings.Join(r.Remediation, "\n") + "\n```"
	}
	if r.Apply != "" && r.Apply != "none" {
		help += "\nThen: postfix " + r.Apply
		md += "\n\nThen `postfix " + r.Apply + "`."
	}
	full := r.Checks
	if full == "" {
		full = r.Title
	}
	fam := r.Family
	if fam == "" {
		fam = "pfaudit"
	}
	if help == "" {
		help = r.Title
		md = r.Title
	}
	return sarifDescriptor{
		ID: r.ID, Name: camel(r.Title), HelpURI: helpURI(r.References),
		ShortDescription:     sarifText{Text: r.Title},
		FullDescription:      sarifText{Text: full},
		Help:                 sarifText{Text: help, Markdown: md},
		DefaultConfiguration: sarifConfig{Level: sarifLevel(r.Severity)},
		Properties: map[string]any{
			"tags":              []string{"security", "postfix", fam},
			"precision":         "high",
			"problem.severity":  problemSeverity(r.Severity),
			"security-severity": securitySeverity(r.Severity),
		},
	}
}

// camel turns a title into the identifier-like name SARIF suggests:
// "Listener is an open relay" -> "ListenerIsAnOpenRelay".
func camel(s string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			up = true
			continue
		}
		if up {
			r = unicode.ToUpper(r)
			up = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// artifactURI makes a file name into a SARIF artifact URI: relative
// (with forward slashes, uriBaseId PFAUDITROOT) under base, file:// for
// other absolute paths, the name itself for relative names.
func artifactURI(file, base string) (uri, baseID string) {
	if base != "" && filepath.IsAbs(file) {
		if b, err := filepath.Abs(base); err == nil {
			if rel, err := filepath.Rel(b, file); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return (&url.URL{Path: filepath.ToSlash(rel)}).String(), sarifRootID
			}
		}
	}
	if filepath.IsAbs(file) {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(file)}).String(), ""
	}
	if base != "" {
		// A relative name is relative to the working directory; keep it
		// so when the root is the working directory.
		if abs, err := filepath.Abs(file); err == nil {
			return artifactURI(abs, base)
		}
	}
	return (&url.URL{Path: filepath.ToSlash(file)}).String(), ""
}

// fingerprint identifies a finding across runs, checkouts and hosts: the
// rule, listener, parameter, the file relative to the root and the
// message (already relative), never the line number, so that code
// scanning tracks it when lines move.
func fingerprint(f rules.Finding, uri, msg string) string {
	h := sha256.Sum256([]byte(strings.Join([]string{f.ID, f.Service, f.Parameter, uri, msg}, "\x00")))
	return hex.EncodeToString(h[:16])
}

// helpURI links the first reference that is a Postfix document:
// "postconf(5) mynetworks" -> postconf.5.html#mynetworks,
// "SMTPD_ACCESS_README" -> SMTPD_ACCESS_README.html, "master(5)" ->
// master.5.html. Rules citing none link pfaudit's documentation.
func helpURI(refs []string) string {
	for _, ref := range refs {
		if m := manRefRE().FindStringSubmatch(ref); m != nil {
			u := postfixDocs + m[1] + "." + m[2] + ".html"
			if m[1] == "postconf" && m[2] == "5" && paramRE().MatchString(m[3]) {
				u += "#" + m[3]
			}
			return u
		}
		if readmeRE().MatchString(ref) {
			return postfixDocs + ref + ".html"
		}
	}
	return toolURI + "#readme"
}

const postfixDocs = "https://www.postfix.org/"

var (
	manRefRE = lazyRegexp(`^([a-z_]+)\(([0-9])\)\s*(\S*)`)
	paramRE  = lazyRegexp(`^[a-z][a-z0-9_]*$`)
	readmeRE = lazyRegexp(`^[A-Z][A-Z0-9_]*_README$`)
)

package render

import (
	"encoding/json"
	"io"
	"time"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/rules"
)

// SchemaVersion is the version of the JSON schema below. It changes only
// when a field is removed or changes meaning; new fields may appear within
// a version. schema/audit.schema.json is the published JSON Schema.
const SchemaVersion = 1

// The JSON schema, version 1 (every key is always present unless marked
// optional; arrays are never null):
//
//	{
//	  "schema_version": 1,
//	  "tool": "pfaudit", "version": "1.0.0",
//	  "host": "mail.example.com",                 // the audited server's myhostname
//	  "postfix_version": "3.7.11",                // mail_version of the defaults used
//	  "generated_at": "2026-12-05T19:10:00Z",     // "" when not stated
//	  "config_directory": "/etc/postfix",        // "" for postconf dumps
//	  "defaults_source": "postconf -d (...)",
//	  "line_numbers": true,                       // false for dumps: every line is 0
//	  "roles": ["mx", "submission"],              // the roles the rules ran for
//	  "summary": {"critical": 0, "high": 1, "medium": 2, "low": 0, "info": 0, "total": 3},
//	  "listeners": [{
//	    "service": "smtp/inet",                   // as postconf -M names it
//	    "verdict": "open|closed|broken|unknown",  // for untrusted Internet clients
//	    "would_be": "open",                       // optional: loopback-only listener if exposed
//	    "local": "open",                          // optional: for clients on this host
//	    "reason": "...",
//	    "loopback_only": false, "postscreen": false,
//	    "guard": {"ok": true, "reason": "...", "pos": {"file": "...", "line": 12}},
//	    "deciding": {...},                        // optional: the deciding request (client,
//	                                              // sender, recipient, decision)
//	    "trace": [{"list": "smtpd_relay_restrictions", "index": 1,
//	               "restriction": "permit_mynetworks", "outcome": "permit",
//	               "detail": "...", "pos": {"file": "/etc/postfix/main.cf", "line": 40}}],
//	    "test_domain": "example.net", "test_domain_note": "...",  // optional
//	    "assumptions": ["..."],                   // optional
//	    "probe": {"vantage": "xclient", "verdict": "closed", "client": "...", "note": "...",
//	              "address": "127.0.0.1:25", "banner": "...", "attempts": 33,
//	              "outcomes": {"refused": 33}}    // optional
//	  }],
//	  "findings": [{
//	    "id": "PFA-RELAY-007", "title": "...",
//	    "severity": "info|low|medium|high|critical",
//	    "service": "submission/inet",             // "" when the problem is main.cf-wide
//	    "parameter": "mynetworks",
//	    "file": "/etc/postfix/main.cf", "line": 12, // line 0: no line number known
//	    "message": "...",
//	    "remediation": ["postconf -e '...'"],     // commands, possibly empty
//	    "apply": "reload|restart|",               // what Postfix needs after the commands
//	    "status": "static|confirmed|refuted|not-tested|drift",
//	    "evidence": "",                           // the probe's observation, when any
//	    "probe": ""                               // what the probe made of it, as the table says
//	  }],
//	  "commands": ["postconf -e '...'", "postfix reload"],  // MakePlan: all fixes, safe order
//	  "conflicts": [],                            // fixes left out of commands for review
//	  "warnings": []
//	}
type jsonReport struct {
	SchemaVersion   int              `json:"schema_version"`
	Tool            string           `json:"tool"`
	Version         string           `json:"version"`
	Host            string           `json:"host"`
	PostfixVersion  string           `json:"postfix_version"`
	GeneratedAt     string           `json:"generated_at"`
	ConfigDirectory string           `json:"config_directory"`
	DefaultsSource  string           `json:"defaults_source"`
	LineNumbers     bool             `json:"line_numbers"`
	Roles           []string         `json:"roles"`
	Summary         map[string]int   `json:"summary"`
	Listeners       []ListenerReport `json:"listeners"`
	Findings        []jsonFinding    `json:"findings"`
	Commands        []string         `json:"commands"`
	Conflicts       []string         `json:"conflicts"`
	Warnings        []string         `json:"warnings"`
}

// jsonFinding fixes the finding keys independently of rules.Finding's own
// tags, so that the schema stays stable.
type jsonFinding struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Severity    string   `json:"severity"`
	Service     string   `json:"service"`
	Parameter   string   `json:"parameter"`
	File        string   `json:"file"`
	Line        int      `json:"line"`
	Message     string   `json:"message"`
	Remediation []string `json:"remediation"`
	Apply       string   `json:"apply"`
	Status      string   `json:"status"`
	Evidence    string   `json:"evidence"`
	Probe       string   `json:"probe"`
}

// rfc3339 is t in UTC, "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// JSON writes the report as indented JSON in the schema above.
func JSON(w io.Writer, r *Report, o Options) error {
	out := jsonReport{
		SchemaVersion: SchemaVersion, Tool: r.Tool, Version: r.Version,
		Host: r.Host, PostfixVersion: r.PostfixVersion, GeneratedAt: rfc3339(r.Time),
		ConfigDirectory: r.ConfigDir, DefaultsSource: r.Defaults, LineNumbers: r.LineNumbers,
		Roles: nonNil(r.Roles), Summary: map[string]int{"total": len(r.Findings)},
		Listeners: append([]ListenerReport{}, r.Listeners...), Findings: []jsonFinding{}, Warnings: nonNil(r.Warnings),
	}
	if out.Tool == "" {
		out.Tool = "pfaudit"
	}
	for s := rules.Info; s <= rules.Critical; s++ {
		out.Summary[s.String()] = 0
	}
	for _, f := range r.Findings {
		out.Summary[f.Severity.String()]++
		st := string(f.Status)
		if st == "" {
			st = string(rules.StatusStatic)
		}
		out.Findings = append(out.Findings, jsonFinding{ID: f.ID, Title: f.Title, Severity: f.Severity.String(),
			Service: f.Service, Parameter: f.Parameter, File: f.File, Line: f.Line, Message: f.Message,
			Remediation: nonNil(f.Remediation), Apply: f.Apply, Status: st, Evidence: f.Evidence,
			Probe: r.findingProbe(f)})
	}
	for i := range out.Listeners {
		if out.Listeners[i].Trace == nil {
			out.Listeners[i].Trace = []relay.Step{}
		}
	}
	p := MakePlan(r)
	out.Commands, out.Conflicts = nonNil(p.Commands), nonNil(p.Conflicts)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

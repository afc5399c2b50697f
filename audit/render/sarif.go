package render

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
	// Invocations carry the report's warnings about its input (an assumed
	// master.cf, postconf's own warnings) as toolExecutionNotifications,
	// so that code scanning shows them too.
	Invocations []sarifInvocation `json:"invocations,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
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
	URI string `json:"uri"`
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

// securitySeverity is the CVSS-like score code scanning ranks security
// results by (critical >= 9.0, high >= 7.0, medium >= 4.0, low > 0).
func securitySeverity(s rules.Severity) string {
	return [...]string{"1.0", "3.0", "5.0", "8.0", "9.5"}[s]
}

// SARIF writes the report as a SARIF 2.1.0 log. Findings with a file are
// located at it (with region.startLine when the line is known); relative
// to o.BaseDir when the file lies inside it.
func SARIF(w io.Writer, r *Report, o Options) error {
	cat := o.Catalogue
	if cat == nil {
		cat = rules.Catalogue()
	}
	name := r.Tool
	if name == "" {
		name = "pfaudit"
	}
	drv := sarifDriver{Name: name, Version: r.Version, InformationURI: toolURI, Rules: []sarifDescriptor{}}
	index := map[string]int{}
	for _, ru := range cat {
		index[ru.ID] = len(drv.Rules)
		drv.Rules = append(drv.Rules, descriptor(ru))
	}
	run := sarifRun{Tool: sarifTool{Driver: drv}, Results: []sarifResult{}}
	for _, f := range r.Findings {
		i, ok := index[f.ID]
		if !ok {
			// A finding from outside the catalogue still gets a descriptor.
			i = len(run.Tool.Driver.Rules)
			index[f.ID] = i
			run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, descriptor(rules.Rule{ID: f.ID, Title: f.Title, Severity: f.Severity}))
		}
		msg := f.Message
		if len(f.Remediation) > 0 {
			msg += "\nFix: " + strings.Join(f.Remediation, " ; ")
		}
		res := sarifResult{
			RuleID: f.ID, RuleIndex: i, Level: sarifLevel(f.Severity),
			Message: sarifText{Text: msg},
			PartialFingerprints: map[string]string{
				"pfauditFinding/v1": fingerprint(f),
			},
			Properties: map[string]any{
				"severity":    f.Severity.String(),
				"service":     f.Service,
				"parameter":   f.Parameter,
				"remediation": nonNil(f.Remediation),
				"apply":       f.Apply,
				"status":      statusOf(f),
			},
		}
		if f.File != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifArtifact{URI: artifactURI(f.File, o.BaseDir)}}}
			if f.Line > 0 {
				loc.PhysicalLocation.Region = &sarifRegion{StartLine: f.Line}
			}
			res.Locations = []sarifLocation{loc}
		}
		run.Results = append(run.Results, res)
	}
	if len(r.Warnings) > 0 {
		inv := sarifInvocation{ExecutionSuccessful: true}
		for _, wn := range r.Warnings {
			inv.Notifications = append(inv.Notifications, sarifNotification{Level: "warning", Message: sarifText{Text: wn}})
		}
		run.Invocations = []sarifInvocation{inv}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
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
	return sarifDescriptor{
		ID: r.ID, Name: camel(r.Title),
		ShortDescription:     sarifText{Text: r.Title},
		FullDescription:      sarifText{Text: full},
		Help:                 sarifText{Text: help, Markdown: md},
		DefaultConfiguration: sarifConfig{Level: sarifLevel(r.Severity)},
		Properties: map[string]any{
			"tags":              []string{"security", "postfix", fam},
			"precision":         "high",
			"problem.severity":  sarifLevel(r.Severity),
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

// artifactURI makes a file name into a SARIF artifact URI: relative (with
// forward slashes) under base, file:// for other absolute paths, the name
// itself for relative names.
func artifactURI(file, base string) string {
	if base != "" && filepath.IsAbs(file) {
		if b, err := filepath.Abs(base); err == nil {
			if rel, err := filepath.Rel(b, file); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return (&url.URL{Path: filepath.ToSlash(rel)}).String()
			}
		}
	}
	if filepath.IsAbs(file) {
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(file)}).String()
	}
	return (&url.URL{Path: filepath.ToSlash(file)}).String()
}

// fingerprint identifies a finding across runs independently of its line
// number, so that code scanning tracks it when lines move.
func fingerprint(f rules.Finding) string {
	h := sha256.Sum256([]byte(strings.Join([]string{f.ID, f.Service, f.Parameter, filepath.Base(f.File), f.Message}, "\x00")))
	return hex.EncodeToString(h[:16])
}

package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/pfaudit/pfaudit/audit/probe"
)

// ProbeMeta names a probe run in its JSON document.
type ProbeMeta struct {
	Version string    // pfaudit's version
	Host    string    // the host the probe ran on
	Time    time.Time // when it ran
}

// ProbeJSON writes a probe report as the document of
// schema/probe.schema.json: schema_version, tool, version, host and
// generated_at, then the probe report's own keys (targets).
func ProbeJSON(w io.Writer, r *probe.Report, m ProbeMeta) error {
	doc := struct {
		SchemaVersion int    `json:"schema_version"`
		Tool          string `json:"tool"`
		Version       string `json:"version"`
		Host          string `json:"host"`
		GeneratedAt   string `json:"generated_at"`
		*probe.Report
	}{SchemaVersion, "pfaudit", m.Version, m.Host, rfc3339(m.Time), r}
	if doc.Report == nil || doc.Report.Targets == nil {
		doc.Report = &probe.Report{Targets: []probe.TargetReport{}}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // addresses are <...>: keep them readable
	return enc.Encode(doc)
}

// ProbeTable writes a probe report within width columns (80 for pipes):
// per target a heading with the banner, one line per attempt (variant,
// vantage, outcome, envelope) with the reply indented below it, and a
// verdict line per vantage. The variant, vantage and outcome lead each
// attempt's line, so grep finds them.
func ProbeTable(w io.Writer, r *probe.Report, width int) error {
	if width <= 0 {
		width = DefaultWidth
	}
	width = max(width, minWidth)
	ew := &errWriter{w: w}
	for i, t := range r.Targets {
		if i > 0 {
			ew.printf("\n")
		}
		title := "Target " + t.Address
		if t.Host != "" {
			title += " (" + t.Host + ")"
		}
		ew.lines(wrap(title, width, "  "))
		if t.Banner != "" {
			ew.lines(wrap("banner: "+t.Banner, width, "  "))
		}
		helo := ""
		wv, wa, wo := len("#"), len("VANTAGE"), len("OUTCOME")
		for _, v := range t.Vantages {
			wa = max(wa, runes(v.Vantage))
			for _, a := range v.Attempts {
				wv = max(wv, runes(a.Variant))
				wo = max(wo, runes(a.Outcome))
				if helo == "" {
					helo = a.HELO
				}
			}
		}
		if helo != "" {
			ew.lines(wrap("HELO: "+helo+" (unless the attempt says otherwise)", width, "  "))
		}
		rows := 0
		for _, v := range t.Vantages {
			rows += len(v.Attempts)
		}
		if rows > 0 {
			ew.printf("%s  %s  %s  %s\n", pad("#", "#", wv), pad("VANTAGE", "VANTAGE", wa), pad("OUTCOME", "OUTCOME", wo), "MAIL FROM -> RCPT TO / REPLY")
		}
		for _, v := range t.Vantages {
			for _, a := range v.Attempts {
				env := a.MailFrom + " -> " + a.RcptTo
				if a.HELO != "" && a.HELO != helo {
					env = "HELO " + a.HELO + " " + env
				}
				if a.MailFrom == "" && a.RcptTo == "" {
					env = "-"
				}
				head := pad(a.Variant, a.Variant, wv) + "  " + pad(v.Vantage, v.Vantage, wa) + "  " + pad(a.Outcome, a.Outcome, wo) + "  "
				ew.lines(wrap(env, width, "      ", head))
				if rep := probeReply(a); rep != "" {
					ew.lines(wrap(rep, width, "      ", "    "))
				}
			}
		}
		for _, v := range t.Vantages {
			line := fmt.Sprintf("verdict %s %s: %s", t.Address, v.Vantage, probe.VerdictWord(v.Verdict, v.Qualifier))
			if s := probeCounts(v); s != "" {
				line += " (" + s + ")"
			}
			ew.lines(wrap(line, width, "  "))
			td := v.TestDomain
			if td != "" && v.TestDomainNote != "" {
				td += " (" + v.TestDomainNote + ")"
			}
			for _, l := range []struct{ label, text string }{{"reason: ", v.Reason}, {"test domain: ", td}, {"", v.Note}} {
				if l.text != "" {
					ew.lines(wrap(l.label+l.text, width, "  ", "  "))
				}
			}
			for _, warn := range v.Warnings {
				ew.lines(wrap("WARNING: "+warn, width, "  ", "  "))
			}
		}
	}
	return ew.err
}

// probeReply is a reply on one line: the stage when it is not RCPT, the
// code, the enhanced code and the first line of the text (or the error).
func probeReply(a probe.AttemptResult) string {
	var parts []string
	if a.Stage != "" && a.Stage != probe.StageRcpt {
		parts = append(parts, "("+strings.ToUpper(a.Stage)+")")
	}
	if a.Code != 0 {
		parts = append(parts, strconv.Itoa(a.Code))
	}
	if a.EnhancedCode != "" {
		parts = append(parts, a.EnhancedCode)
	}
	text, _, _ := strings.Cut(a.Text, "\n")
	if text != "" {
		parts = append(parts, text)
	}
	if a.Note != "" {
		parts = append(parts, "["+a.Note+"]")
	}
	return strings.Join(parts, " ")
}

// probeCounts counts a vantage's outcomes: "3 accepted, 30 refused, 2 sessions".
func probeCounts(v probe.VantageReport) string {
	counts := map[string]int{}
	var order []string
	for _, a := range v.Attempts {
		if counts[a.Outcome] == 0 {
			order = append(order, a.Outcome)
		}
		counts[a.Outcome]++
	}
	var parts []string
	for _, o := range []string{probe.OutcomeAccepted, probe.OutcomeRefused, probe.OutcomeDeferred, probe.OutcomeAuthRequired, probe.OutcomeError} {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
			delete(counts, o)
		}
	}
	for _, o := range order {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	switch {
	case v.Sessions == 1:
		parts = append(parts, "1 session")
	case v.Sessions > 1:
		parts = append(parts, fmt.Sprintf("%d sessions", v.Sessions))
	}
	return strings.Join(parts, ", ")
}

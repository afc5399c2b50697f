package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/rules"
)

// ANSI colours; used only with Options.Color.
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

func paint(on bool, code, s string) string {
	if !on || s == "" {
		return s
	}
	return code + s + ansiReset
}

func severityColour(s rules.Severity) string {
	switch s {
	case rules.Critical:
		return ansiBold + ansiRed
	case rules.High:
		return ansiRed
	case rules.Medium:
		return ansiYellow
	case rules.Low:
		return ansiCyan
	}
	return ansiDim
}

func verdictColour(v relay.Verdict) string {
	switch v {
	case relay.Open:
		return ansiBold + ansiRed
	case relay.Broken, relay.Unknown:
		return ansiYellow
	case relay.Closed:
		return ansiGreen
	}
	return ""
}

// Column widths of the findings table: wide enough for a finding to read
// as a sentence and a postconf command to stay recognisable when wrapped.
const (
	findingWidth  = 52
	evidenceWidth = 36
	fixWidth      = 48
)

// Table writes the report for a terminal: the listeners and their relay
// verdicts, the findings (severity, rule, listener, finding, evidence,
// fix), and the commands to run, deduplicated and in a safe order.
func Table(w io.Writer, r *Report, o Options) error {
	ew := &errWriter{w: w}
	head := r.Tool
	if head == "" {
		head = "pfaudit"
	}
	if r.ConfigDir != "" {
		head += " audit of " + r.ConfigDir
	} else {
		head += " audit of postconf dumps"
	}
	if r.Defaults != "" {
		head += " (defaults: " + r.Defaults + ")"
	}
	ew.printf("%s\n", esc(head))
	if len(r.Roles) > 0 {
		ew.printf("Host roles: %s\n", strings.Join(r.Roles, ", "))
	}
	for _, wn := range r.Warnings {
		ew.printf("warning: %s\n", esc(wn))
	}
	if ew.err != nil {
		return ew.err
	}

	ew.printf("\nListeners\n")
	if len(r.Listeners) == 0 {
		ew.printf("  (no smtpd listeners in master.cf)\n")
	} else {
		t := newTable(w, map[int]int{3: fit(o.Width, listenerOverhead, findingWidth+fixWidth/2, 30)})
		t.Header([]string{"LISTENER", "VERDICT", "LOCAL", "WHY"})
		for _, l := range r.Listeners {
			verdict := paint(o.Color, verdictColour(l.Verdict), string(l.Verdict))
			if l.LoopbackOnly && l.WouldBe != "" {
				verdict += " (loopback; exposed: " + paint(o.Color, verdictColour(l.WouldBe), string(l.WouldBe)) + ")"
			}
			if l.Probe != nil {
				verdict += "\nprobe " + l.Probe.Vantage + ": " + paint(o.Color, verdictColour(relay.Verdict(l.Probe.Verdict)), l.Probe.Verdict)
			}
			if err := t.Append([]string{esc(l.Service), verdict, string(l.Local), esc(listenerWhy(l))}); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}

	ew.printf("\nFindings: %s\n", r.summary())
	if len(r.Findings) > 0 {
		t := newTable(w, findingWidths(o.Width))
		t.Header([]string{"SEVERITY", "RULE", "LISTENER", "FINDING", "EVIDENCE", "FIX"})
		for _, f := range r.Findings {
			sev := paint(o.Color, severityColour(f.Severity), strings.ToUpper(f.Severity.String()))
			finding := f.Title + ": " + f.Message
			fix := strings.Join(f.Remediation, "\n")
			if fix == "" {
				fix = "(see finding)"
			}
			if err := t.Append(append([]string{sev}, escAll(f.ID, listenerName(f.Service), finding, evidence(f), fix)...)); err != nil {
				return err
			}
		}
		if err := t.Render(); err != nil {
			return err
		}
	}

	p := MakePlan(r)
	if len(p.Commands) > 0 {
		ew.printf("\nRun these commands (table files, then main.cf, then master.cf, then one reload or restart):\n\n")
		for _, c := range p.Commands {
			ew.printf("    %s\n", esc(c))
		}
	}
	if len(p.Conflicts) > 0 {
		ew.printf("\nLeft out because an earlier command sets the same parameter (review by hand):\n\n")
		for _, c := range p.Conflicts {
			ew.printf("    %s\n", esc(c))
		}
	}
	return ew.err
}

// listenerWhy is the reason column: the verdict's reason and the deciding
// step.
func listenerWhy(l ListenerReport) string {
	why := l.Reason
	if !l.Guard.OK && l.Guard.Reason != "" && l.Verdict == relay.Broken {
		why = l.Guard.Reason
	}
	if n := len(l.Trace); n > 0 {
		s := l.Trace[n-1]
		step := fmt.Sprintf("%s #%d %s: %s", s.List, s.Index, s.Restriction, s.Outcome)
		if p := s.Pos.String(); p != "" {
			step += " (" + p + ")"
		}
		if why != "" {
			why += "\n"
		}
		why += "decided by " + step
	}
	if l.TestDomain != "" && l.TestDomain != "example.net" {
		// Only a choice that differs from the usual third party needs
		// saying: the server hosts example.net, or more.
		why += "\nthird party: " + l.TestDomain + " (" + l.TestDomainNote + ")"
	}
	for _, a := range l.Assumptions {
		why += "\nassumed: " + a
	}
	return why
}

// Columns other than the wrapped text ones, with borders and padding: what
// a terminal width must leave for them.
const (
	listenerOverhead = 48 // LISTENER, VERDICT, LOCAL and borders
	findingOverhead  = 48 // SEVERITY, RULE, LISTENER and borders
)

// fit scales a column to a terminal of width cols: what is left after the
// fixed columns, never below min. cols 0 keeps the default.
func fit(cols, overhead, def, min int) int {
	if cols <= 0 {
		return def
	}
	return max(cols-overhead, min)
}

// findingWidths shares a terminal's width among FINDING, EVIDENCE and FIX
// in the proportions of the default widths.
func findingWidths(cols int) map[int]int {
	if cols <= 0 {
		return map[int]int{3: findingWidth, 4: evidenceWidth, 5: fixWidth}
	}
	total := max(cols-findingOverhead, 72)
	sum := findingWidth + evidenceWidth + fixWidth
	f := total * findingWidth / sum
	e := total * evidenceWidth / sum
	return map[int]int{3: f, 4: e, 5: total - f - e}
}

func newTable(w io.Writer, widths map[int]int) *tablewriter.Table {
	perCol := tw.NewMapper[int, int]()
	for c, n := range widths {
		perCol.Set(c, n)
	}
	cfg := tablewriter.Config{
		Header: tw.CellConfig{
			Formatting: tw.CellFormatting{AutoFormat: tw.Off, AutoWrap: tw.WrapNone},
			Alignment:  tw.CellAlignment{Global: tw.AlignLeft},
		},
		Row: tw.CellConfig{
			Formatting:   tw.CellFormatting{AutoWrap: tw.WrapNormal},
			Alignment:    tw.CellAlignment{Global: tw.AlignLeft},
			ColMaxWidths: tw.CellWidth{PerColumn: perCol},
		},
		Behavior: tw.Behavior{TrimSpace: tw.Off},
	}
	return tablewriter.NewTable(w, tablewriter.WithConfig(cfg))
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}

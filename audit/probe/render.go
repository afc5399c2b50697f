package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/pfaudit/pfaudit/internal/display"
)

// WriteJSON writes the report as indented JSON. The schema: top level
// "targets"; each target has "address", "host", "banner" and "vantages";
// each vantage has "vantage", "verdict" (open, closed, unknown, broken,
// error), "qualifier" ("deferred"), "reason", "test_domain",
// "sender_domain", "test_domain_note", "note", "client", "tls", "sessions",
// "domain_checks", "attempts", "impersonation" and "warnings"; top level
// "interrupted" says why a run that did not finish stopped; each attempt has
// "variant", "class", "stage", "helo", "mail_from", "rcpt_to", "code",
// "enhanced_code", "text", "outcome", "note" and "session".
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // addresses are <...>: keep them readable
	return enc.Encode(r)
}

// WriteTable writes one table of attempts (variant, vantage, HELO, MAIL
// FROM, RCPT TO, reply, outcome) per target, followed by a verdict line per
// target and vantage with its note.
func WriteTable(w io.Writer, r *Report) error {
	for i, t := range r.Targets {
		if i > 0 {
			if _, err := fmt.Fprintln(w); err != nil {
				return err
			}
		}
		title := t.Address
		if t.Host != "" {
			title += " (" + t.Host + ")"
		}
		title = display.Line(title)
		if _, err := fmt.Fprintf(w, "Target %s\n", title); err != nil {
			return err
		}
		rows := 0
		for _, v := range t.Vantages {
			rows += len(v.DomainChecks) + len(v.Attempts) + len(v.Impersonation)
		}
		if rows > 0 {
			tbl := tablewriter.NewTable(w,
				tablewriter.WithHeaderAutoFormat(tw.Off),
				tablewriter.WithRowAutoWrap(tw.WrapNone),
				tablewriter.WithTrimSpace(tw.Off),
			)
			tbl.Header([]string{"#", "VANTAGE", "HELO", "MAIL FROM", "RCPT TO", "REPLY", "OUTCOME"})
			for _, v := range t.Vantages {
				for _, list := range [][]AttemptResult{v.DomainChecks, v.Attempts, v.Impersonation} {
					for _, a := range list {
						if err := tbl.Append([]string{a.Variant, v.Vantage, display.Line(a.HELO), display.Line(a.MailFrom), display.Line(a.RcptTo), display.Line(replyCell(a)), a.Outcome}); err != nil {
							return err
						}
					}
				}
			}
			if err := tbl.Render(); err != nil {
				return err
			}
		}
		for _, v := range t.Vantages {
			line := fmt.Sprintf("verdict %s %s: %s", t.Address, v.Vantage, VerdictWord(v.Verdict, v.Qualifier))
			if s := summary(v); s != "" {
				line += " (" + s + ")"
			}
			if _, err := fmt.Fprintln(w, line); err != nil {
				return err
			}
			for _, l := range []struct{ label, text string }{{"reason", v.Reason}, {"test domain", testDomainLine(v)}, {"", v.Note}} {
				if l.text == "" {
					continue
				}
				if l.label != "" {
					l.text = l.label + ": " + l.text
				}
				if _, err := fmt.Fprintf(w, "  %s\n", display.Escape(l.text)); err != nil {
					return err
				}
			}
			for _, warn := range v.Warnings {
				if _, err := fmt.Fprintf(w, "  WARNING: %s\n", display.Escape(warn)); err != nil {
					return err
				}
			}
		}
	}
	if r.Interrupted != "" {
		if _, err := fmt.Fprintf(w, "\nINTERRUPTED: %s. The probe did not finish: this report is incomplete, and attempts not made are errors, not refusals.\n", r.Interrupted); err != nil {
			return err
		}
	}
	return nil
}

// VerdictWord is the verdict as the table shows it: upper case, with its
// qualifier, "CLOSED (deferred)".
func VerdictWord(verdict, qualifier string) string {
	w := strings.ToUpper(verdict)
	if qualifier != "" {
		w += " (" + qualifier + ")"
	}
	return w
}

func testDomainLine(v VantageReport) string {
	if v.TestDomain == "" {
		return ""
	}
	s := v.TestDomain
	if v.TestDomainNote != "" {
		s += " (" + v.TestDomainNote + ")"
	}
	return s
}

// replyCell renders a reply on one line: code, enhanced code, first line
// of text (truncated), or the error.
func replyCell(a AttemptResult) string {
	var parts []string
	if a.Code != 0 {
		parts = append(parts, strconv.Itoa(a.Code))
	}
	if a.EnhancedCode != "" {
		parts = append(parts, a.EnhancedCode)
	}
	text := firstLine(a.Text)
	if r := []rune(text); len(r) > 60 {
		text = string(r[:57]) + "..."
	}
	if text != "" {
		parts = append(parts, text)
	}
	s := strings.Join(parts, " ")
	if a.Stage != "" && a.Stage != StageRcpt {
		s = "(" + strings.ToUpper(a.Stage) + ") " + s
	}
	return s
}

// summary counts outcomes: "3 accepted, 30 refused".
func summary(v VantageReport) string {
	counts := map[string]int{}
	for _, a := range v.Attempts {
		counts[a.Outcome]++
	}
	var parts []string
	for _, o := range []string{OutcomeAccepted, OutcomeRefused, OutcomeRelayDeferred, OutcomeDeferred, OutcomeInconclusive, OutcomeHosted, OutcomeAuthRequired, OutcomeError} {
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

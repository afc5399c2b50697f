package render

import (
	"fmt"
	"github.com/pfaudit/pfaudit/audit/relay"
	"io"
	"strings"
)

// Markdown writes the report as a GitHub-flavoured Markdown document:
// listeners, findings and the commands to run.
func Markdown(w io.Writer, r *Report, o Options) error {
	ew := &errWriter{w: w}
	tool := r.Tool
	if tool == "" {
		tool = "pfaudit"
	}
	ew.printf("# %s report\n\n", tool)
	src := "postconf dumps"
	if r.ConfigDir != "" {
		src = mdCode(r.ConfigDir)
	}
	ew.printf("- Configuration: %s\n", src)
	if r.Host != "" {
		ew.printf("- Host: %s\n", mdText(r.Host))
	}
	if r.PostfixVersion != "" {
		ew.printf("- Postfix: %s\n", mdText(r.PostfixVersion))
	}
	if r.Version != "" {
		ew.printf("- pfaudit: %s\n", mdText(r.Version))
	}
	if !r.Time.IsZero() {
		ew.printf("- Time: %s\n", r.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	if r.Defaults != "" {
		ew.printf("- Defaults: %s\n", mdText(r.Defaults))
	}
	if len(r.Roles) > 0 {
		ew.printf("- Host roles: %s\n", strings.Join(r.Roles, ", "))
	}
	ew.printf("- Result: %s\n", mdText(SummaryLine(r, o)))
	for _, wn := range r.Warnings {
		ew.printf("- Warning: %s\n", mdText(wn))
	}

	ew.printf("\n## Listeners\n\n")
	if len(r.Listeners) == 0 {
		ew.printf("No smtpd listeners in master.cf.\n")
	} else {
		ew.printf("| Listener | Verdict | Local | Why |\n|---|---|---|---|\n")
		for _, l := range r.Listeners {
			verdict := "**" + string(l.Verdict) + "**"
			if l.LoopbackOnly && l.WouldBe != "" {
				verdict += " (loopback; exposed: " + string(l.WouldBe) + ")"
			}
			if l.Probe != nil {
				verdict += "<br>probe " + mdCell(probeSeen(l.Probe))
			}
			ew.printf("| %s | %s | %s | %s |\n", mdCode(l.Service), verdict, l.Local, mdCell(listenerWhy(l)))
		}
	}

	ew.printf("\n## Findings\n\n")
	if len(r.Findings) == 0 {
		ew.printf("No findings.\n")
	} else {
		ew.printf("| # | Severity | Rule | Where | Finding | Evidence | Fix |\n|---|---|---|---|---|---|---|\n")
		seenFix := map[string]int{}
		for i, f := range r.Findings {
			var fix []string
			key := strings.Join(f.Remediation, "\n")
			switch {
			case len(f.Remediation) == 0:
				fix = []string{"by hand"}
			case seenFix[key] > 0:
				fix = []string{fmt.Sprintf("same as %d", seenFix[key])}
			default:
				seenFix[key] = i + 1
				for _, c := range f.Remediation {
					fix = append(fix, mdCode(c))
				}
			}
			ev := mdCode(location(f))
			if st := r.findingProbe(f); st != "" {
				if ev != "" {
					ev += "<br>"
				}
				ev += "probe " + mdCell(st)
			}
			ew.printf("| %d | %s | %s | %s | **%s**<br>%s | %s | %s |\n", i+1, f.Severity, f.ID, mdCode(listenerName(f.Service)),
				mdCell(f.Title), mdCell(f.Message), ev, strings.Join(fix, "<br>"))
		}
	}

	p := MakePlan(r)
	if len(p.Commands) > 0 {
		ew.printf("\n## Run these commands\n\nTable files first, then main.cf edits, then master.cf edits, then one reload or restart.\n\n```sh\n")
		for _, c := range p.Commands {
			ew.printf("%s\n", esc(c))
		}
		ew.printf("```\n")
	}
	if len(p.Conflicts) > 0 {
		ew.printf("\nLeft out because an earlier command sets the same parameter (review by hand):\n\n```sh\n")
		for _, c := range p.Conflicts {
			ew.printf("%s\n", esc(c))
		}
		ew.printf("```\n")
	}
	return ew.err
}

// mdText escapes text outside tables.
func mdText(s string) string {
	// Underscores stay: GitHub Markdown does not emphasise inside words,
	// and parameter names read better unescaped.
	r := strings.NewReplacer("\\", "\\\\", "*", "\\*", "`", "\\`", "<", "&lt;", ">", "&gt;", "[", "\\[", "]", "\\]")
	return r.Replace(esc(s))
}

// mdCell escapes text for a table cell: also pipes and newlines.
func mdCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(mdText(s), "|", "\\|"), "\n", "<br>")
}

// mdCode puts s in a code span that survives backticks and pipes inside.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + strings.ReplaceAll(esc(s), "|", "\\|") + pad + fence
}

// listenerWhy is everything a listener's verdict rests on, one item per
// line: the reason, the deciding step and request, the test domain and
// the assumptions.
func listenerWhy(l ListenerReport) string {
	why := l.Reason
	if !l.Guard.OK && l.Guard.Reason != "" && l.Verdict == relay.Broken {
		why = l.Guard.Reason
	}
	add := func(s string) {
		if why != "" {
			why += "\n"
		}
		why += s
	}
	if n := len(l.Trace); n > 0 {
		add("decided by " + stepText(l.Trace[n-1]))
	}
	if l.Deciding != nil {
		add("request: " + caseText(l.Deciding))
	}
	if l.TestDomain != "" {
		td := "test domain: " + l.TestDomain
		if l.TestDomainNote != "" {
			td += " (" + l.TestDomainNote + ")"
		}
		add(td)
	}
	for _, a := range l.Assumptions {
		add("assumes: " + a)
	}
	return why
}

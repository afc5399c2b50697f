package render

import (
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
	if r.Defaults != "" {
		ew.printf("- Defaults: %s\n", mdText(r.Defaults))
	}
	if len(r.Roles) > 0 {
		ew.printf("- Host roles: %s\n", strings.Join(r.Roles, ", "))
	}
	ew.printf("- Result: %s\n", r.summary())
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
				verdict += "<br>probe " + mdCell(l.Probe.Vantage) + ": " + mdCell(l.Probe.Verdict)
			}
			ew.printf("| %s | %s | %s | %s |\n", mdCode(l.Service), verdict, l.Local, mdCell(listenerWhy(l)))
		}
	}

	ew.printf("\n## Findings\n\n")
	if len(r.Findings) == 0 {
		ew.printf("No findings.\n")
	} else {
		ew.printf("| Severity | Rule | Listener | Finding | Evidence | Fix |\n|---|---|---|---|---|---|\n")
		for _, f := range r.Findings {
			var fix []string
			for _, c := range f.Remediation {
				fix = append(fix, mdCode(c))
			}
			ev := mdCode(location(f))
			if st := probeStatus(f); st != "" {
				if ev != "" {
					ev += "<br>"
				}
				ev += mdCell(st)
			}
			ew.printf("| %s | %s | %s | **%s**: %s | %s | %s |\n", f.Severity, f.ID, mdCode(listenerName(f.Service)),
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

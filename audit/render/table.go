package render

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

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

// SeverityColour is the ANSI colour of a severity (fleet reports use it
// too).
func SeverityColour(s rules.Severity) string {
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

// VerdictColour is the ANSI colour of a relay verdict.
func VerdictColour(v relay.Verdict) string {
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

// Layout limits of the terminal report.
const (
	// DefaultWidth is the width used for pipes and files: every line but
	// a long shell command fits a classic terminal, and the one-line
	// summary rows stay greppable.
	DefaultWidth = 80
	minWidth     = 60
	// indent of the lines of a block under its heading.
	blockIndent = "    "
	// maxWhere bounds the WHERE and LISTENER columns.
	maxWhere = 28
)

// Table writes the report for a terminal or a pipe, every line within
// o.Width columns (80 for pipes), in four parts:
//
//  1. a header (tool, configuration, host, Postfix version, time) and the
//     one-line summary (SummaryLine);
//  2. a compact summary: one row per listener (verdict, local verdict,
//     probe) and one row per finding (severity, rule, where, title), each
//     on one line so that grep finds it;
//  3. one short block per listener (why, the deciding step and request,
//     the test domain, assumptions, what the probe saw) and per finding
//     (message, location, probe evidence, fix; a fix identical to an
//     earlier finding's is referred to, not repeated);
//  4. the commands to run, deduplicated and in a safe order.
//
// With o.Quiet only the summary line and the rows of findings at or above
// o.FailOn are written. Shell commands are broken only between words,
// with a backslash continuation, so that they paste as written.
func Table(w io.Writer, r *Report, o Options) error {
	r = escapedReport(r)
	width := o.Width
	if width <= 0 {
		width = DefaultWidth
	}
	width = max(width, minWidth)
	ew := &errWriter{w: w}
	if o.Quiet {
		ew.printf("%s\n", SummaryLine(r, o))
		fail := r.failing(o)
		if len(fail) > 0 {
			writeFindingRows(ew, r, fail, width, o.Color)
		}
		return ew.err
	}

	for _, l := range header(r) {
		ew.lines(wrap(l, width, ""))
	}
	for _, wn := range r.Warnings {
		ew.lines(wrap("warning: "+wn, width, "  "))
	}
	ew.printf("\n")
	ew.lines(wrap(SummaryLine(r, o), width, "  "))

	ew.printf("\n")
	if len(r.Listeners) == 0 {
		ew.printf("No smtpd listener in master.cf.\n")
	} else {
		writeListenerRows(ew, r, width, o.Color)
	}
	if len(r.Findings) > 0 {
		ew.printf("\n")
		writeFindingRows(ew, r, r.Findings, width, o.Color)
	}

	for _, l := range r.Listeners {
		ew.printf("\n")
		writeListenerBlock(ew, l, width, o.Color)
	}
	seenFix := map[string]int{}
	for i, f := range r.Findings {
		ew.printf("\n")
		writeFindingBlock(ew, r, i+1, f, seenFix, width, o.Color)
	}

	p := MakePlan(r)
	if len(p.Commands) > 0 {
		ew.printf("\n")
		ew.lines(wrap("Commands to run (table files, then main.cf, then master.cf, then one reload or restart):", width, ""))
		for _, c := range p.Commands {
			ew.lines(shellWrap(c, width, "  "))
		}
	}
	if len(p.Conflicts) > 0 {
		ew.printf("\n")
		ew.lines(wrap("Left out because an earlier command sets the same parameter (review by hand):", width, ""))
		for _, c := range p.Conflicts {
			ew.lines(shellWrap(c, width, "  "))
		}
	}
	return ew.err
}

// header is the report's first lines: what was audited, where, when.
func header(r *Report) []string {
	tool := r.Tool
	if tool == "" {
		tool = "pfaudit"
	}
	if r.Version != "" {
		tool += " " + r.Version
	}
	src := "postconf dumps"
	if r.ConfigDir != "" {
		src = r.ConfigDir
	}
	var meta []string
	if r.Host != "" {
		meta = append(meta, "host "+r.Host)
	}
	if r.PostfixVersion != "" {
		meta = append(meta, "Postfix "+r.PostfixVersion)
	}
	if !r.Time.IsZero() {
		meta = append(meta, r.Time.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	out := []string{tool + " audit of " + src}
	if len(meta) > 0 {
		out = append(out, strings.Join(meta, ", "))
	}
	if r.Defaults != "" {
		out = append(out, "defaults: "+r.Defaults)
	}
	if len(r.Roles) > 0 {
		out = append(out, "roles: "+strings.Join(r.Roles, ", "))
	}
	return out
}

// listenerNote is the short note of a listener's summary row.
func listenerNote(l ListenerReport) string {
	var parts []string
	if l.LoopbackOnly {
		s := "loopback only"
		if l.WouldBe != "" {
			s += "; exposed: " + string(l.WouldBe)
		}
		parts = append(parts, s)
	}
	if l.Postscreen {
		parts = append(parts, "postscreen")
	}
	if len(l.Assumptions) > 0 {
		parts = append(parts, "assumptions")
	}
	return strings.Join(parts, "; ")
}

func probeCell(l ListenerReport) string {
	if l.Probe == nil {
		return "-"
	}
	return l.Probe.Vantage + ": " + l.Probe.Verdict
}

func writeListenerRows(ew *errWriter, r *Report, width int, colour bool) {
	wl := len("LISTENER")
	wp := len("PROBE")
	for _, l := range r.Listeners {
		wl = max(wl, min(runes(l.Service), maxWhere))
		wp = max(wp, runes(probeCell(l)))
	}
	const wv = 7 // "unknown"
	fixed := wl + 2 + wv + 2 + wv + 2 + wp + 2
	noteW := width - fixed
	row := func(svc, verdict, local, pr, note string, vc, lc, pc string) {
		line := pad(paint(colour, vc, verdict), verdict, wv) + "  " + pad(paint(colour, lc, local), local, wv) + "  "
		line = pad(clip(svc, wl), clip(svc, wl), wl) + "  " + line
		if note == "" {
			ew.printf("%s\n", strings.TrimRight(line+paint(colour, pc, pr), " "))
			return
		}
		line += pad(paint(colour, pc, pr), pr, wp) + "  "
		ew.printf("%s%s\n", line, clip(note, noteW))
	}
	note := "NOTE"
	anyNote := false
	for _, l := range r.Listeners {
		anyNote = anyNote || listenerNote(l) != ""
	}
	if !anyNote || noteW < 8 {
		note = ""
	}
	row("LISTENER", "VERDICT", "LOCAL", "PROBE", note, "", "", "")
	for _, l := range r.Listeners {
		n := ""
		if note != "" {
			n = listenerNote(l)
		}
		pc := ""
		if l.Probe != nil {
			pc = VerdictColour(relay.Verdict(l.Probe.Verdict))
		}
		local := string(l.Local)
		if local == "" {
			local = "-"
		}
		row(l.Service, string(l.Verdict), local, probeCell(l), n, VerdictColour(l.Verdict), VerdictColour(l.Local), pc)
	}
}

// where is a finding's short location for the summary row: the listener,
// or file:line (base name) for a main.cf-wide finding.
func where(f rules.Finding) string {
	if f.Service != "" {
		return f.Service
	}
	if f.File == "" {
		return "main.cf"
	}
	base := f.File
	if i := strings.LastIndex(base, "/"); i >= 0 {
		base = base[i+1:]
	}
	if f.Line > 0 {
		return fmt.Sprintf("%s:%d", base, f.Line)
	}
	return base
}

func writeFindingRows(ew *errWriter, r *Report, fs []rules.Finding, width int, colour bool) {
	wn := len(fmt.Sprint(len(fs)))
	ww := len("WHERE")
	for _, f := range fs {
		ww = max(ww, min(runes(where(f)), maxWhere))
	}
	const ws, wr = 8, 13 // CRITICAL, PFA-RELAY-001
	fixed := wn + 2 + ws + 2 + wr + 2 + ww + 2
	titleW := max(width-fixed, 10)
	ew.printf("%s  %s  %s  %s  %s\n", strings.Repeat(" ", wn-1)+"#", pad("SEVERITY", "SEVERITY", ws), pad("RULE", "RULE", wr), pad("WHERE", "WHERE", ww), "FINDING")
	for i, f := range fs {
		sev := strings.ToUpper(f.Severity.String())
		wh := clip(where(f), ww)
		ew.printf("%*d  %s  %s  %s  %s\n", wn, i+1, pad(paint(colour, SeverityColour(f.Severity), sev), sev, ws),
			pad(f.ID, f.ID, wr), pad(wh, wh, ww), clip(f.Title, titleW))
	}
}

// labelled writes "label  text" with text wrapped under itself.
func labelled(ew *errWriter, label, text string, width int) {
	const lw = 11 // "test domain"
	lead := blockIndent + label + strings.Repeat(" ", max(lw-len(label), 0)) + " "
	lines := wrap(text, width-utf8.RuneCountInString(lead), "")
	for i, l := range lines {
		if i == 0 {
			ew.printf("%s%s\n", lead, l)
		} else {
			ew.printf("%s%s\n", strings.Repeat(" ", utf8.RuneCountInString(lead)), l)
		}
	}
}

func writeListenerBlock(ew *errWriter, l ListenerReport, width int, colour bool) {
	head := l.Service + ": " + paint(colour, VerdictColour(l.Verdict), string(l.Verdict)) + " for untrusted clients"
	if l.Local != "" {
		head += ", " + string(l.Local) + " for local clients"
	}
	if l.LoopbackOnly && l.WouldBe != "" {
		head += "; loopback only, " + string(l.WouldBe) + " if exposed"
	}
	ew.lines(wrap(head, width, blockIndent))
	why := l.Reason
	if !l.Guard.OK && l.Guard.Reason != "" && l.Verdict == relay.Broken {
		why = l.Guard.Reason
		if p := l.Guard.Pos.String(); p != "" {
			why += " (" + p + ")"
		}
	}
	if why != "" {
		labelled(ew, "why", why, width)
	}
	if n := len(l.Trace); n > 0 {
		labelled(ew, "decided by", stepText(l.Trace[n-1]), width)
	}
	if c := l.Deciding; c != nil {
		labelled(ew, "request", caseText(c), width)
	}
	if l.TestDomain != "" {
		td := l.TestDomain
		if l.TestDomainNote != "" {
			td += " (" + l.TestDomainNote + ")"
		}
		labelled(ew, "test domain", td, width)
	}
	for _, a := range l.Assumptions {
		labelled(ew, "assumes", a, width)
	}
	if l.Probe != nil {
		s := probeSeen(l.Probe)
		if l.Probe.Note != "" {
			s += " (" + l.Probe.Note + ")"
		}
		labelled(ew, "probe", s, width)
	}
}

// stepText is a trace step: "smtpd_relay_restrictions #2 check_sender_access
// hash:/etc/postfix/sender_access: permit (/etc/postfix/main.cf:40)".
func stepText(s relay.Step) string {
	t := fmt.Sprintf("%s #%d %s: %s", s.List, s.Index, s.Restriction, s.Outcome)
	if p := s.Pos.String(); p != "" {
		t += " (" + p + ")"
	}
	return t
}

// caseText is the deciding request: client, envelope, the answer and
// where the recipient goes.
func caseText(c *relay.Case) string {
	t := c.Client.Addr.String()
	if c.Client.HELO != "" {
		t += " HELO " + c.Client.HELO
	}
	t += fmt.Sprintf(" MAIL FROM:<%s> RCPT TO:<%s>", c.Sender, c.Recipient)
	if d := c.Decision; d.Code != 0 {
		t += fmt.Sprintf(" -> %d", d.Code)
		if d.Enhanced != "" {
			t += " " + d.Enhanced
		}
	} else if d.Result != "" {
		t += " -> " + string(d.Result)
	}
	if c.Destination != "" {
		t += " (" + c.Destination
		if c.Resolved != "" {
			t += ": " + c.Resolved
		}
		t += ")"
	}
	return t
}

func writeFindingBlock(ew *errWriter, r *Report, n int, f rules.Finding, seenFix map[string]int, width int, colour bool) {
	sev := strings.ToUpper(f.Severity.String())
	head := fmt.Sprintf("[%d] %s %s %s: %s", n, paint(colour, SeverityColour(f.Severity), sev), f.ID, where(f), f.Title)
	ew.lines(wrap(head, width, blockIndent))
	if f.Message != "" {
		ew.lines(wrap(f.Message, width, blockIndent, blockIndent))
	}
	if loc := location(f); loc != "" {
		if f.Parameter != "" {
			loc += " (" + f.Parameter + ")"
		}
		labelled(ew, "at", loc, width)
	} else if f.Parameter != "" {
		labelled(ew, "parameter", f.Parameter, width)
	}
	if pr := r.findingProbe(f); pr != "" {
		labelled(ew, "probe", pr, width)
	}
	key := strings.Join(f.Remediation, "\n")
	switch {
	case len(f.Remediation) == 0:
		labelled(ew, "fix", "by hand: no postconf command can decide this for you", width)
	case seenFix[key] > 0:
		labelled(ew, "fix", fmt.Sprintf("same as [%d]", seenFix[key]), width)
	default:
		seenFix[key] = n
		lead := blockIndent + "fix" + strings.Repeat(" ", 9)
		for i, c := range f.Remediation {
			for j, l := range shellWrap(c, width-len(lead), "") {
				switch {
				case i == 0 && j == 0:
					ew.printf("%s%s\n", lead, l)
				default:
					ew.printf("%s%s\n", strings.Repeat(" ", len(lead)), l)
				}
			}
		}
	}
}

// runes is s's width in columns (the report's text is single-width).
func runes(s string) int { return utf8.RuneCountInString(s) }

// pad pads coloured text s whose plain form is plain to n columns.
func pad(s, plain string, n int) string {
	return s + strings.Repeat(" ", max(n-runes(plain), 0))
}

// clip cuts s to n columns, marking the cut with "…".
func clip(s string, n int) string {
	if runes(s) <= n || n < 2 {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// wrap fills text into lines of at most width columns; the first line is
// prefixed with first (default "") and later ones with indent, both
// counted in the width. Words longer than a line are cut. Newlines in
// text start new lines.
func wrap(text string, width int, indent string, first ...string) []string {
	lead := ""
	if len(first) > 0 {
		lead = first[0]
	}
	// The line is built in one buffer with its width kept, instead of
	// a string concatenated and counted again at every word: a fleet's
	// report wraps every finding of every host.
	var out []string
	line := make([]byte, 0, 2*width)
	line = append(line, lead...)
	cols := runes(lead)
	indentCols := runes(indent)
	empty := true
	flush := func() {
		out = append(out, string(line))
		line = append(line[:0], indent...)
		cols, empty = indentCols, true
	}
	for para := range strings.SplitSeq(text, "\n") {
		if !empty {
			flush()
		}
		for word := range strings.FieldsSeq(para) {
			wcols := runes(word)
			for {
				room := width - cols
				if !empty {
					room--
				}
				if wcols <= room {
					if !empty {
						line = append(line, ' ')
						cols++
					}
					line = append(line, word...)
					cols += wcols
					empty = false
					break
				}
				if !empty {
					flush()
					continue
				}
				// A word longer than a whole line: cut it, walking its
				// runes once (cutting and copying the rest again for
				// every line made a 400 KB word take 20 s).
				rw := []rune(word)
				for {
					k := max(room, 1)
					out = append(out, string(line)+string(rw[:k]))
					rw = rw[k:]
					line = append(line[:0], indent...)
					cols = indentCols
					if room = width - cols; len(rw) == 0 || len(rw) <= room {
						break
					}
				}
				word, wcols = string(rw), len(rw)
				if word == "" {
					break
				}
			}
		}
	}
	if !empty || len(out) == 0 {
		out = append(out, string(line))
	}
	return out
}

// shellWords splits a command into its words, keeping quoted parts
// (single or double quotes) inside their word.
func shellWords(cmd string) []string {
	var words []string
	var cur strings.Builder
	var quote rune
	for _, c := range cmd {
		switch {
		case quote != 0:
			cur.WriteRune(c)
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
			cur.WriteRune(c)
		case c == ' ' || c == '\t':
			if cur.Len() > 0 {
				words = append(words, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(c)
		}
	}
	if cur.Len() > 0 {
		words = append(words, cur.String())
	}
	return words
}

// shellWrap breaks a shell command between words with " \" continuations
// so that each line fits width (after prefix), continuation lines indented
// by four more spaces. A quoted word is never broken (postconf -e takes no
// multi-line value): the command pastes into a shell exactly as written,
// and a word longer than a line overflows on a line of its own.
func shellWrap(cmd string, width int, prefix string) []string {
	if runes(prefix+cmd) <= width {
		return []string{prefix + cmd}
	}
	words := shellWords(cmd)
	var out []string
	cur := prefix
	cont := prefix + "    "
	for i, w := range words {
		last := i == len(words)-1
		sep := " "
		if cur == prefix || cur == cont {
			sep = ""
		}
		need := runes(cur) + len(sep) + runes(w)
		if !last {
			need += 2 // room for " \"
		}
		if need > width && cur != prefix && cur != cont {
			out = append(out, cur+" \\")
			cur, sep = cont, ""
		}
		cur += sep + w
	}
	return append(out, cur)
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

func (e *errWriter) lines(ls []string) {
	for _, l := range ls {
		e.printf("%s\n", strings.TrimRight(l, " "))
	}
}

package fleet

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/rules"
)

// tableFormat writes the fleet table (one row per host: each listener's
// verdict, findings per severity, the most severe finding), a summary,
// then the details (`pfaudit audit`'s own table) of the hosts with
// problems. Rows stream as hosts finish; the details, rendered by the
// workers, wait in a temporary file until the table is complete, so
// memory stays bounded however many hosts have problems.
type tableFormat struct {
	o     Options
	hostW int
	spill *detailSpill
}

const listenerW = 26

func (t *tableFormat) begin(w io.Writer, hosts []hostDir) error {
	t.hostW = len("HOST")
	for _, h := range hosts {
		t.hostW = max(t.hostW, min(len(h.name), 40))
	}
	var err error
	if t.spill, err = newDetailSpill(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%-*s  %-*s %-8s %4s %4s %4s %4s %4s  %s\n", t.hostW, "HOST", listenerW, "LISTENER", "VERDICT", "CRIT", "HIGH", "MED", "LOW", "INFO", "MOST SEVERE")
	return err
}

func (t *tableFormat) prepare(h *Host) error {
	defer h.drop()
	if !h.Problem() {
		return nil
	}
	var b bytes.Buffer
	title := h.Name
	if h.Kind != "" {
		title += " (" + string(h.Kind) + ", " + h.Dir + ")"
	} else {
		title += " (" + h.Dir + ")"
	}
	fmt.Fprintf(&b, "\n== %s\n", title)
	if h.Err != "" {
		fmt.Fprintf(&b, "error: %s\n", h.Err)
		h.out = b.Bytes()
		return nil
	}
	// Paths relative to the host directory named in the heading: the
	// rendering is then the same for every host sharing the analysis.
	details, _, err := h.rendered(func(rep *render.Report, base string) ([]byte, error) {
		var b bytes.Buffer
		err := render.Table(&b, relative(rep, base), render.Options{Color: t.o.Color, Width: t.o.Width})
		return b.Bytes(), err
	})
	if err != nil {
		return err
	}
	b.Write(details)
	h.out = b.Bytes()
	return nil
}

func (t *tableFormat) host(w io.Writer, h *Host) error {
	name := h.Name
	if len(name) > t.hostW {
		name = name[:t.hostW-1] + "…"
	}
	var lines []string
	counts := fmt.Sprintf("%4d %4d %4d %4d %4d", h.Counts[rules.Critical], h.Counts[rules.High], h.Counts[rules.Medium], h.Counts[rules.Low], h.Counts[rules.Info])
	worst := ""
	if h.Worst != nil {
		worst = t.paint(render.SeverityColour(h.Worst.Severity), h.Worst.Severity.String()) + " " + h.Worst.ID + " " + listenerName(h.Worst.Service) + ": " + h.Worst.Title
	}
	switch {
	case h.Err != "":
		msg := h.Err
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		lines = append(lines, fmt.Sprintf("%-*s  %-*s %s %s  %s", t.hostW, name, listenerW, "-", t.pad(ansiBold+ansiRed, "error", 8), strings.Repeat(" ", len(counts)), shorten(msg, 100)))
	case len(h.Listeners) == 0:
		lines = append(lines, fmt.Sprintf("%-*s  %-*s %-8s %s  %s", t.hostW, name, listenerW, "(no smtpd listener)", "-", counts, worst))
	default:
		for i, l := range h.Listeners {
			v := string(l.Verdict)
			if l.LoopbackOnly && l.WouldBe != "" && l.WouldBe != l.Verdict {
				v += " (loopback; exposed: " + string(l.WouldBe) + ")"
			}
			col := t.pad(render.VerdictColour(l.Verdict), v, 8)
			if i == 0 {
				lines = append(lines, fmt.Sprintf("%-*s  %-*s %s %s  %s", t.hostW, name, listenerW, l.Service, col, counts, worst))
			} else {
				lines = append(lines, strings.TrimRight(fmt.Sprintf("%-*s  %-*s %s", t.hostW, "", listenerW, l.Service, col), " "))
			}
		}
	}
	for _, l := range lines {
		if _, err := io.WriteString(w, strings.TrimRight(l, " ")+"\n"); err != nil {
			return err
		}
	}
	err := t.spill.add(h.out)
	h.out = nil
	return err
}

func (t *tableFormat) end(w io.Writer, s *Summary) error {
	if _, err := fmt.Fprintf(w, "\n%s\n", summaryLine(s, t.o.FailOn)); err != nil {
		return err
	}
	if s.Problems == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\nHosts with problems (%d)\n", s.Problems); err != nil {
		return err
	}
	return t.spill.copyTo(w)
}

// summaryLine is the fleet in one sentence.
func summaryLine(s *Summary, failOn rules.Severity) string {
	hosts := plural(s.Hosts, "host")
	var parts []string
	for _, v := range []relay.Verdict{relay.Open, relay.Broken, relay.Unknown, relay.Closed} {
		if n := s.Verdicts[v]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, v))
		}
	}
	lst := "no listeners"
	if len(parts) > 0 {
		lst = "listeners " + strings.Join(parts, ", ")
	}
	fail := ""
	if failOn <= rules.Critical {
		fail = fmt.Sprintf("; %d with a finding at or above %s", s.Failing, failOn)
	}
	errs := ""
	if s.Errors > 0 {
		errs = fmt.Sprintf("; %d could not be audited", s.Errors)
	}
	return fmt.Sprintf("%s: %s%s%s. %s analysed for %d hosts (%d merged audit.json reports).",
		hosts, lst, fail, errs, plural(s.Analysed, "distinct configuration"), s.Hosts-s.Errors-s.Merged, s.Merged)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func listenerName(s string) string {
	if s == "" {
		return "main.cf"
	}
	return s
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// ANSI colours, used only with Options.Color (as audit/render does).
const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiYellow = "\x1b[33m"
	ansiGreen  = "\x1b[32m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
)

func (t *tableFormat) paint(code, s string) string {
	if !t.o.Color || code == "" {
		return s
	}
	return code + s + ansiReset
}

// pad pads s to n columns before colouring it, so that escape codes do not
// upset the alignment.
func (t *tableFormat) pad(code, s string, n int) string {
	if len(s) < n {
		s += strings.Repeat(" ", n-len(s))
	}
	return t.paint(code, s)
}

// Close releases the temporary file (already unlinked).
func (t *tableFormat) Close() error {
	return t.spill.Close()
}

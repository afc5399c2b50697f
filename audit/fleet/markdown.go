package fleet

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/rules"
)

// markdownFormat is the fleet table as GitHub-flavoured Markdown, then
// each problem host's `pfaudit audit --format markdown` report with its
// headings moved two levels down (the host is ##, its report's title ###). Details wait in a temporary file, as in
// the table format.
type markdownFormat struct {
	o     Options
	spill *detailSpill
}

func (m *markdownFormat) begin(w io.Writer, hosts []hostDir) error {
	var err error
	if m.spill, err = newDetailSpill(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "# pfaudit fleet report\n\n| Host | Listeners | Critical | High | Medium | Low | Info | Most severe |\n|---|---|---:|---:|---:|---:|---:|---|\n")
	return err
}

func (m *markdownFormat) prepare(h *Host) error {
	defer h.drop()
	if !h.Problem() {
		return nil
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "\n## %s\n\n", mdCell(h.Name))
	if h.Err != "" {
		fmt.Fprintf(&b, "**Error:** %s\n", mdCell(h.Err))
		h.out = b.Bytes()
		return nil
	}
	fmt.Fprintf(&b, "Input: %s, `%s` (paths below are relative to it)\n\n", h.Kind, h.Dir)
	details, _, err := h.rendered(func(rep *render.Report, base string) ([]byte, error) {
		var r, b bytes.Buffer
		if err := render.Markdown(&r, relative(rep, base), render.Options{}); err != nil {
			return nil, err
		}
		inFence := false
		for _, line := range strings.SplitAfter(r.String(), "\n") {
			if strings.HasPrefix(line, "```") {
				inFence = !inFence
			}
			if !inFence && strings.HasPrefix(line, "#") {
				line = "##" + line
			}
			b.WriteString(line)
		}
		return b.Bytes(), nil
	})
	if err != nil {
		return err
	}
	b.Write(details)
	h.out = b.Bytes()
	return nil
}

func (m *markdownFormat) host(w io.Writer, h *Host) error {
	var lst []string
	for _, l := range h.Listeners {
		lst = append(lst, "`"+l.Service+"` **"+string(l.Verdict)+"**")
	}
	row := ""
	if h.Err != "" {
		row = fmt.Sprintf("| %s | **error** | | | | | | %s |\n", mdCell(h.Name), mdCell(shorten(firstLine(h.Err), 200)))
	} else {
		worst := ""
		if h.Worst != nil {
			worst = fmt.Sprintf("%s `%s` %s: %s", h.Worst.Severity, h.Worst.ID, listenerName(h.Worst.Service), mdCell(h.Worst.Title))
		}
		row = fmt.Sprintf("| %s | %s | %d | %d | %d | %d | %d | %s |\n", mdCell(h.Name), strings.Join(lst, "<br>"),
			h.Counts[rules.Critical], h.Counts[rules.High], h.Counts[rules.Medium], h.Counts[rules.Low], h.Counts[rules.Info], worst)
	}
	if _, err := io.WriteString(w, row); err != nil {
		return err
	}
	err := m.spill.add(h.out)
	h.out = nil
	return err
}

func (m *markdownFormat) end(w io.Writer, s *Summary) error {
	if _, err := fmt.Fprintf(w, "\n%s\n", summaryLine(s, m.o.FailOn)); err != nil {
		return err
	}
	if s.Problems == 0 {
		return nil
	}
	if _, err := fmt.Fprintf(w, "\n# Hosts with problems (%d)\n", s.Problems); err != nil {
		return err
	}
	return m.spill.copyTo(w)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// mdCell makes text safe inside a table cell: no pipes or line breaks.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r", "")
	return strings.ReplaceAll(s, "\n", "<br>")
}

// Close releases the temporary file (already unlinked).
func (m *markdownFormat) Close() error {
	return m.spill.Close()
}

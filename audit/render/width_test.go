package render

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pfaudit/pfaudit/rules"
)

// TestTableFitsTheTerminal: every line of the table report fits the
// terminal's width (80 for a pipe), except a shell command that cannot be
// broken without changing what it does; wider terminals use their width.
func TestTableFitsTheTerminal(t *testing.T) {
	r := sampleReport()
	r.Findings = append(r.Findings, rules.Finding{
		ID: "PFA-RELAY-005", Title: "mynetworks trusts the whole Internet", Severity: rules.Critical,
		Message: strings.Repeat("permit_mynetworks lets anyone relay through 0.0.0.0/0 ", 6) + strings.Repeat("x", 150),
		File:    "/etc/postfix/main.cf", Line: 12,
		Remediation: []string{"postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'"},
	})
	commands := map[string]bool{}
	for _, f := range r.Findings {
		for _, c := range f.Remediation {
			commands[c] = true
		}
	}
	widest := func(width int) int {
		var b bytes.Buffer
		if err := Table(&b, r, Options{Width: width}); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range strings.Split(b.String(), "\n") {
			w := utf8.RuneCountInString(l)
			limit := width
			if limit == 0 {
				limit = DefaultWidth
			}
			if w > limit && !isCommandPart(l, commands) {
				t.Errorf("width %d: line of %d columns: %q", width, w, l)
			}
			n = max(n, w)
		}
		return n
	}
	narrow, pipe, wide := widest(80), widest(0), widest(200)
	if pipe != narrow {
		t.Errorf("a pipe (%d columns) should get the 80-column layout (%d)", pipe, narrow)
	}
	if wide <= narrow {
		t.Errorf("200 columns gave %d, 80 gave %d", wide, narrow)
	}
}

// isCommandPart: the line is a remediation command, or a word of one
// that shellWrap could not break.
func isCommandPart(line string, commands map[string]bool) bool {
	l := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "fix"))
	l = strings.TrimSuffix(l, " \\")
	for c := range commands {
		if strings.Contains(c, l) {
			return true
		}
	}
	return false
}

func TestWrapAndShellWrap(t *testing.T) {
	for _, tc := range []struct {
		text  string
		width int
		want  []string
	}{
		{"a b c", 3, []string{"a b", "  c"}},
		{"abcdefgh", 4, []string{"abcd", "  ef", "  gh"}},
		{"one\ntwo", 80, []string{"one", "  two"}},
		{"", 10, []string{""}},
	} {
		got := wrap(tc.text, tc.width, "  ")
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrap(%q, %d) = %q, want %q", tc.text, tc.width, got, tc.want)
		}
	}
	// A command breaks only between words, and the pieces joined by the
	// shell's line continuation give the command back.
	cmd := "postconf -c /srv/some/long/configuration/directory -e 'smtpd_banner = $myhostname ESMTP'"
	lines := shellWrap(cmd, 60, "")
	if len(lines) < 2 {
		t.Fatalf("not wrapped: %q", lines)
	}
	joined := ""
	for _, l := range lines {
		joined += strings.TrimSpace(strings.TrimSuffix(l, "\\")) + " "
	}
	if strings.TrimSpace(joined) != cmd {
		t.Errorf("rejoined %q, want %q", joined, cmd)
	}
	// A quoted word longer than a line is not broken: it gets its own.
	long := "postconf -c /etc/postfix -e 'x = " + strings.Repeat("y", 100) + "'"
	if got := shellWrap(long, 60, "  "); len(got) != 2 || got[0] != "  postconf -c /etc/postfix -e \\" || !strings.HasSuffix(got[1], "y'") {
		t.Errorf("shellWrap(long) = %q", got)
	}
}

// TestWrappedCommandsPaste: a wrapped command, pasted into a shell, gives
// the same words as the command on one line.
func TestWrappedCommandsPaste(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	p := MakePlan(sampleReport())
	cmds := append(p.Commands, "postconf -c /srv/a/very/long/configuration/directory/for/wrapping -e 'smtpd_banner = $myhostname ESMTP'")
	for _, c := range cmds {
		lines := shellWrap(c, 40, "  ")
		if len(lines) < 2 {
			continue
		}
		words := func(script string) string {
			out, err := exec.Command(sh, "-c", "printf '[%s]' "+script).CombinedOutput()
			if err != nil {
				t.Fatalf("sh: %v: %s", err, out)
			}
			return string(out)
		}
		if got, want := words(strings.Join(lines, "\n")), words(c); got != want {
			t.Errorf("wrapped %q pastes as %s, want %s", lines, got, want)
		}
	}
}

// wrapConcat is wrap as it was first written, by string concatenation:
// TestWrapMatchesConcat holds the buffered one to it.
func wrapConcat(text string, width int, indent string, lead string) []string {
	var out []string
	cur := lead
	empty := true
	for _, para := range strings.Split(text, "\n") {
		if !empty {
			out = append(out, cur)
			cur, empty = indent, true
		}
		for _, word := range strings.Fields(para) {
			for {
				room := width - runes(cur)
				if !empty {
					room--
				}
				if runes(word) <= room {
					if !empty {
						cur += " "
					}
					cur += word
					empty = false
					break
				}
				if !empty {
					out = append(out, cur)
					cur, empty = indent, true
					continue
				}
				rw := []rune(word)
				k := max(room, 1)
				out = append(out, cur+string(rw[:k]))
				word = string(rw[k:])
				cur = indent
				if word == "" {
					break
				}
			}
		}
	}
	if !empty || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}

func TestWrapMatchesConcat(t *testing.T) {
	pieces := []string{"a", "bb", "ccc", "dddddddddddd", " ", "  ", "\n", "\t", "é", "日本語", "postconf", "-e", "'x = y'"}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text, width := b.String(), rng.IntN(14)
		indent := []string{"", "  ", "    ", "é "}[rng.IntN(4)]
		lead := []string{"", "- ", "PFA-RELAY-001 "}[rng.IntN(3)]
		got, want := wrap(text, width, indent, lead), wrapConcat(text, width, indent, lead)
		if !slices.Equal(got, want) {
			t.Fatalf("wrap(%q, %d, %q, %q) = %q, want %q", text, width, indent, lead, got, want)
		}
	}
}

// TestWrapLongWord: a word of hundreds of kilobytes (an unexpandable
// main.cf value quoted in a listener's "why") is cut into lines in one
// pass. Cutting the rest of the word again for every line took 20 s for
// 400 KB; 2 MB would not finish.
func TestWrapLongWord(t *testing.T) {
	for _, tc := range []struct {
		name   string
		word   string
		width  int
		indent string
	}{
		{"400 KB of ASCII", strings.Repeat("${x?", 100_000), 80, "    "},
		{"2 MB of ASCII", strings.Repeat("ab", 1<<20), 64, "  "},
		{"multibyte", strings.Repeat("日本語", 100_000), 50, ""},
		{"indent wider than the line", strings.Repeat("z", 200_000), 3, "     "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			lines := wrap("why "+tc.word, tc.width, tc.indent)
			if d := time.Since(start); d > 3*time.Second {
				t.Fatalf("wrap took %v", d)
			}
			var b strings.Builder
			for i, l := range lines {
				if i > 0 {
					l = strings.TrimPrefix(l, tc.indent)
				}
				b.WriteString(l)
			}
			if got, want := b.String(), "why"+tc.word; got != want {
				t.Fatalf("lines do not give the word back: %d bytes, want %d", len(got), len(want))
			}
			for _, l := range lines {
				if n := runes(l); n > max(tc.width, runes(tc.indent)+1) {
					t.Fatalf("line of %d columns, width %d", n, tc.width)
				}
			}
		})
	}
}

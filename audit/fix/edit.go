package fix

import (
	"fmt"
	"strings"
)

// pfaudit's own editor for main.cf and master.cf, used only where the
// postconf binary is missing (Tools.BuiltinEditor forces it). It makes
// the edits as Postfix 3.7's postconf does (pcf_edit_main, pcf_edit_master;
// TestBuiltinEditorMatchesPostconf compares the two):
//
//   - a logical line is a line starting in column one plus the lines
//     starting with whitespace after it (postconf(5)); comment and blank
//     lines inside it neither belong to it nor end it, and are kept;
//   - -e replaces every logical line that sets the name with one
//     "name = value" line (its continuation lines go), or appends one at
//     the end; -X removes them;
//   - -P, -PX, -M and -MX rewrite only the master.cf entry they name,
//     in postconf's layout (fields in columns, one "-o name=value" per
//     continuation line); comments inside that entry move before it.

// logical is one logical line of a Postfix configuration file.
type logical struct {
	first, last int // line indexes of its first and last own line
}

// lines splits b into lines, each with its newline (the last may lack it).
func lines(b []byte) []string { return splitLines(string(b)) }

func isComment(l string) bool {
	t := strings.TrimLeft(l, " \t")
	return t == "" || t == "\n" || strings.HasPrefix(t, "#")
}

func isContinuation(l string) bool {
	return (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) && !isComment(l)
}

// logicals finds the logical lines of ls.
func logicals(ls []string) []logical {
	var out []logical
	for i, l := range ls {
		switch {
		case isComment(l):
		case isContinuation(l):
			if len(out) > 0 {
				out[len(out)-1].last = i
			}
		default:
			out = append(out, logical{first: i, last: i})
		}
	}
	return out
}

// text joins a logical line's own lines (comments inside are skipped).
func (lg logical) text(ls []string) string {
	var b strings.Builder
	for i := lg.first; i <= lg.last; i++ {
		if !isComment(ls[i]) {
			b.WriteString(strings.TrimRight(ls[i], "\n"))
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func editConfig(file string, b []byte, op, arg string) ([]byte, error) {
	if file == "main.cf" {
		return editMain(b, op, arg)
	}
	return editMaster(b, op, arg)
}

func editMain(b []byte, op, arg string) ([]byte, error) {
	var name, line string
	switch op {
	case "-e":
		n, v, ok := strings.Cut(arg, "=")
		name = strings.TrimSpace(n)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("want name = value")
		}
		// postconf writes "name = " even for an empty value.
		line = name + " = " + strings.TrimSpace(v) + "\n"
	case "-X":
		name = strings.TrimSpace(arg)
	default:
		return nil, fmt.Errorf("the built-in editor cannot do postconf %s", op)
	}
	ls := lines(b)
	drop := map[int]bool{}
	repl := map[int]string{}
	found := false
	for _, lg := range logicals(ls) {
		n, _, _ := strings.Cut(lg.text(ls), "=")
		if strings.TrimSpace(n) != name {
			continue
		}
		found = true
		for i := lg.first; i <= lg.last; i++ {
			if !isComment(ls[i]) {
				drop[i] = true
			}
		}
		if op == "-e" {
			repl[lg.first] = line
		}
	}
	var out strings.Builder
	for i, l := range ls {
		if r, ok := repl[i]; ok {
			out.WriteString(r)
			continue
		}
		if !drop[i] {
			out.WriteString(l)
		}
	}
	if !found && op == "-e" {
		if s := out.String(); s != "" && !strings.HasSuffix(s, "\n") {
			out.WriteByte('\n')
		}
		out.WriteString(line)
	}
	return []byte(out.String()), nil
}

// masterWords splits an entry into words; "{ ... }" groups (master(5),
// Postfix 3.0) stay one word.
func masterWords(s string) []string {
	var out []string
	f := strings.Fields(s)
	for i := 0; i < len(f); i++ {
		w := f[i]
		if strings.HasPrefix(w, "{") && !strings.HasSuffix(w, "}") {
			for i+1 < len(f) {
				i++
				w += " " + f[i]
				if strings.HasSuffix(f[i], "}") {
					break
				}
			}
		}
		out = append(out, w)
	}
	return out
}

// formatEntry lays an entry out as postconf(1) writes the entries it
// edits.
func formatEntry(w []string) string {
	var b strings.Builder
	widths := []int{10, 5, 7, 7, 7, 7, 7}
	for i := 0; i < len(w) && i < 8; i++ {
		if i < 7 {
			fmt.Fprintf(&b, "%-*s ", widths[i], w[i])
		} else {
			b.WriteString(w[i])
		}
	}
	for i := 8; i < len(w); i++ {
		b.WriteString("\n    ")
		b.WriteString(w[i])
		if w[i] == "-o" && i+1 < len(w) {
			i++
			b.WriteString(" " + normalizeGroup(w[i]))
		}
	}
	b.WriteByte('\n')
	return b.String()
}

// normalizeGroup writes a "{ name = value }" override as postconf
// rewrites it: "{name=value}".
func normalizeGroup(a string) string {
	if !strings.HasPrefix(a, "{") || !strings.HasSuffix(a, "}") {
		return a
	}
	n, v, ok := strings.Cut(strings.TrimSpace(a[1:len(a)-1]), "=")
	if !ok {
		return a
	}
	return "{" + strings.TrimSpace(n) + "=" + strings.TrimSpace(v) + "}"
}

// overrideName is the name an -o argument sets ("name=value" or
// "{ name = value }").
func overrideName(a string) string {
	a = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(a, "{"), "}"))
	n, _, _ := strings.Cut(a, "=")
	return strings.TrimSpace(n)
}

func editMaster(b []byte, op, arg string) ([]byte, error) {
	var key, name, value, entry string
	switch op {
	case "-P", "-PX":
		k := arg
		if op == "-P" {
			var ok bool
			if k, value, ok = strings.Cut(arg, "="); !ok {
				return nil, fmt.Errorf("want service/type/name=value")
			}
			k, value = strings.TrimSpace(k), strings.TrimSpace(value)
			if strings.ContainsAny(value, " \t") {
				return nil, fmt.Errorf("-P does not accept whitespace in parameter value")
			}
		}
		parts := strings.SplitN(k, "/", 3)
		if len(parts) != 3 || parts[2] == "" {
			return nil, fmt.Errorf("want service/type/name")
		}
		key, name = parts[0]+"/"+parts[1], parts[2]
	case "-M":
		k, e, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, fmt.Errorf("want service/type = entry")
		}
		key, entry = strings.TrimSpace(k), strings.TrimSpace(e)
		w := masterWords(entry)
		if len(w) < 8 || w[0]+"/"+w[1] != key {
			return nil, fmt.Errorf("entry %q is not %s", entry, key)
		}
	case "-MX":
		key = strings.TrimSpace(arg)
	default:
		return nil, fmt.Errorf("the built-in editor cannot do postconf %s", op)
	}
	ls := lines(b)
	var target *logical
	for _, lg := range logicals(ls) {
		w := masterWords(lg.text(ls))
		if len(w) >= 2 && w[0]+"/"+w[1] == key {
			lg := lg
			target = &lg
			break
		}
	}
	if target == nil {
		if op == "-M" {
			s := string(b)
			if s != "" && !strings.HasSuffix(s, "\n") {
				s += "\n"
			}
			return []byte(s + formatEntry(masterWords(entry))), nil
		}
		return nil, fmt.Errorf("unmatched service_name/type: %q", key)
	}
	var repl string
	switch op {
	case "-MX":
	case "-M":
		repl = formatEntry(masterWords(entry))
	default:
		w := masterWords(target.text(ls))
		var args []string
		at := -1 // where the setting goes: its old place, else after the last -o
		for i := 8; i < len(w); i++ {
			if w[i] == "-o" && i+1 < len(w) {
				if overrideName(w[i+1]) == name {
					if at < 0 {
						at = len(args)
					}
					i++
					continue
				}
				args = append(args, w[i], w[i+1])
				i++
				continue
			}
			args = append(args, w[i])
		}
		if op == "-P" {
			if at < 0 {
				at = 0
				for i := 0; i < len(args); i++ {
					if args[i] == "-o" {
						at = i + 2
						i++
					} else if !strings.HasPrefix(args[i], "-") {
						break
					}
				}
			}
			args = append(args[:at], append([]string{"-o", name + "=" + value}, args[at:]...)...)
		}
		repl = formatEntry(append(w[:8:8], args...))
	}
	var out strings.Builder
	for i := 0; i < target.first; i++ {
		out.WriteString(ls[i])
	}
	// postconf -P and -PX move the comments inside the entry before it;
	// -M leaves them after the new entry.
	var comments strings.Builder
	for i := target.first; i <= target.last; i++ {
		if isComment(ls[i]) {
			comments.WriteString(ls[i])
		}
	}
	if op == "-M" {
		out.WriteString(repl)
		out.WriteString(comments.String())
	} else {
		out.WriteString(comments.String())
		out.WriteString(repl)
	}
	for i := target.last + 1; i < len(ls); i++ {
		out.WriteString(ls[i])
	}
	return []byte(out.String()), nil
}

package postconf

import (
	"fmt"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Override is one `-o name=value` (or `-o { name = value }`) argument of a
// master.cf service.
type Override struct {
	Name  string   `json:"name"`
	Value string   `json:"value"`
	Pos   diag.Pos `json:"pos"`
}

// Service is one master.cf entry (master(5)): the seven fixed fields, the
// command, and its arguments. Args keeps every argument after the command
// as written (braces stripped, as Postfix does); Overrides holds the -o
// settings in order; Other the arguments that are not -o settings.
type Service struct {
	Name      string     `json:"service"`
	Type      string     `json:"type"`
	Private   string     `json:"private"`
	Unpriv    string     `json:"unpriv"`
	Chroot    string     `json:"chroot"`
	Wakeup    string     `json:"wakeup"`
	Maxproc   string     `json:"maxproc"`
	Command   string     `json:"command"`
	Args      []string   `json:"args,omitempty"`
	Overrides []Override `json:"overrides,omitempty"`
	Other     []string   `json:"other_args,omitempty"`
	Pos       diag.Pos   `json:"pos"`
}

// Key names the service as `postconf -M` does: "smtp/inet".
func (s *Service) Key() string { return s.Name + "/" + s.Type }

// Override returns the last -o setting of name (later -o win, as in
// Postfix) and whether there is one.
func (s *Service) Override(name string) (Override, bool) {
	for i := len(s.Overrides) - 1; i >= 0; i-- {
		if s.Overrides[i].Name == name {
			return s.Overrides[i], true
		}
	}
	return Override{}, false
}

// EffectiveOverrides returns the -o settings with later duplicates winning,
// sorted by name (the order `postconf -P` prints them in).
func (s *Service) EffectiveOverrides() []Override {
	last := map[string]Override{}
	for _, o := range s.Overrides {
		last[o.Name] = o
	}
	out := make([]Override, 0, len(last))
	for _, o := range last {
		out = append(out, o)
	}
	sortOverrides(out)
	return out
}

func sortOverrides(o []Override) {
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && o[j].Name < o[j-1].Name; j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
}

// MasterCF is a parsed master.cf (or `postconf -M` dump).
type MasterCF struct {
	File     string
	Services []*Service
	Warnings []diag.Warning
	NoLines  bool
}

// Lookup finds a service by "name/type".
func (m *MasterCF) Lookup(key string) *Service {
	if m == nil {
		return nil
	}
	for _, s := range m.Services {
		if s.Key() == key {
			return s
		}
	}
	return nil
}

// ParseMasterCF parses master.cf text with the same comment and continuation
// rules as main.cf (master(5)).
func ParseMasterCF(file string, data []byte) (*MasterCF, error) {
	m := &MasterCF{File: file}
	lines, warns := readLogicalLines(file, data)
	m.Warnings = warns
	for _, ll := range lines {
		pos := diag.Pos{File: file, Line: ll.Line}
		s, err := parseServiceLine(ll.Text, pos)
		if err != nil {
			return nil, err
		}
		m.Services = append(m.Services, s)
	}
	return m, nil
}

// ReadMasterCF reads and parses the master.cf at path.
func ReadMasterCF(path string) (*MasterCF, error) {
	data, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	return ParseMasterCF(path, data)
}

var serviceTypes = map[string]bool{"inet": true, "unix": true, "unix-dgram": true, "fifo": true, "pass": true}

func parseServiceLine(text string, pos diag.Pos) (*Service, error) {
	toks, err := splitMasterTokens(text)
	if err != nil {
		return nil, &diag.Error{Pos: pos, Msg: err.Error(), Text: text}
	}
	if len(toks) < 8 {
		return nil, &diag.Error{Pos: pos, Msg: fmt.Sprintf("bad field count: master.cf entries need 8 fields (service type private unpriv chroot wakeup maxproc command), found %d", len(toks)), Text: text}
	}
	s := &Service{Name: toks[0], Type: toks[1], Private: toks[2], Unpriv: toks[3], Chroot: toks[4],
		Wakeup: toks[5], Maxproc: toks[6], Command: toks[7], Pos: pos}
	if !serviceTypes[s.Type] {
		return nil, &diag.Error{Pos: pos, Msg: fmt.Sprintf("unknown service type %q (expected inet, unix, unix-dgram, fifo or pass)", s.Type), Text: text}
	}
	args := toks[8:]
	for i := 0; i < len(args); i++ {
		a := stripBraces(args[i])
		s.Args = append(s.Args, a)
		// Options end at the first non-option argument or "--", as in
		// master(8)'s and postconf's own parsing.
		if args[i] == "-o" && i+1 < len(args) {
			v := stripBraces(args[i+1])
			i++
			name, value, err := splitNameValueMaster(v)
			if err != nil {
				return nil, &diag.Error{Pos: pos, Msg: "-o " + err.Error(), Text: text}
			}
			// Kept as postconf -M prints it: name=value.
			s.Args = append(s.Args, name+"="+value)
			s.Overrides = append(s.Overrides, Override{Name: name, Value: value, Pos: pos})
			continue
		}
		s.Other = append(s.Other, a)
	}
	return s, nil
}

// splitNameValueMaster is split_nameval for a -o argument: "name=value"
// with optional whitespace around '='.
func splitNameValueMaster(s string) (string, string, error) {
	name, value, err := splitNameValue(strings.TrimLeft(s, " \t"))
	if err != nil {
		return "", "", fmt.Errorf("%v: %q", err, s)
	}
	return name, strings.TrimRight(value, " \t\r\n"), nil
}

// splitMasterTokens splits a master.cf logical line on whitespace, keeping a
// {...} group (Postfix 3.0+) together even when it holds whitespace.
func splitMasterTokens(s string) ([]string, error) {
	var toks []string
	i := 0
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i >= len(s) {
			return toks, nil
		}
		start, level := i, 0
		for i < len(s) && (level > 0 || !isBlank(s[i])) {
			switch s[i] {
			case '{':
				level++
			case '}':
				level--
			}
			i++
		}
		tok := s[start:i]
		if level > 0 || (tok[0] == '{' && tok[len(tok)-1] != '}') {
			return nil, fmt.Errorf("missing '}' in %q", diag.Shorten(tok))
		}
		toks = append(toks, tok)
	}
}

// stripBraces turns "{ text }" into "text", as Postfix's extpar() does.
func stripBraces(s string) string {
	if len(s) >= 2 && s[0] == '{' && s[len(s)-1] == '}' {
		return strings.Trim(s[1:len(s)-1], " \t\r\n\v\f")
	}
	return s
}

// FormatM renders a service as one `postconf -M` line (fields separated by
// single spaces; a -o value with whitespace in braces).
func (s *Service) FormatM() string {
	var b strings.Builder
	s.writeFields(&b)
	for _, a := range s.Args {
		b.WriteByte(' ')
		b.WriteString(braceIfSpace(a))
	}
	return b.String()
}

// FormatMf renders a service the way `postconf -Mf` folds it: -o settings
// on their own indented lines.
func (s *Service) FormatMf() string {
	var b strings.Builder
	s.writeFields(&b)
	for i := 0; i < len(s.Args); i++ {
		if s.Args[i] == "-o" && i+1 < len(s.Args) {
			b.WriteString("\n    -o ")
			b.WriteString(braceIfSpace(s.Args[i+1]))
			i++
			continue
		}
		b.WriteByte(' ')
		b.WriteString(braceIfSpace(s.Args[i]))
	}
	return b.String()
}

func braceIfSpace(a string) string {
	if strings.ContainsAny(a, " \t\r\n") {
		return "{" + a + "}"
	}
	return a
}

// fieldColumns are where postconf -M starts each of the eight fields; a
// field that overflows pushes the next one right by a single space.
var fieldColumns = [8]int{0, 11, 17, 25, 33, 41, 49, 57}

func (s *Service) writeFields(b *strings.Builder) {
	col := 0
	for i, f := range [8]string{s.Name, s.Type, s.Private, s.Unpriv, s.Chroot, s.Wakeup, s.Maxproc, s.Command} {
		if i > 0 {
			pad := fieldColumns[i] - col
			if pad < 1 {
				pad = 1
			}
			b.WriteString(strings.Repeat(" ", pad))
			col += pad
		}
		b.WriteString(f)
		col += len(f)
	}
}

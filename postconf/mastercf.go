package postconf

import (
	"fmt"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
	"github.com/pfaudit/pfaudit/postconf/table"
)

// Override is one `-o name=value` (or `-o { name = value }`) argument of a
// master.cf service.
type Override struct {
	Name  string   `json:"name"`
	Value string   `json:"value"`
	Pos   diag.Pos `json:"pos"`
}

// Service is one master.cf entry (master(5)): the seven fixed fields, the
// command, and its arguments. Args holds every argument after the command
// the way postconf normalises them (an attached "-oname=value" split into
// "-o" and "name=value", "-o { name = value }" turned into "-o"
// "name=value", braces around other arguments removed); Overrides holds
// the -o settings of the option section in order; Other the remaining
// arguments.
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
// Postfix) and whether there is one. Read-only parameters (service_name,
// process_name, process_id) are never overridden: postconf drops such
// settings with a warning.
func (s *Service) Override(name string) (Override, bool) {
	if readOnlyParams[name] {
		return Override{}, false
	}
	for i := len(s.Overrides) - 1; i >= 0; i-- {
		if s.Overrides[i].Name == name {
			return s.Overrides[i], true
		}
	}
	return Override{}, false
}

// EffectiveOverrides returns the -o settings with later duplicates winning
// and read-only parameters dropped, sorted by name: what `postconf -P`
// prints for the service.
func (s *Service) EffectiveOverrides() []Override {
	last := map[string]Override{}
	for _, o := range s.Overrides {
		if !readOnlyParams[o.Name] {
			last[o.Name] = o
		}
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
// rules as main.cf (master(5)). Entries postconf refuses (too few fields, an
// unknown type, a bad private/unpriv/chroot/wakeup/maxproc field) are
// errors; what it merely warns about ends up in Warnings.
func ParseMasterCF(file string, data []byte) (*MasterCF, error) {
	m := &MasterCF{File: file}
	lines, warns := readLogicalLines(file, data)
	m.Warnings = warns
	for _, ll := range lines {
		pos := diag.Pos{File: file, Line: ll.Line}
		s, w, err := parseServiceLine(ll.Text, pos)
		if err == nil {
			locateOverrides(s, ll)
		}
		if err != nil {
			return nil, err
		}
		m.Warnings = append(m.Warnings, w...)
		m.Services = append(m.Services, s)
	}
	return m, nil
}

// locateOverrides gives each -o setting the physical line it is written on
// (an entry usually has one -o per continuation line), by finding the
// settings' names in the entry's text in order.
func locateOverrides(s *Service, ll logicalLine) {
	from := 0
	for i := range s.Overrides {
		o := &s.Overrides[i]
		k := strings.Index(ll.Text[from:], o.Name)
		if k < 0 {
			continue
		}
		o.Pos.Line = ll.lineAt(from + k)
		from += k + len(o.Name)
	}
}

// ReadMasterCF reads and parses the master.cf at path.
func ReadMasterCF(path string) (*MasterCF, error) {
	data, private, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseMasterCF(path, data)
	return m, withheld(err, path, private)
}

var serviceTypes = map[string]bool{"inet": true, "unix": true, "unix-dgram": true, "fifo": true, "pass": true}

// masterBlanks separate master.cf fields.
const masterBlanks = " \t\r\n"

// parseServiceLine follows postconf's pcf_parse_master_entry(): split the
// entry into fields (a {...} group stays one field), check the fixed fields
// as pcf_check_master_entry() does, then normalise the daemon arguments.
func parseServiceLine(text string, pos diag.Pos) (*Service, []diag.Warning, error) {
	toks := splitMasterTokens(text)
	if len(toks) < 8 {
		return nil, nil, &diag.Error{Pos: pos, Msg: fmt.Sprintf("bad field count: master.cf entries need 8 fields (service type private unpriv chroot wakeup maxproc command), found %d", len(toks)), Text: text}
	}
	s := &Service{Name: toks[0], Type: toks[1], Private: toks[2], Unpriv: toks[3], Chroot: toks[4],
		Wakeup: toks[5], Maxproc: toks[6], Command: toks[7], Pos: pos}
	if msg := checkServiceFields(s); msg != "" {
		return nil, nil, &diag.Error{Pos: pos, Msg: msg, Text: text}
	}
	var warns []diag.Warning
	s.Args = normalizeDaemonArgs(toks[8:], func(msg string) {
		warns = append(warns, diag.Warning{Pos: pos, Msg: msg})
	})
	// The -o settings are those of the option section: it ends at the
	// first argument that does not start with '-', or at "--"
	// (pcf_register_user_parameters).
	i := 0
	for ; i < len(s.Args); i++ {
		a := s.Args[i]
		if a == "" || a[0] != '-' || a == "--" {
			break
		}
		if !expectsValue(a) || i+1 >= len(s.Args) {
			s.Other = append(s.Other, a)
			continue
		}
		if a != "-o" {
			s.Other = append(s.Other, a, s.Args[i+1])
			i++
			continue
		}
		i++
		if name, value, err := splitNameValueMaster(s.Args[i]); err == nil {
			s.Overrides = append(s.Overrides, Override{Name: name, Value: value, Pos: pos})
		} else {
			s.Other = append(s.Other, a, s.Args[i])
		}
	}
	s.Other = append(s.Other, s.Args[i:]...)
	return s, warns, nil
}

// checkServiceFields is pcf_check_master_entry(); it returns postconf's
// complaint, or "".
func checkServiceFields(s *Service) string {
	if !serviceTypes[s.Type] {
		return fmt.Sprintf("invalid type field %q (expected inet, unix, unix-dgram, fifo or pass)", s.Type)
	}
	for _, f := range []struct{ name, v string }{{"private", s.Private}, {"unpriv", s.Unpriv}, {"chroot", s.Chroot}} {
		if len(f.v) != 1 || !strings.Contains("yn-", f.v) {
			return fmt.Sprintf("invalid %s field %q (expected y, n or -)", f.name, f.v)
		}
	}
	w := strings.TrimSuffix(s.Wakeup, "?")
	if s.Wakeup != "-" && w != "-" && !allDigitsOrEmpty(w) {
		return fmt.Sprintf("invalid wakeup field %q (expected -, or seconds with an optional ?)", s.Wakeup)
	}
	if s.Maxproc != "-" && !allDigitsOrEmpty(s.Maxproc) {
		return fmt.Sprintf("invalid process_limit field %q (expected - or a number)", s.Maxproc)
	}
	return ""
}

func allDigitsOrEmpty(s string) bool { return s == "" || allDigits(s) }

// expectsValue reports whether a daemon option takes the next argument as
// its value. Only -o does; postconf's strchr() test also matches the NUL
// of a lone "-".
func expectsValue(a string) bool { return len(a) < 2 || a[1] == 'o' }

// normalizeDaemonArgs is pcf_normalize_daemon_args(): in the option
// section it splits "-vo" into "-v" "-o" and "-oname=value" into "-o"
// "name=value", and reduces "-o {name = value}" to "name=value"; after it,
// an argument in {} loses its braces.
func normalizeDaemonArgs(in []string, warn func(string)) []string {
	args := append([]string(nil), in...)
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "" || a[0] != '-' || a == "--" {
			break
		}
		// Split "-stuffozz" into "-stuff" and "-ozz": postconf does this at
		// any 'o' after the first option letter, even inside what looks
		// like a value.
		if k := strings.IndexByte(a[min(2, len(a)):], 'o'); k >= 0 && len(a) > 2 {
			k += 2
			args = insertAt(args, i+1, "-"+a[k:])
			a = a[:k]
			args[i] = a
		}
		if !expectsValue(a) {
			continue
		}
		var extract bool
		switch {
		case len(a) > 2:
			args = insertAt(args, i+1, a[2:])
			args[i] = a[:2]
			i++
			extract = strings.HasPrefix(args[i], "{")
		case i+1 < len(args):
			i++
			extract = strings.HasPrefix(args[i], "{")
		}
		if extract {
			v, msg := extractBraced(args[i])
			if msg != "" {
				warn(msg)
			}
			args[i] = v
			if len(args[i-1]) > 1 && args[i-1][1] == 'o' {
				if name, value, err := splitNameValueMaster(v); err != nil {
					warn(fmt.Sprintf("%v: %q", err, v))
				} else {
					args[i] = name + "=" + value
				}
			}
		}
	}
	for ; i < len(args); i++ {
		if strings.HasPrefix(args[i], "{") {
			v, msg := extractBraced(args[i])
			if msg != "" {
				warn(msg)
			}
			args[i] = v
		}
	}
	return args
}

func insertAt(s []string, i int, v string) []string {
	s = append(s, "")
	copy(s[i+1:], s[i:])
	s[i] = v
	return s
}

// extractBraced is extpar() with EXTPAR_FLAG_STRIP: "{ text }" becomes
// "text". An unbalanced group loses its opening brace and whatever follows
// a balanced group is dropped; both with the warning postconf prints.
func extractBraced(s string) (string, string) {
	n := table.Balpar(s)
	var body, msg string
	switch {
	case n == 0:
		body, msg = s[1:], fmt.Sprintf("missing '}' in %q", s)
	case n < len(s):
		body, msg = s[1:n-1], fmt.Sprintf("syntax error after '}' in %q", s)
	default:
		body = s[1 : n-1]
	}
	return strings.TrimFunc(body, func(r rune) bool { return r < 0x80 && isBlank(byte(r)) }), msg
}

// splitNameValueMaster is split_nameval() for a -o argument: "name=value"
// with optional whitespace before the name and around '=', the value
// trimmed.
func splitNameValueMaster(s string) (string, string, error) {
	name, value, err := splitNameValue(strings.TrimLeftFunc(s, func(r rune) bool { return r < 0x80 && isBlank(byte(r)) }))
	if err != nil {
		return "", "", err
	}
	return name, strings.TrimRightFunc(value, func(r rune) bool { return r < 0x80 && isBlank(byte(r)) }), nil
}

// splitMasterTokens splits a master.cf entry the way mystrtokq() does: on
// blanks outside {}; a '}' without a matching '{' is ordinary text, and an
// unclosed '{' extends the field to the end of the entry.
func splitMasterTokens(s string) []string { return table.SplitBraced(s, masterBlanks) }

// Layout of `postconf -M` output (postconf.h): fields start at fixed
// columns; with -f, lines are folded before 80 columns and continue after
// four spaces.
const (
	lineLimit  = 80
	indentLen  = 4
	indentText = "    "
)

// fieldColumns are where postconf -M starts each of the eight fields; a
// field that overflows pushes the next one right by a single space.
var fieldColumns = [8]int{0, 11, 17, 25, 33, 41, 49, 57}

// FormatM renders a service as one `postconf -M` line.
func (s *Service) FormatM() string { return s.format(false, nil) }

// FormatMf renders a service the way `postconf -Mf` folds it.
func (s *Service) FormatMf() string { return s.format(true, nil) }

// format is pcf_print_master_entry(). expand, when not nil, replaces the
// value of each -o (postconf -Mx).
func (s *Service) format(fold bool, expand func(string) string) string {
	var b strings.Builder
	lineLen := 0
	add := func(t string) {
		b.WriteString(t)
		lineLen += len(t)
	}
	for i, f := range [8]string{s.Name, s.Type, s.Private, s.Unpriv, s.Chroot, s.Wakeup, s.Maxproc, s.Command} {
		if lineLen > 0 {
			for {
				add(" ")
				if lineLen >= fieldColumns[i] {
					break
				}
			}
		}
		add(f)
	}
	inOptions := true
	for i := 0; i < len(s.Args); i++ {
		arg := s.Args[i]
		argLen := len(arg)
		aval, haveVal := "", false
		parens := false
		if inOptions {
			if arg == "" || arg[0] != '-' || arg == "--" {
				inOptions = false
			} else if expectsValue(arg) && i+1 < len(s.Args) {
				aval, haveVal = s.Args[i+1], true
				lineLen = lineLimit // wrap before an option with a value
				if arg == "-o" && expand != nil {
					aval = expand(aval)
				}
				argLen += len(aval) + 3
				if strings.ContainsAny(aval, masterBlanks) {
					parens = true
					argLen += 2
				}
			}
		}
		if !inOptions {
			parens = strings.ContainsAny(arg, masterBlanks)
		}
		if lineLen > indentLen {
			if !fold || lineLen+1+argLen < lineLimit {
				add(" ")
			} else {
				b.WriteString("\n" + indentText)
				lineLen = indentLen
			}
		}
		if !inOptions && parens {
			add("{" + arg + "}")
		} else {
			add(arg)
		}
		if haveVal {
			add(" ")
			if parens {
				add("{" + aval + "}")
			} else {
				add(aval)
			}
			i++
			lineLen = lineLimit // wrap after an option with a value
		}
	}
	return b.String()
}

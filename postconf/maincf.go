package postconf

import (
	"bytes"
	"errors"
	"fmt"
	"sort"

	"github.com/pfaudit/pfaudit/internal/safefile"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// MaxFileSize bounds how much of a configuration file (or a collected
// dump) pfaudit reads; a main.cf larger than this is certainly not a
// configuration file (the largest real ones are tens of kilobytes), and
// the bound keeps the parser's memory small.
const MaxFileSize = 4 << 20

// Assignment is one `name = value` line.
type Assignment struct {
	Value string   `json:"value"`
	Pos   diag.Pos `json:"pos"`
}

// Param is a main.cf parameter: its winning (last) assignment and any earlier
// ones it overrode, kept as information (Postfix warns "overriding earlier
// entry" for them).
type Param struct {
	Name    string       `json:"name"`
	Value   string       `json:"value"` // raw, unexpanded
	Pos     diag.Pos     `json:"pos"`
	Earlier []Assignment `json:"earlier,omitempty"`
}

// MainCF is a parsed main.cf (or a `postconf -n` dump).
type MainCF struct {
	File     string
	Params   map[string]*Param
	Order    []string // names in order of first appearance
	Warnings []diag.Warning
	// NoLines is true when the source carries no line numbers (a postconf
	// dump), so positions name only the file.
	NoLines bool
}

// Get returns the raw value of name and whether main.cf sets it.
func (m *MainCF) Get(name string) (string, bool) {
	if m == nil {
		return "", false
	}
	p, ok := m.Params[name]
	if !ok {
		return "", false
	}
	return p.Value, true
}

// Names returns the parameter names main.cf sets, sorted.
func (m *MainCF) Names() []string {
	names := make([]string, 0, len(m.Params))
	for n := range m.Params {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Set assigns name = value at pos, keeping the previous assignment as
// overridden (last assignment wins, as in Postfix).
//
// Postfix warns "overriding earlier entry" only when the value differs from
// the one in force: util/dict.c dict_load_fp() compares the stored value with
// strcmp() and stays silent for a repeated identical assignment. The values
// compared are those after split_nameval() (blanks around the value
// removed, continuation lines kept as written), so "a = x" after "a =  x"
// warns, and the warning names the value being replaced, not the first one.
func (m *MainCF) Set(name, value string, pos diag.Pos) {
	if m.Params == nil {
		m.Params = map[string]*Param{}
	}
	if p, ok := m.Params[name]; ok {
		if p.Value != value {
			m.Warnings = append(m.Warnings, diag.Warning{Pos: pos,
				Msg: fmt.Sprintf("overriding earlier entry: %s=%s", name, diag.Shorten(p.Value))})
		}
		p.Earlier = append(p.Earlier, Assignment{Value: p.Value, Pos: p.Pos})
		p.Value, p.Pos = value, pos
		return
	}
	m.Params[name] = &Param{Name: name, Value: value, Pos: pos}
	m.Order = append(m.Order, name)
}

// ParseMainCF parses main.cf text. file names the source in positions and
// messages. Syntax errors that make Postfix exit (a line without '=', an
// empty name) are returned as *diag.Error; what Postfix merely warns about
// ends up in Warnings.
func ParseMainCF(file string, data []byte) (*MainCF, error) {
	m := &MainCF{File: file, Params: map[string]*Param{}}
	lines, warns := readLogicalLines(file, data)
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		// Postfix reads the byte-order mark as part of the first name, so
		// that setting is an unknown parameter and has no effect.
		warns = append([]diag.Warning{{Pos: diag.Pos{File: file, Line: 1},
			Msg: "file starts with a UTF-8 byte-order mark: Postfix reads it as part of the first parameter name, which then has no effect"}}, warns...)
	}
	m.Warnings = warns
	for _, ll := range lines {
		name, value, err := splitNameValue(ll.Text)
		if err != nil {
			msg := err.Error()
			if bytes.IndexByte(data, 0) >= 0 {
				msg += " (the file contains NUL bytes: not a text file?)"
			}
			return nil, &diag.Error{Pos: diag.Pos{File: file, Line: ll.Line}, Msg: msg, Text: ll.Text}
		}
		m.Set(name, value, diag.Pos{File: file, Line: ll.Line})
	}
	return m, nil
}

// splitNameValue follows Postfix's split_nameval(): the name runs up to
// whitespace or '=', then '=' must follow (after optional whitespace), and
// the value is trimmed at both ends.
func splitNameValue(s string) (name, value string, err error) {
	i := 0
	for i < len(s) && !isBlank(s[i]) && s[i] != '=' {
		i++
	}
	name = s[:i]
	if name == "" {
		return "", "", fmt.Errorf("missing attribute name")
	}
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	if i >= len(s) || s[i] != '=' {
		return "", "", fmt.Errorf("missing '=' after attribute name")
	}
	i++
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	return name, s[i:], nil
}

// ReadMainCF reads and parses the main.cf at path.
func ReadMainCF(path string) (*MainCF, error) {
	data, private, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	m, err := ParseMainCF(path, data)
	return m, withheld(err, path, private)
}

// readConfigFile reads a configuration file with a size bound. Only a
// regular file is read: a FIFO would block forever and a device such as
// /dev/zero never ends (package safefile). private reports a file other
// users may not read (see withheld).
func readConfigFile(path string) (data []byte, private bool, err error) {
	data, st, err := safefile.ReadFileStat(path, MaxFileSize)
	var tl *safefile.TooLargeError
	if errors.As(err, &tl) {
		return nil, false, fmt.Errorf("%w: not a Postfix configuration file", err)
	}
	return data, safefile.Private(st), err
}

// withheld drops the offending text from a parse error of a file other
// users may not read. pfaudit often runs as root, and a main.cf that is
// a symbolic link to /etc/shadow (or a copied host directory in a fleet
// holding one) would otherwise have its first line quoted in the error,
// the report and a SARIF upload. The file and line still say where.
func withheld(err error, path string, private bool) error {
	var de *diag.Error
	if !private || !errors.As(err, &de) || de.Text == "" {
		return err
	}
	de.Text, de.Col = "", 0
	de.Msg += " (text not shown: " + path + " is not readable by other users)"
	return err
}

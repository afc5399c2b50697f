package postconf

import (
	"fmt"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Dumps are the collected outputs of `postconf -n` (or plain `postconf`),
// `postconf -M`/`-Mf` and `postconf -P` from another machine. Their lines
// are not main.cf or master.cf lines, so positions name only the dump
// (Line 0): pfaudit says "from a postconf -n dump" rather than invent a
// main.cf line number.

// isPostconfNoise recognises lines that are postconf's own diagnostics,
// which end up in dumps collected with 2>&1.
func isPostconfNoise(s string) bool {
	return strings.HasPrefix(s, "postconf: ")
}

func dropNoise(data []byte) ([]byte, []string) {
	var keep []string
	var noise []string
	for _, l := range strings.Split(string(data), "\n") {
		if isPostconfNoise(strings.TrimSpace(l)) {
			noise = append(noise, l)
			continue
		}
		keep = append(keep, l)
	}
	return []byte(strings.Join(keep, "\n")), noise
}

// ParseNDump parses `postconf -n` (or full `postconf`) output. Its syntax is
// main.cf's, one parameter per line.
func ParseNDump(file string, data []byte) (*MainCF, error) {
	clean, noise := dropNoise(data)
	m, err := ParseMainCF(file, clean)
	if err != nil {
		return nil, fmt.Errorf("postconf -n dump: %w", err)
	}
	m.NoLines = true
	for _, p := range m.Params {
		p.Pos.Line = 0
		for i := range p.Earlier {
			p.Earlier[i].Pos.Line = 0
		}
	}
	for _, n := range noise {
		m.Warnings = append(m.Warnings, diag.Warning{Pos: diag.Pos{File: file}, Msg: "ignored postconf diagnostic in dump: " + diag.Shorten(strings.TrimSpace(n))})
	}
	return m, nil
}

// ParseMDump parses `postconf -M` or `postconf -Mf` output (master.cf
// syntax).
func ParseMDump(file string, data []byte) (*MasterCF, error) {
	clean, _ := dropNoise(data)
	m, err := ParseMasterCF(file, clean)
	if err != nil {
		return nil, fmt.Errorf("postconf -M dump: %w", err)
	}
	m.NoLines = true
	for _, s := range m.Services {
		s.Pos.Line = 0
		for i := range s.Overrides {
			s.Overrides[i].Pos.Line = 0
		}
	}
	return m, nil
}

// ApplyPDump merges `postconf -P` output ("service/type/name = value") into
// master. Services the -M dump did not list are added with unknown fields
// ("?") so that their overrides are still audited.
func ApplyPDump(master *MasterCF, file string, data []byte) error {
	clean, _ := dropNoise(data)
	lines, _ := readLogicalLines(file, clean)
	for _, ll := range lines {
		key, value, err := splitNameValue(ll.Text)
		if err != nil {
			return &diag.Error{Pos: diag.Pos{File: file, Line: ll.Line}, Msg: "postconf -P dump: " + err.Error(), Text: ll.Text}
		}
		// The service name may itself hold '/'? No: master(5) service names
		// are ports, host:port or unix names without '/'. The parameter is
		// the part after the second '/'.
		parts := strings.SplitN(key, "/", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
			return &diag.Error{Pos: diag.Pos{File: file, Line: ll.Line}, Msg: "postconf -P dump: expected service/type/name = value", Text: ll.Text}
		}
		svcKey := parts[0] + "/" + parts[1]
		s := master.Lookup(svcKey)
		if s == nil {
			s = &Service{Name: parts[0], Type: parts[1], Private: "?", Unpriv: "?", Chroot: "?", Wakeup: "?", Maxproc: "?", Command: "?",
				Pos: diag.Pos{File: file}}
			master.Services = append(master.Services, s)
		}
		if _, ok := s.Override(parts[2]); ok {
			// The -M dump already carried it; -P shows the winning value.
			for i := range s.Overrides {
				if s.Overrides[i].Name == parts[2] {
					s.Overrides[i].Value = value
				}
			}
			continue
		}
		s.Overrides = append(s.Overrides, Override{Name: parts[2], Value: value, Pos: diag.Pos{File: file}})
		s.Args = append(s.Args, "-o", parts[2]+"="+value)
	}
	return nil
}

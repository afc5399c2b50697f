package rules

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// An interpreter for the remediation commands pfaudit itself writes (see
// fix.go), applied to a copy of the configuration in memory: files are
// never touched. It follows postconf(1) for each edit:
//
//	-e 'name = value'       main.cf: the setting is replaced in place (its
//	                        earlier duplicates go, as pcf_edit_main() drops them)
//	-X name                 main.cf: the setting is removed
//	-P 'svc/type/name=v'    master.cf: the entry's -o name is replaced or added
//	-PX 'svc/type/name'     master.cf: the entry's -o name is removed
//	-M 'svc/type = entry'   master.cf: the entry is replaced or added
//	-MX 'svc/type'          master.cf: the entry is removed
//
// touch and postmap create an empty lookup table; they change no setting.
// Anything else is refused: a fix pfaudit cannot model is not verified.

// simulated is a patched copy of a configuration.
type simulated struct {
	cfg *postconf.Config
	// main are the main.cf settings the commands changed, svc the -o
	// settings per master.cf entry ("smtp/inet"); master is true when a
	// whole entry was added, replaced or removed.
	main   map[string]bool
	svc    map[string]map[string]bool
	master bool
	// owned are the master.cf entries copied for editing: the others are
	// the original configuration's, shared (copyMaster).
	owned map[*postconf.Service]bool
}

// simulate applies cmds to a copy of cfg.
func simulate(cfg *postconf.Config, cmds []string) (*simulated, error) {
	main := copyMain(cfg.Main)
	master := copyMaster(cfg.Master)
	s := &simulated{main: map[string]bool{}, svc: map[string]map[string]bool{}}
	for _, cmd := range cmds {
		w, err := shellWords(cmd)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", cmd, err)
		}
		if len(w) == 0 {
			continue
		}
		switch w[0] {
		case "touch":
			continue
		case "postmap":
			continue
		case "postconf":
		default:
			return nil, fmt.Errorf("%s: pfaudit cannot model the command %q", cmd, w[0])
		}
		w = w[1:]
		dir := DefaultConfigDir
		if len(w) >= 2 && w[0] == "-c" {
			dir, w = w[1], w[2:]
		}
		if cfg.Dir != "" && dir != cfg.Dir {
			return nil, fmt.Errorf("%s: edits %s, not the audited %s", cmd, dir, cfg.Dir)
		}
		if len(w) < 2 {
			return nil, fmt.Errorf("%s: no edit", cmd)
		}
		op, args := w[0], w[1:]
		for _, a := range args {
			if err := s.apply(main, master, op, a); err != nil {
				return nil, fmt.Errorf("%s: %v", cmd, err)
			}
		}
	}
	edited := make([]string, 0, len(s.main))
	for n := range s.main {
		edited = append(edited, n)
	}
	c := cfg.Edited(main, master, edited)
	// The copy reads the same files (a dump's copies under --files-root, or
	// none) as the audited configuration.
	c.Dir, c.LiveDefaults, c.Files = cfg.Dir, cfg.LiveDefaults, cfg.Files
	s.cfg = c
	return s, nil
}

func (s *simulated) apply(main *postconf.MainCF, master *postconf.MasterCF, op, arg string) error {
	switch op {
	case "-e":
		name, value, ok := strings.Cut(arg, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return fmt.Errorf("postconf -e needs name = value, not %q", arg)
		}
		pos := diag.Pos{File: main.File}
		if p, ok := main.Params[name]; ok {
			pos = p.Pos
		} else {
			main.Order = append(main.Order, name)
		}
		main.Params[name] = &postconf.Param{Name: name, Value: value, Pos: pos}
		s.main[name] = true
	case "-X":
		delete(main.Params, arg)
		main.Order = slices.DeleteFunc(main.Order, func(n string) bool { return n == arg })
		s.main[arg] = true
	case "-P", "-PX":
		key, val, hasVal := arg, "", false
		if op == "-P" {
			if key, val, hasVal = strings.Cut(arg, "="); !hasVal {
				return fmt.Errorf("postconf -P needs service/type/name=value, not %q", arg)
			}
			key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		}
		parts := strings.SplitN(key, "/", 3)
		if len(parts) != 3 || parts[2] == "" {
			return fmt.Errorf("%s needs service/type/name, not %q", op, arg)
		}
		svc := master.Lookup(parts[0] + "/" + parts[1])
		if svc == nil {
			return fmt.Errorf("no master.cf entry %s/%s", parts[0], parts[1])
		}
		if !s.owned[svc] {
			cp := cloneService(svc)
			master.Services[slices.Index(master.Services, svc)] = cp
			if s.owned == nil {
				s.owned = map[*postconf.Service]bool{}
			}
			s.owned[cp], svc = true, cp
		}
		setOverride(svc, parts[2], val, hasVal)
		if s.svc[svc.Key()] == nil {
			s.svc[svc.Key()] = map[string]bool{}
		}
		s.svc[svc.Key()][parts[2]] = true
	case "-M":
		key, entry, ok := strings.Cut(arg, "=")
		key = strings.TrimSpace(key)
		if !ok {
			return fmt.Errorf("postconf -M needs service/type = entry, not %q", arg)
		}
		m, err := postconf.ParseMasterCF(master.File, []byte(strings.TrimSpace(entry)+"\n"))
		if err != nil || len(m.Services) != 1 {
			return fmt.Errorf("postconf -M: bad entry %q: %v", entry, err)
		}
		ns := m.Services[0]
		if ns.Key() != key {
			return fmt.Errorf("postconf -M %s: the entry is %s", key, ns.Key())
		}
		if i := slices.IndexFunc(master.Services, func(x *postconf.Service) bool { return x.Key() == key }); i >= 0 {
			ns.Pos = master.Services[i].Pos
			master.Services[i] = ns
		} else {
			master.Services = append(master.Services, ns)
		}
		s.master = true
	case "-MX":
		n := len(master.Services)
		master.Services = slices.DeleteFunc(master.Services, func(x *postconf.Service) bool { return x.Key() == arg })
		if len(master.Services) == n {
			return fmt.Errorf("no master.cf entry %s", arg)
		}
		s.master = true
	default:
		return fmt.Errorf("pfaudit cannot model postconf %s", op)
	}
	return nil
}

// setOverride replaces svc's -o name (every instance) with name=value at
// the end of the option section, or only removes it when !set.
func setOverride(svc *postconf.Service, name, value string, set bool) {
	var args []string
	for i := 0; i < len(svc.Args); i++ {
		if svc.Args[i] == "-o" && i+1 < len(svc.Args) {
			if n, _, _ := strings.Cut(svc.Args[i+1], "="); strings.TrimSpace(n) == name {
				i++
				continue
			}
		}
		args = append(args, svc.Args[i])
	}
	pos := svc.Pos
	svc.Overrides = slices.DeleteFunc(svc.Overrides, func(o postconf.Override) bool {
		if o.Name == name {
			pos = o.Pos
			return true
		}
		return false
	})
	if set {
		// After the entry's last -o, else first: either way inside the
		// option section, which ends at the first non-option (master(5)).
		at := 0
		for i := 0; i+1 < len(args); i++ {
			if args[i] == "-o" {
				at = i + 2
				i++
			} else if !strings.HasPrefix(args[i], "-") {
				break
			}
		}
		args = slices.Insert(args, at, "-o", name+"="+value)
		svc.Overrides = append(svc.Overrides, postconf.Override{Name: name, Value: value, Pos: pos})
	}
	svc.Args = args
}

// copyMain copies main.cf's map and order; the settings themselves are
// shared with the original: an edit replaces or deletes a map entry,
// never changes a setting in place.
func copyMain(m *postconf.MainCF) *postconf.MainCF {
	return &postconf.MainCF{File: m.File, Params: maps.Clone(m.Params), Order: slices.Clone(m.Order), NoLines: m.NoLines}
}

// copyMaster copies the list of entries; an entry is copied only when a
// -P edit changes it (simulated.owned), -M and -MX replace or drop list
// elements.
func copyMaster(m *postconf.MasterCF) *postconf.MasterCF {
	return &postconf.MasterCF{File: m.File, NoLines: m.NoLines, Services: slices.Clone(m.Services)}
}

func cloneService(s *postconf.Service) *postconf.Service {
	cp := *s
	cp.Args = slices.Clone(s.Args)
	cp.Overrides = slices.Clone(s.Overrides)
	cp.Other = slices.Clone(s.Other)
	return &cp
}

// shellWords splits a command line the way a POSIX shell splits the
// commands pfaudit writes: blanks separate words, single quotes keep
// everything, double quotes and backslashes escape.
func shellWords(s string) ([]string, error) {
	var out []string
	var b strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote")
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in = true
		case ch == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated double quote")
			}
			in = true
		case ch == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
			in = true
		case ch == ' ' || ch == '\t':
			if in {
				out = append(out, b.String())
				b.Reset()
				in = false
			}
		case strings.IndexByte(";&|<>`$()", ch) >= 0:
			return nil, fmt.Errorf("shell syntax %q is not a plain command", ch)
		default:
			b.WriteByte(ch)
			in = true
		}
	}
	if in {
		out = append(out, b.String())
	}
	return out, nil
}

// edits reports whether the commands changed the setting name anywhere.
func (s *simulated) edits(name string) bool {
	if s.main[name] {
		return true
	}
	for _, ns := range s.svc {
		if ns[name] {
			return true
		}
	}
	return false
}

package table

import (
	"fmt"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// openInline parses inline:{key=value, { key = value }} (dict_inline.c).
// Every syntax error makes Postfix fail all lookups of the table.
func openInline(spec, name string, at diag.Pos, opt Options) (Table, error) {
	bad := func(why string) error {
		return &diag.Error{Pos: at, Msg: fmt.Sprintf("%s: \"%s\"; need \"inline:{name=value...}\"", why, spec), Text: spec}
	}
	n := Balpar(name)
	if n == 0 || n != len(name) || n == 2 {
		return nil, bad("bad syntax")
	}
	t := &fixedTable{spec: spec, typ: "inline", fold: !opt.NoFoldFix}
	count := 0
	for _, tok := range SplitBraced(name[1:n-1], ", \t\r\n") {
		if tok[0] == '{' {
			inner, err := extpar(tok, true)
			if err != nil {
				return nil, bad(err.Error())
			}
			tok = inner
		}
		key, value, why := splitNameval(tok)
		if why != "" {
			return nil, bad(why)
		}
		if t.fold {
			key = ASCIILower(key)
		}
		// No duplicate checks: the last value wins (dict_ht update).
		t.set(key, fixedEntry{value: value, pos: at})
		count++
	}
	if count == 0 {
		return nil, bad("empty table")
	}
	return t, nil
}

// splitNameval splits "name = value" (split_nameval.c).
func splitNameval(s string) (name, value, why string) {
	s = trimLeftSpace(s)
	if s == "" {
		return "", "", "missing attribute name"
	}
	i := 0
	for i < len(s) && !isSpace(s[i]) && s[i] != '=' {
		i++
	}
	name = s[:i]
	rest := trimLeftSpace(s[i:])
	if rest == "" || rest[0] != '=' {
		return "", "", "missing '=' after attribute name"
	}
	return name, trimSpace(rest[1:]), ""
}

// staticTable is static:VALUE; every lookup finds VALUE (dict_static.c).
type staticTable struct {
	spec  string
	value string
	at    diag.Pos
}

func openStatic(spec, name string, at diag.Pos) (Table, error) {
	value := name
	if strings.HasPrefix(name, "{") {
		v, err := extpar(name, true)
		if err != nil {
			return nil, &diag.Error{Pos: at, Msg: "bad static:name syntax: " + err.Error(), Text: spec}
		}
		value = v
	}
	return &staticTable{spec: spec, value: value, at: at}, nil
}

// Values returns the one result.
func (t *staticTable) Values() []string { return []string{t.value} }

func (t *staticTable) Spec() string             { return t.spec }
func (t *staticTable) Type() string             { return "static" }
func (t *staticTable) Fixed() bool              { return true }
func (t *staticTable) Errors() []*diag.Error    { return nil }
func (t *staticTable) Warnings() []diag.Warning { return nil }
func (t *staticTable) Lookup(string) (Result, error) {
	return Result{Value: t.value, Found: true, Pos: t.at}, nil
}

// compoundTable is pipemap:{...} or unionmap:{...} (dict_pipe.c,
// dict_union.c).
type compoundTable struct {
	spec    string
	typ     string
	members []Table
}

func openCompound(spec, typ, name string, at diag.Pos, opt Options, depth int) (Table, error) {
	bad := &diag.Error{Pos: at, Text: spec,
		Msg: fmt.Sprintf("bad syntax: \"%s\"; need \"%s:{type:name...}\"", spec, typ)}
	n := Balpar(name)
	if n == 0 || n != len(name) || n == 2 {
		return nil, bad
	}
	specs := SplitBraced(name[1:n-1], ", \t\r\n")
	if len(specs) == 0 {
		return nil, bad
	}
	for _, s := range specs {
		if !strings.Contains(s, ":") {
			return nil, bad
		}
	}
	t := &compoundTable{spec: spec, typ: typ}
	for _, s := range specs {
		m, err := open(s, at, opt, depth+1)
		if err != nil {
			return nil, err
		}
		t.members = append(t.members, m)
	}
	return t, nil
}

// Values returns what the table can give: the last member's results for
// pipemap:, every member's for unionmap: (one lookup may join several with
// commas). Nil when a member's results are unknown.
func (t *compoundTable) Values() []string {
	members := t.members
	if t.typ == "pipemap" {
		members = members[len(members)-1:]
	}
	var out []string
	for _, m := range members {
		v, ok := m.(Valuer)
		if !ok {
			return nil
		}
		out = append(out, v.Values()...)
	}
	return out
}

func (t *compoundTable) Spec() string { return t.spec }
func (t *compoundTable) Type() string { return t.typ }

// Fixed follows the first member, as Postfix does.
func (t *compoundTable) Fixed() bool { return t.members[0].Fixed() }

func (t *compoundTable) Errors() []*diag.Error {
	var out []*diag.Error
	for _, m := range t.members {
		out = append(out, m.Errors()...)
	}
	return out
}

func (t *compoundTable) Warnings() []diag.Warning {
	var out []diag.Warning
	for _, m := range t.members {
		out = append(out, m.Warnings()...)
	}
	return out
}

func (t *compoundTable) Lookup(key string) (Result, error) {
	if t.typ == "pipemap" {
		var r Result
		for _, m := range t.members {
			var err error
			r, err = m.Lookup(key)
			if err != nil || !r.Found {
				return Result{}, err
			}
			key = r.Value
		}
		return r, nil
	}
	var (
		vals  []string
		first Result
	)
	for _, m := range t.members {
		r, err := m.Lookup(key)
		if err != nil {
			return Result{}, err
		}
		if r.Found {
			if len(vals) == 0 {
				first = r
			}
			vals = append(vals, r.Value)
		}
	}
	if len(vals) == 0 {
		return Result{}, nil
	}
	return Result{Value: strings.Join(vals, ","), Found: true, Pos: first.Pos}, nil
}

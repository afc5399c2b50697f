package postconf

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// ViewOptions selects what a postconf-compatible view shows; the fields
// mirror postconf(1)'s flags.
type ViewOptions struct {
	NonDefault bool     // -n: only parameters set in main.cf
	Expand     bool     // -x: expand $name in values
	Services   bool     // -P: master.cf -o settings as service/type/name = value
	Master     bool     // -M: master.cf entries
	Fold       bool     // -f with -M: fold long entries
	Service    string   // --service NAME/TYPE: effective values in that listener's scope
	Params     []string // names (or service/type[/name] patterns with -P/-M)
}

// Entry is one line of a view, with where its value came from.
type Entry struct {
	Service string   `json:"service,omitempty"`
	Name    string   `json:"name"`
	Value   string   `json:"value"`
	Raw     string   `json:"raw,omitempty"`
	Source  Source   `json:"source,omitempty"`
	Pos     diag.Pos `json:"pos,omitempty"`
	// Text is the postconf-style line for text output.
	Text string `json:"-"`
}

// View is the result of a query; Warnings are what postconf prints on
// stderr for the same query.
type View struct {
	Entries  []Entry
	Warnings []diag.Warning
}

// Query computes a postconf-compatible view. Like postconf it first
// evaluates every built-in parameter, so a broken configuration fails the
// same way whatever is asked.
func (c *Config) Query(o ViewOptions) (*View, error) {
	return c.query(o, nil)
}

// QueryText is Query for printing: each entry's Text line, newline
// terminated, goes to buf, and the View holds only the warnings. A listing
// of every parameter then builds no Entry (and no line string) per name:
// `pfaudit config -x` allocated 150 KB for them, which at a page fault per
// 4 KB of fresh heap was a measurable share of its start-up. Nothing is
// written to buf when an error is returned.
func (c *Config) QueryText(o ViewOptions, buf *bytes.Buffer) (*View, error) {
	if o.Master || o.Services {
		v, err := c.query(o, nil)
		if err != nil {
			return nil, err
		}
		for _, e := range v.Entries {
			buf.WriteString(e.Text)
			buf.WriteByte('\n')
		}
		v.Entries = nil
		return v, nil
	}
	mark := buf.Len()
	v, err := c.query(o, buf)
	if err != nil {
		buf.Truncate(mark)
	}
	return v, err
}

func (c *Config) query(o ViewOptions, text *bytes.Buffer) (*View, error) {
	v := &View{}
	checkWarns, err := c.Check()
	if err != nil {
		return nil, err
	}
	v.Warnings = append(v.Warnings, c.Warnings...)
	v.Warnings = append(v.Warnings, checkWarns...)
	switch {
	case o.Master:
		err = c.queryMaster(o, v)
	case o.Services:
		err = c.queryServices(o, v)
	default:
		err = c.queryParams(o, v, text)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

// servicePattern is a postconf -M or -P request: service[/type[/param]],
// each component a name or "*".
type servicePattern struct {
	raw     string
	parts   []string
	matched int
}

// parsePatterns checks requests the way pcf_parse_service_pattern() does:
// between 1 and max components, a service name first, and '*' only as a
// whole component.
func parsePatterns(flag string, max int, reqs []string) ([]*servicePattern, error) {
	form := "service_name[/type]"
	if max == 3 {
		form = "service_name[/type[/parameter]]"
	}
	var out []*servicePattern
	for _, r := range reqs {
		parts := strings.Split(r, "/")
		bad := len(parts) > max || parts[0] == ""
		for _, p := range parts {
			if strings.Contains(p, "*") && p != "*" {
				bad = true
			}
		}
		if bad {
			return nil, fmt.Errorf("%s requires %s: %q", flag, form, r)
		}
		out = append(out, &servicePattern{raw: r, parts: parts})
	}
	return out, nil
}

func componentMatch(pat, s string) bool { return pat == "*" || pat == s }

func (p *servicePattern) matchService(s *Service) bool {
	return componentMatch(p.parts[0], s.Name) && (len(p.parts) < 2 || componentMatch(p.parts[1], s.Type))
}

// param is the parameter component; "" means every parameter.
func (p *servicePattern) param() string {
	if len(p.parts) < 3 || p.parts[2] == "*" {
		return ""
	}
	return p.parts[2]
}

func unmatched(pats []*servicePattern, v *View) {
	for _, p := range pats {
		if p.matched == 0 {
			v.Warnings = append(v.Warnings, diag.Warning{Msg: fmt.Sprintf("unmatched request: %q", p.raw)})
		}
	}
}

// queryMaster is pcf_show_master_entries(): every entry, or for each entry
// in file order each request it matches (an entry two requests match is
// shown twice, as postconf does).
func (c *Config) queryMaster(o ViewOptions, v *View) error {
	pats, err := parsePatterns("-M option", 2, o.Params)
	if err != nil {
		return err
	}
	show := func(s *Service) error {
		var expand func(string) string
		var xerr error
		if o.Expand {
			expand = func(v string) string {
				x, err := c.ExpandValue(s, v)
				if err != nil && xerr == nil {
					xerr = err
				}
				return x.Value
			}
		}
		text := s.format(o.Fold, expand)
		if xerr != nil {
			return &diag.Error{Pos: s.Pos, Msg: fmt.Sprintf("%s: %v", s.Key(), xerr)}
		}
		v.Entries = append(v.Entries, Entry{Service: s.Key(), Name: s.Key(), Value: strings.Join(s.Args, " "), Pos: s.Pos, Text: text})
		return nil
	}
	for _, s := range c.Master.Services {
		if len(pats) == 0 {
			if err := show(s); err != nil {
				return err
			}
			continue
		}
		for _, p := range pats {
			if p.matchService(s) {
				p.matched++
				if err := show(s); err != nil {
					return err
				}
			}
		}
	}
	unmatched(pats, v)
	return nil
}

// queryServices is pcf_show_master_params(): for each entry in file order,
// its -o settings sorted by name, or per matching request the one asked
// for.
func (c *Config) queryServices(o ViewOptions, v *View) error {
	pats, err := parsePatterns("-P option", 3, o.Params)
	if err != nil {
		return err
	}
	show := func(s *Service, ov Override) error {
		val := ov.Value
		if o.Expand {
			// postconf -Px expands every -o value, also those of
			// parameters it otherwise leaves raw.
			x, err := c.ExpandValue(s, ov.Value)
			if err != nil {
				return &diag.Error{Pos: ov.Pos, Msg: fmt.Sprintf("%s/%s: %v", s.Key(), ov.Name, err)}
			}
			val = x.Value
		}
		key := s.Key() + "/" + ov.Name
		v.Entries = append(v.Entries, Entry{Service: s.Key(), Name: ov.Name, Value: val, Raw: ov.Value,
			Source: SourceOverride, Pos: ov.Pos, Text: line(key, val)})
		return nil
	}
	for _, s := range c.Master.Services {
		eff := c.EffectiveOverrides(s)
		if len(c.overrides(s)) == 0 {
			continue // no name space: postconf shows nothing for the entry
		}
		if len(pats) == 0 {
			for _, ov := range eff {
				if err := show(s, ov); err != nil {
					return err
				}
			}
			continue
		}
		for _, p := range pats {
			if !p.matchService(s) {
				continue
			}
			for _, ov := range eff {
				if name := p.param(); name == "" || name == ov.Name {
					if err := show(s, ov); err != nil {
						return err
					}
				}
			}
			if name := p.param(); name == "" || c.hasOverride(s, name) {
				p.matched++
			}
		}
	}
	unmatched(pats, v)
	return nil
}

func (c *Config) queryParams(o ViewOptions, v *View, text *bytes.Buffer) error {
	var svc *Service
	if o.Service != "" {
		if svc = c.Master.Lookup(o.Service); svc == nil {
			return fmt.Errorf("no service %q in %s", o.Service, c.Master.File)
		}
	}
	var names []string
	switch {
	case len(o.Params) > 0:
		names = o.Params
	case o.NonDefault:
		names = c.SetNames()
		if svc != nil {
			seen := map[string]bool{}
			for _, n := range names {
				seen[n] = true
			}
			for _, ov := range c.overrides(svc) {
				if !seen[ov.Name] {
					seen[ov.Name] = true
					names = append(names, ov.Name)
				}
			}
			sort.Strings(names)
		}
	default:
		names = c.allNames()
	}
	if text != nil {
		text.Grow(48 * len(names)) // "name = value\n": 42 bytes a line in a stock listing
	} else {
		v.Entries = slices.Grow(v.Entries, len(names))
	}
	for _, n := range names {
		if o.NonDefault && len(o.Params) > 0 {
			if _, set := c.Main.Params[n]; !set && (svc == nil || !c.hasOverride(svc, n)) && n != "config_directory" {
				continue
			}
		}
		if !c.Known(n) && (svc == nil || !c.hasOverride(svc, n)) && !(n == "config_directory" && c.Dir != "") {
			v.Warnings = append(v.Warnings, diag.Warning{Msg: n + ": unknown parameter"})
			continue
		}
		raw, _ := c.Raw(svc, n)
		val := raw.Raw
		if o.Expand {
			x, err := c.Expand(svc, n)
			if err != nil {
				return err
			}
			val = x
		}
		if text != nil {
			writeLine(text, n, val)
			continue
		}
		v.Entries = append(v.Entries, Entry{Service: o.Service, Name: n, Value: val, Raw: raw.Raw,
			Source: raw.Source, Pos: raw.Pos, Text: line(n, val)})
	}
	return nil
}

func (c *Config) hasOverride(s *Service, name string) bool {
	_, ok := c.override(s, name)
	return ok
}

// allNames lists what postconf prints without names or -n: the built-in
// parameters of the full listing, service-derived and user-defined ones,
// and the legacy names main.cf sets.
func (c *Config) allNames() []string {
	// The defaults' names come sorted: only the few others (service-
	// derived, user-defined) are sorted and merged in, instead of a set
	// and a sort of a thousand names for every listing.
	base := make([]string, 0, len(c.names))
	for _, n := range c.names {
		if c.isListed(n) || c.legacy[n] {
			base = append(base, n)
		}
	}
	if !slices.IsSorted(base) {
		slices.Sort(base)
	}
	extra := c.serviceParams()
	for n := range c.user {
		extra = append(extra, n)
	}
	if c.Dir != "" {
		extra = append(extra, "config_directory")
	}
	slices.Sort(extra)
	extra = slices.Compact(extra)
	names := make([]string, 0, len(base)+len(extra))
	i := 0
	for _, n := range extra {
		for i < len(base) && base[i] < n {
			names = append(names, base[i])
			i++
		}
		if i < len(base) && base[i] == n {
			continue // also a default's name: listed once
		}
		names = append(names, n)
	}
	return append(names, base[i:]...)
}

// line renders name = value as postconf does, folding whitespace runs
// (including those of continued lines) into single spaces.
func line(name, value string) string {
	if !folded(value) {
		value = strings.Join(strings.Fields(value), " ")
	}
	if value == "" {
		return name + " ="
	}
	return name + " = " + value
}

// writeLine writes line(name, value) and a newline to b without making the
// line a string first.
func writeLine(b *bytes.Buffer, name, value string) {
	b.WriteString(name)
	if !folded(value) {
		value = strings.Join(strings.Fields(value), " ")
	}
	if value == "" {
		b.WriteString(" =\n")
		return
	}
	b.WriteString(" = ")
	b.WriteString(value)
	b.WriteByte('\n')
}

// folded reports whether value is already as line prints it: no
// leading or trailing white space and no run of it, all of it single
// spaces (most values of a listing, which then cost no copy).
func folded(value string) bool {
	prevSpace := true
	for i := 0; i < len(value); i++ {
		switch b := value[i]; {
		case b == ' ':
			if prevSpace {
				return false
			}
			prevSpace = true
		case b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r' || b >= 0x80:
			// strings.Fields also splits at Unicode spaces: leave
			// anything but ASCII to it.
			return false
		default:
			prevSpace = false
		}
	}
	return !prevSpace || value == ""
}

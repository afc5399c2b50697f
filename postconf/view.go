package postconf

import (
	"fmt"
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
		err = c.queryParams(o, v)
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (c *Config) queryMaster(o ViewOptions, v *View) error {
	matched := map[string]bool{}
	for _, s := range c.Master.Services {
		if len(o.Params) > 0 && !matchServicePattern(o.Params, s, matched) {
			continue
		}
		var expand func(string) string
		if o.Expand {
			var xerr error
			expand = func(v string) string {
				x, err := c.ExpandValue(s, v)
				if err != nil && xerr == nil {
					xerr = err
				}
				return x.Value
			}
			text := s.format(o.Fold, expand)
			if xerr != nil {
				return &diag.Error{Pos: s.Pos, Msg: fmt.Sprintf("%s: %v", s.Key(), xerr)}
			}
			v.Entries = append(v.Entries, Entry{Service: s.Key(), Name: s.Key(), Value: strings.Join(s.Args, " "), Pos: s.Pos, Text: text})
			continue
		}
		text := s.format(o.Fold, nil)
		v.Entries = append(v.Entries, Entry{Service: s.Key(), Name: s.Key(), Value: strings.Join(s.Args, " "), Pos: s.Pos, Text: text})
	}
	unmatched(o.Params, matched, v)
	return nil
}

func matchServicePattern(pats []string, s *Service, matched map[string]bool) bool {
	for _, p := range pats {
		parts := strings.Split(p, "/")
		if parts[0] != "" && parts[0] != s.Name {
			continue
		}
		if len(parts) > 1 && parts[1] != "" && parts[1] != s.Type {
			continue
		}
		matched[p] = true
		return true
	}
	return false
}

func unmatched(pats []string, matched map[string]bool, v *View) {
	for _, p := range pats {
		if !matched[p] {
			v.Warnings = append(v.Warnings, diag.Warning{Msg: fmt.Sprintf("unmatched request: %q", p)})
		}
	}
}

func (c *Config) queryServices(o ViewOptions, v *View) error {
	matched := map[string]bool{}
	for _, s := range c.Master.Services {
		for _, ov := range c.EffectiveOverrides(s) {
			if len(o.Params) > 0 && !matchOverridePattern(o.Params, s, ov.Name, matched) {
				continue
			}
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
		}
	}
	unmatched(o.Params, matched, v)
	return nil
}

func matchOverridePattern(pats []string, s *Service, name string, matched map[string]bool) bool {
	for _, p := range pats {
		parts := strings.Split(p, "/")
		if parts[0] != "" && parts[0] != s.Name {
			continue
		}
		if len(parts) > 1 && parts[1] != "" && parts[1] != s.Type {
			continue
		}
		if len(parts) > 2 && parts[2] != "" && parts[2] != name {
			continue
		}
		matched[p] = true
		return true
	}
	return false
}

func (c *Config) queryParams(o ViewOptions, v *View) error {
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
	seen := map[string]bool{}
	var names []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, n := range c.names {
		if c.isListed(n) || c.legacy[n] {
			add(n)
		}
	}
	for _, n := range c.serviceParams() {
		add(n)
	}
	for n := range c.user {
		add(n)
	}
	if c.Dir != "" {
		add("config_directory")
	}
	sort.Strings(names)
	return names
}

// line renders name = value as postconf does, folding whitespace runs
// (including those of continued lines) into single spaces.
func line(name, value string) string {
	value = strings.Join(strings.Fields(value), " ")
	if value == "" {
		return name + " ="
	}
	return name + " = " + value
}

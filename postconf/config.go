package postconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Defaults supplies Postfix's built-in parameter defaults: the raw,
// unexpanded text `postconf -d` prints (level-dependent defaults keep their
// ${{$compatibility_level} <level {N} ? ...} form and resolve at expansion).
type Defaults interface {
	Raw(name string) (string, bool)
	Known(name string) bool
	Names() []string
}

// Source says where an effective value came from.
type Source string

const (
	SourceOverride    Source = "override"     // a master.cf -o setting
	SourceMainCF      Source = "main.cf"      // main.cf (or a postconf -n dump)
	SourceDefault     Source = "default"      // the built-in default
	SourceCommandLine Source = "command-line" // config_directory from -c
)

// rawParams are never expanded by postconf -x: their $names are expanded
// later, by the program that uses them, with per-message attributes
// (postconf(5) for each; found by setting every parameter to $myhostname and
// observing which postconf -x leaves alone).
var rawParams = map[string]bool{
	"command_execution_directory": true, "default_rbl_reply": true, "forward_path": true,
	"luser_relay": true, "mailbox_command": true, "postscreen_expansion_filter": true,
	"postscreen_reject_footer": true, "smtpd_expansion_filter": true, "smtpd_reject_footer": true,
}

// IsRaw reports whether postconf leaves the parameter's value unexpanded.
func IsRaw(name string) bool { return rawParams[name] }

// readOnlyParams cannot be set in main.cf; postconf warns and drops them.
var readOnlyParams = map[string]bool{"service_name": true, "process_name": true, "process_id": true}

// serviceSuffixes are the per-transport parameters postconf derives from
// master.cf service names (postconf_service.c), with the parameter each
// defaults to. pipe(8) also has _time_limit; spawn(8) only that.
var serviceSuffixes = [][2]string{
	{"_delivery_slot_cost", "default_delivery_slot_cost"},
	{"_delivery_slot_discount", "default_delivery_slot_discount"},
	{"_delivery_slot_loan", "default_delivery_slot_loan"},
	{"_destination_concurrency_failed_cohort_limit", "default_destination_concurrency_failed_cohort_limit"},
	{"_destination_concurrency_limit", "default_destination_concurrency_limit"},
	{"_destination_concurrency_negative_feedback", "default_destination_concurrency_negative_feedback"},
	{"_destination_concurrency_positive_feedback", "default_destination_concurrency_positive_feedback"},
	{"_destination_rate_delay", "default_destination_rate_delay"},
	{"_destination_recipient_limit", "default_destination_recipient_limit"},
	{"_extra_recipient_limit", "default_extra_recipient_limit"},
	{"_initial_destination_concurrency", "initial_destination_concurrency"},
	{"_minimum_delivery_slots", "default_minimum_delivery_slots"},
	{"_recipient_limit", "default_recipient_limit"},
	{"_recipient_refill_delay", "default_recipient_refill_delay"},
	{"_recipient_refill_limit", "default_recipient_refill_limit"},
	{"_transport_rate_delay", "default_transport_rate_delay"},
}

var deliveryPrograms = map[string]bool{"local": true, "error": true, "virtual": true, "smtp": true, "lmtp": true, "pipe": true}

// Config is a whole Postfix configuration: main.cf, master.cf and the
// defaults they fall back to.
type Config struct {
	// Dir is the configuration directory (config_directory), absolute.
	// Empty for a dump that named none.
	Dir            string
	Main           *MainCF
	Master         *MasterCF
	Defaults       Defaults
	DefaultsSource string
	// Warnings collects what postconf would warn about (overriding
	// entries, unused parameters, read-only assignments, ...).
	Warnings []diag.Warning

	service map[string]string // service-derived name -> raw default
	user    map[string]bool   // user-defined names in use
}

// ErrNoConfigDir is returned (wrapped) when the configuration directory
// or its main.cf cannot be read.
var ErrNoConfigDir = errors.New("no readable Postfix configuration")

// LoadDir reads DIR/main.cf and DIR/master.cf. A missing or unreadable
// directory or main.cf is an error (postconf exits fatally too); a missing
// master.cf is a warning, as in postconf.
func LoadDir(dir string, d Defaults, source string) (*Config, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoConfigDir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNoConfigDir, abs)
	}
	mainPath := filepath.Join(abs, "main.cf")
	mdata, err := readConfigFile(mainPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoConfigDir, err)
	}
	main, err := ParseMainCF(mainPath, mdata)
	if err != nil {
		return nil, err
	}
	masterPath := filepath.Join(abs, "master.cf")
	var master *MasterCF
	var warns []diag.Warning
	if data, err := readConfigFile(masterPath); err == nil {
		if master, err = ParseMasterCF(masterPath, data); err != nil {
			return nil, err
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		master = &MasterCF{File: masterPath}
		warns = append(warns, diag.Warning{Pos: diag.Pos{File: masterPath}, Msg: "open master.cf: no such file (no services)"})
	} else {
		return nil, err
	}
	c := New(main, master, d, source)
	c.Dir = abs
	c.Warnings = append(warns, c.Warnings...)
	return c, nil
}

// New assembles a Config from parsed parts (files or dumps).
func New(main *MainCF, master *MasterCF, d Defaults, source string) *Config {
	if main == nil {
		main = &MainCF{Params: map[string]*Param{}}
	}
	if master == nil {
		master = &MasterCF{}
	}
	c := &Config{Main: main, Master: master, Defaults: d, DefaultsSource: source}
	c.Warnings = append(c.Warnings, main.Warnings...)
	c.Warnings = append(c.Warnings, master.Warnings...)
	for name, p := range main.Params {
		if readOnlyParams[name] {
			c.Warnings = append(c.Warnings, diag.Warning{Pos: p.Pos, Msg: fmt.Sprintf("read-only parameter assignment: %s=%s", name, diag.Shorten(p.Value))})
			delete(main.Params, name)
		}
	}
	c.registerServiceParams()
	c.registerUserParams()
	for _, name := range main.Names() {
		if !c.Known(name) {
			p := main.Params[name]
			c.Warnings = append(c.Warnings, diag.Warning{Pos: diag.Pos{File: p.Pos.File}, Msg: fmt.Sprintf("unused parameter: %s=%s", name, diag.Shorten(p.Value))})
		}
	}
	return c
}

func (c *Config) registerServiceParams() {
	c.service = map[string]string{}
	for _, s := range c.Master.Services {
		switch {
		case deliveryPrograms[s.Command]:
			for _, sx := range serviceSuffixes {
				c.addServiceParam(s.Name+sx[0], sx[1])
			}
			if s.Command == "pipe" {
				c.addServiceParam(s.Name+"_time_limit", "command_time_limit")
			}
		case s.Command == "spawn":
			c.addServiceParam(s.Name+"_time_limit", "command_time_limit")
		}
	}
}

func (c *Config) addServiceParam(name, def string) {
	if c.Defaults != nil && c.Defaults.Known(name) {
		return // a built-in with its own default, e.g. local_destination_concurrency_limit
	}
	c.service[name] = "$" + def
}

// registerUserParams finds the user-defined parameters postconf treats as
// in use (postconf_user.c): names listed in smtpd_restriction_classes, and
// names referenced as $name from main.cf values, master.cf -o values or the
// defaults of unset parameters, provided main.cf assigns them.
func (c *Config) registerUserParams() {
	c.user = map[string]bool{}
	flag := func(name string) {
		if _, ok := c.Main.Params[name]; ok {
			c.user[name] = true
		}
	}
	if v, err := c.Expand(nil, "smtpd_restriction_classes"); err == nil {
		for _, f := range SplitList(v) {
			flag(f)
		}
	}
	for _, s := range c.Master.Services {
		for _, o := range s.Overrides {
			_ = ScanNames(o.Value, flag)
		}
	}
	if c.Defaults != nil {
		for _, n := range c.Defaults.Names() {
			if _, set := c.Main.Params[n]; set || rawParams[n] {
				continue
			}
			if v, ok := c.Defaults.Raw(n); ok && strings.Contains(v, "$") {
				_ = ScanNames(v, flag)
			}
		}
	}
	for name, p := range c.Main.Params {
		if rawParams[name] {
			continue
		}
		_ = ScanNames(p.Value, flag)
	}
}

// Known reports whether postconf knows the name: built in, derived from a
// master.cf service, or a user-defined parameter in use.
func (c *Config) Known(name string) bool {
	if c.Defaults != nil && c.Defaults.Known(name) {
		return true
	}
	if _, ok := c.service[name]; ok {
		return true
	}
	return c.user[name]
}

// IsBuiltin reports whether name is one of Postfix's built-in parameters.
func (c *Config) IsBuiltin(name string) bool {
	return c.Defaults != nil && c.Defaults.Known(name)
}

// Value is an effective raw value with its origin.
type Value struct {
	Name   string   `json:"name"`
	Raw    string   `json:"raw"`
	Source Source   `json:"source"`
	Pos    diag.Pos `json:"pos"`
}

// Raw returns the effective raw value of name as seen by svc (nil for the
// global scope): the service's -o setting, then main.cf, then the default.
// ok is false when the name is undefined everywhere.
func (c *Config) Raw(svc *Service, name string) (Value, bool) {
	if svc != nil {
		if o, ok := svc.Override(name); ok {
			return Value{Name: name, Raw: o.Value, Source: SourceOverride, Pos: o.Pos}, true
		}
	}
	if name == "config_directory" && c.Dir != "" {
		return Value{Name: name, Raw: c.Dir, Source: SourceCommandLine}, true
	}
	if p, ok := c.Main.Params[name]; ok {
		return Value{Name: name, Raw: p.Value, Source: SourceMainCF, Pos: p.Pos}, true
	}
	if c.Defaults != nil {
		if v, ok := c.Defaults.Raw(name); ok {
			return Value{Name: name, Raw: v, Source: SourceDefault}, true
		}
	}
	if v, ok := c.service[name]; ok {
		return Value{Name: name, Raw: v, Source: SourceDefault}, true
	}
	return Value{Name: name}, false
}

// Lookup returns the lookup function for expansion in svc's scope.
func (c *Config) Lookup(svc *Service) LookupFunc {
	return func(name string) (string, bool) {
		v, ok := c.Raw(svc, name)
		return v.Raw, ok
	}
}

// Expand returns the expanded effective value of name in svc's scope
// (nil: global). Parameters postconf never expands are returned raw.
func (c *Config) Expand(svc *Service, name string) (string, error) {
	v, ok := c.Raw(svc, name)
	if !ok {
		return "", nil
	}
	if rawParams[name] {
		return v.Raw, nil
	}
	x, err := Expand(v.Raw, c.Lookup(svc))
	if err != nil {
		var ee *ExpandError
		if errors.As(err, &ee) && ee.Name == "" {
			ee.Name = name
		}
		return "", c.positioned(v, err)
	}
	return x.Value, nil
}

// ExpandValue expands arbitrary text in svc's scope and reports undefined
// names.
func (c *Config) ExpandValue(svc *Service, text string) (Expansion, error) {
	return Expand(text, c.Lookup(svc))
}

func (c *Config) positioned(v Value, err error) error {
	if v.Pos.IsZero() {
		return err
	}
	return &diag.Error{Pos: v.Pos, Msg: err.Error()}
}

// Check evaluates every built-in parameter the way postconf does before it
// prints anything: a syntax error or runaway nesting in any of them makes
// postconf exit, and so it is an error here too. Undefined names are
// returned as warnings.
func (c *Config) Check() ([]diag.Warning, error) {
	var warns []diag.Warning
	seen := map[string]bool{}
	names := c.builtinNames()
	for _, n := range names {
		if rawParams[n] {
			continue
		}
		v, ok := c.Raw(nil, n)
		if !ok || !strings.Contains(v.Raw, "$") {
			continue
		}
		x, err := Expand(v.Raw, c.Lookup(nil))
		if err != nil {
			var ee *ExpandError
			if errors.As(err, &ee) && ee.Name == "" {
				ee.Name = n
			}
			return warns, c.positioned(v, err)
		}
		for _, u := range x.Undefined {
			if !seen[u] {
				seen[u] = true
				warns = append(warns, diag.Warning{Pos: diag.Pos{File: c.Main.File}, Msg: "undefined parameter: " + u})
			}
		}
	}
	return warns, nil
}

func (c *Config) builtinNames() []string {
	if c.Defaults == nil {
		return c.Main.Names()
	}
	// Only built-in parameters are evaluated eagerly: a broken user-defined
	// parameter fails only when something expands it.
	return c.Defaults.Names()
}

// SetNames lists what `postconf -n` prints: parameters main.cf sets that
// postconf knows, plus config_directory when the directory was given,
// sorted.
func (c *Config) SetNames() []string {
	var out []string
	for _, n := range c.Main.Names() {
		if c.Known(n) {
			out = append(out, n)
		}
	}
	if c.Dir != "" {
		if _, ok := c.Main.Params["config_directory"]; !ok {
			out = append(out, "config_directory")
			sort.Strings(out)
		}
	}
	return out
}

// SplitList splits a Postfix list value on commas and whitespace, the
// separators postconf(5) allows in list-valued parameters.
func SplitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	})
}

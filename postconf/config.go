package postconf

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Defaults supplies Postfix's built-in parameter defaults: the raw,
// unexpanded text `postconf -d` prints (level-dependent defaults keep their
// ${{$compatibility_level} <level {N} ? ...} form and resolve at expansion).
//
// A Defaults that also has Listed(name) bool (as *defaults.Set does) tells
// the parameters of the full `postconf -d` listing from legacy names that
// postconf only answers for by name; one with the Live method of
// *defaults.Set computes host-derived defaults for a live configuration.
type Defaults interface {
	Raw(name string) (string, bool)
	Known(name string) bool
	Names() []string
}

type listedDefaults interface {
	Listed(name string) bool
}

type liveDefaults interface {
	Live(ctx context.Context, name string, lookup defaults.Lookup) (string, error)
}

// Source says where an effective value came from.
type Source string

const (
	SourceOverride    Source = "override"     // a master.cf -o setting
	SourceMainCF      Source = "main.cf"      // main.cf (or a postconf -n dump)
	SourceDefault     Source = "default"      // the built-in default
	SourceCommandLine Source = "command-line" // config_directory from -c
	SourceService     Source = "service"      // service_name/process_name inside a service
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

// readOnlyParams cannot be set in main.cf or with -o; postconf warns and
// drops such settings.
var readOnlyParams = map[string]bool{"service_name": true, "process_name": true, "process_id": true}

// readOnlyNames are readOnlyParams sorted, the order postconf warns in.
var readOnlyNames = []string{"process_id", "process_name", "service_name"}

// liveParams are the defaults Postfix computes from the host and the
// configuration when it reads a configuration (postconf_builtin.c).
var liveParams = map[string]bool{"myhostname": true, "mydomain": true, "mynetworks": true}

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
	// workLimit bounds one expansion's work (expandLimit).
	workLimit int
	// LiveDefaults makes the host-derived defaults (myhostname, mydomain,
	// mynetworks) computed from this host and the configuration, as
	// Postfix computes them when it reads this configuration. LoadDir sets
	// it; for a dump from another machine the Defaults' own values stand
	// (symbolic ones with the built-in table).
	LiveDefaults bool
	// Warnings collects what postconf would warn about (overriding
	// entries, unused parameters, read-only assignments, ...).
	Warnings []diag.Warning
	// Files says where the files the configuration names (/file lists in
	// mynetworks and other lists, table sources) are read from.
	Files FileAccess

	info       *defaultsInfo
	names      []string // Defaults.Names(), once
	ns         map[string][]Override
	nsActive   map[*Service]bool      // the entry has a name space (see overrides)
	delivery   map[string]serviceKind // service name -> its service-derived parameters
	eff        map[*Service][]Override
	user       map[string]bool // user-defined names in use
	legacy     map[string]bool // legacy names main.cf sets: shown like user-defined ones
	undefined  []diag.Warning  // $names without a value anywhere
	startupErr error           // what postconf dies of while reading the configuration

	liveMu sync.Mutex
	live   map[string]liveResult

	// memo keeps expanded values per scope (see expandMemo); sensitive
	// are the names whose value a scope can change.
	memo      expandMemo
	sensitive map[string]bool

	checkOnce  sync.Once
	checkWarns []diag.Warning
	checkErr   error
}

type liveResult struct {
	value string
	err   error
}

// ErrNoConfigDir is returned (wrapped) when the configuration directory
// or its main.cf cannot be read.
var ErrNoConfigDir = errors.New("no readable Postfix configuration")

// FileAccess says where the files a configuration names are read from.
// The zero value reads this host's paths, right for a configuration
// directory of this host.
type FileAccess struct {
	// Root prefixes absolute paths: a directory holding copies of another
	// server's files (/etc/postfix/x is read as Root/etc/postfix/x).
	Root string
	// Offline: the configuration is a collected dump from another server
	// and no Root was given. A file it names is unknown: this host's file of
	// the same name says nothing about that server.
	Offline bool
}

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
	mdata, private, err := readConfigFile(mainPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoConfigDir, err)
	}
	main, err := ParseMainCF(mainPath, mdata)
	if err != nil {
		return nil, withheld(err, mainPath, private)
	}
	masterPath := filepath.Join(abs, "master.cf")
	var master *MasterCF
	var warns []diag.Warning
	if data, private, err := readConfigFile(masterPath); err == nil {
		if master, err = ParseMasterCF(masterPath, data); err != nil {
			return nil, withheld(err, masterPath, private)
		}
	} else if errors.Is(err, fs.ErrNotExist) {
		master = &MasterCF{File: masterPath}
		warns = append(warns, diag.Warning{Pos: diag.Pos{File: masterPath}, Msg: "open master.cf: no such file (no services)"})
	} else {
		return nil, err
	}
	c := newConfig(main, master, d, source, abs)
	c.LiveDefaults = true
	c.Warnings = append(warns, c.Warnings...)
	return c, nil
}

// New assembles a Config from parsed parts (files or dumps).
func New(main *MainCF, master *MasterCF, d Defaults, source string) *Config {
	return newConfig(main, master, d, source, "")
}

// Edited is New(main, master, c.Defaults, c.DefaultsSource) for an edited
// copy of c: main.cf's parameters differ from c's only in the names in
// edited (changed, added or removed), and master holds c's entries
// (the same *Service values, in the same order) or edited ones. A fix
// verification builds one such copy per fix; when the edits cannot change
// what depends on master.cf and on user-defined names (registrationHolds)
// the copy shares c's instead of computing it again, which was most of
// building it.
func (c *Config) Edited(main *MainCF, master *MasterCF, edited []string) *Config {
	if !c.registrationHolds(main, master, edited) {
		return New(main, master, c.Defaults, c.DefaultsSource)
	}
	return newConfigFrom(main, master, c.Defaults, c.DefaultsSource, "", c)
}

// registrationHolds reports whether New on the edited parts would find
// c's name spaces, service-derived parameters, user-defined names, legacy
// names, undefined names and start-up error (registerServiceParams,
// registerUserParams). Each edited name must be a listed built-in
// parameter (not legacy, not read-only) whose old and new values refer
// only to names the defaults know, and whose default refers to none they
// do not: registerUserParams notes only names the defaults do not know,
// and which of those main.cf assigns, so such edits change nothing it
// computes. smtpd_restriction_classes, expanded against main.cf alone,
// may refer to anything: a main.cf that sets it is built in full.
func (c *Config) registrationHolds(main *MainCF, master *MasterCF, edited []string) bool {
	if c.Defaults == nil || master == nil || main == nil || c.Master == nil || c.Main == nil {
		return false
	}
	if len(master.Services) != len(c.Master.Services) {
		return false
	}
	for i, s := range master.Services {
		if s != c.Master.Services[i] {
			return false
		}
	}
	if _, ok := main.Params["smtpd_restriction_classes"]; ok {
		return false
	}
	if _, ok := c.Main.Params["smtpd_restriction_classes"]; ok {
		return false
	}
	knownRefs := func(v string) bool {
		ok := true
		if err := ScanNames(v, func(n string) {
			if !c.Defaults.Known(n) {
				ok = false
			}
		}); err != nil {
			return false
		}
		return ok
	}
	for _, n := range edited {
		if readOnlyParams[n] || !c.Defaults.Known(n) || !c.info.isListed(n) {
			return false
		}
		for _, r := range c.info.refs {
			if r.param == n {
				return false
			}
		}
		for _, m := range []*MainCF{c.Main, main} {
			if p, ok := m.Params[n]; ok && !knownRefs(p.Value) {
				return false
			}
		}
	}
	return true
}

func newConfig(main *MainCF, master *MasterCF, d Defaults, source, dir string) *Config {
	return newConfigFrom(main, master, d, source, dir, nil)
}

// newConfigFrom builds a Config; from, when not nil, is a configuration
// whose registrations hold for this one (registrationHolds) and are
// shared: none of them changes once built.
func newConfigFrom(main *MainCF, master *MasterCF, d Defaults, source, dir string, from *Config) *Config {
	if main == nil {
		main = &MainCF{Params: map[string]*Param{}}
	}
	if master == nil {
		master = &MasterCF{}
	}
	c := &Config{Dir: dir, Main: main, Master: master, Defaults: d, DefaultsSource: source}
	c.info = infoFor(d)
	c.names = c.info.names
	c.Warnings = append(c.Warnings, main.Warnings...)
	c.Warnings = append(c.Warnings, master.Warnings...)
	for _, name := range readOnlyNames {
		if p, ok := main.Params[name]; ok {
			c.Warnings = append(c.Warnings, diag.Warning{Pos: p.Pos, Msg: fmt.Sprintf("read-only parameter assignment: %s=%s", name, diag.Shorten(p.Value))})
			delete(main.Params, name)
		}
	}
	// Sorted once: main.cf can hold a million names.
	mainNames := main.Names()
	for _, s := range master.Services {
		for _, o := range s.Overrides {
			if readOnlyParams[o.Name] {
				c.Warnings = append(c.Warnings, diag.Warning{Pos: o.Pos, Msg: fmt.Sprintf("read-only parameter assignment: %s=%s", o.Name, diag.Shorten(o.Value))})
			}
		}
	}
	// Expansion work is bounded in proportion to the largest value, so
	// that a legitimate value of megabytes expands (referenced from a
	// default or two) and a blow-up still ends.
	largest := 0
	for _, p := range main.Params {
		largest = max(largest, len(p.Value))
	}
	for _, s := range master.Services {
		for _, o := range s.Overrides {
			largest = max(largest, len(o.Value))
		}
	}
	c.workLimit = max(maxWork, 8*largest)
	if from != nil {
		c.ns, c.nsActive, c.sensitive, c.delivery = from.ns, from.nsActive, from.sensitive, from.delivery
		c.user, c.legacy, c.undefined, c.startupErr = from.user, from.legacy, from.undefined, from.startupErr
	} else {
		c.ns = map[string][]Override{}
		c.nsActive = map[*Service]bool{}
		for _, s := range master.Services {
			for _, o := range s.Overrides {
				c.ns[s.Key()] = append(c.ns[s.Key()], o)
			}
			_, c.nsActive[s] = c.ns[s.Key()]
		}
		c.sensitive = map[string]bool{"service_name": true, "process_name": true}
		for _, s := range master.Services {
			for _, o := range s.Overrides {
				c.sensitive[o.Name] = true
			}
		}
		c.registerServiceParams()
		c.registerUserParams(mainNames)
	}
	for _, name := range mainNames {
		if !c.Known(name) {
			p := main.Params[name]
			c.Warnings = append(c.Warnings, diag.Warning{Pos: diag.Pos{File: p.Pos.File}, Msg: fmt.Sprintf("unused parameter: %s=%s", name, diag.Shorten(p.Value))})
		}
	}
	return c
}

// overrides returns the -o settings of svc's name space in file order.
// postconf keeps one name space per "name/type": entries that repeat a
// service name and type share, and merge, their settings. An entry only
// sees that name space when it, or an earlier entry with the same name
// and type, has a -o setting: postconf attaches the name space to an
// entry right after reading the entry's own settings
// (pcf_register_user_parameters).
func (c *Config) overrides(svc *Service) []Override {
	if active, ok := c.nsActive[svc]; ok {
		if !active {
			return nil
		}
		return c.ns[svc.Key()]
	}
	return svc.Overrides
}

// override is the setting of name in svc's name space (the last one wins).
func (c *Config) override(svc *Service, name string) (Override, bool) {
	if readOnlyParams[name] {
		return Override{}, false
	}
	os := c.overrides(svc)
	for i := len(os) - 1; i >= 0; i-- {
		if os[i].Name == name {
			return os[i], true
		}
	}
	return Override{}, false
}

// EffectiveOverrides returns the -o settings in svc's name space, later
// ones winning, read-only parameters dropped, sorted by name: what
// `postconf -P` prints for the service.
func (c *Config) EffectiveOverrides(svc *Service) []Override {
	if c.eff == nil {
		// Every service is asked for (registerUserParams): sized once, not
		// grown by rehashing through a master.cf's 25 services.
		c.eff = make(map[*Service][]Override, len(c.Master.Services))
	}
	if e, ok := c.eff[svc]; ok {
		return e
	}
	tmp := Service{Overrides: c.overrides(svc)}
	e := tmp.EffectiveOverrides()
	c.eff[svc] = e
	return e
}

// registerServiceParams notes the master.cf services that give rise to
// service-derived parameters (postconf_service.c): delivery agents get
// every suffix of serviceSuffixes, pipe(8) also _time_limit, spawn(8)
// only _time_limit. The names are resolved on demand by serviceParam.
func (c *Config) registerServiceParams() {
	c.delivery = map[string]serviceKind{}
	for _, s := range c.Master.Services {
		switch {
		case deliveryPrograms[s.Command]:
			c.delivery[s.Name] |= deliveryParams
			if s.Command == "pipe" {
				c.delivery[s.Name] |= timeLimitParam
			}
		case s.Command == "spawn":
			c.delivery[s.Name] |= timeLimitParam
		}
	}
}

// serviceKind says which service-derived parameters a service name has.
type serviceKind uint8

const (
	deliveryParams serviceKind = 1 << iota // every suffix of serviceSuffixes
	timeLimitParam                         // NAME_time_limit
)

// serviceParam returns the default of a service-derived parameter ("$"
// and the parameter it falls back to) and whether name is one. Built-in
// names with their own default (local_destination_concurrency_limit) are
// not service-derived here.
func (c *Config) serviceParam(name string) (string, bool) {
	if len(c.delivery) == 0 || (c.Defaults != nil && c.Defaults.Known(name)) {
		return "", false
	}
	if svc, ok := strings.CutSuffix(name, "_time_limit"); ok && c.delivery[svc]&timeLimitParam != 0 {
		return "$command_time_limit", true
	}
	for _, sx := range serviceSuffixes {
		if svc, ok := strings.CutSuffix(name, sx[0]); ok && c.delivery[svc]&deliveryParams != 0 {
			return "$" + sx[1], true
		}
	}
	return "", false
}

func (c *Config) isServiceParam(name string) bool {
	_, ok := c.serviceParam(name)
	return ok
}

// serviceParams lists every service-derived parameter name.
func (c *Config) serviceParams() []string {
	var out []string
	for svc, k := range c.delivery {
		if k&deliveryParams != 0 {
			for _, sx := range serviceSuffixes {
				out = append(out, svc+sx[0])
			}
		}
		if k&timeLimitParam != 0 {
			out = append(out, svc+"_time_limit")
		}
	}
	return slices.DeleteFunc(out, func(n string) bool { return c.Defaults != nil && c.Defaults.Known(n) })
}

// registerUserParams finds the user-defined parameters postconf treats as
// in use (postconf_user.c): names listed in smtpd_restriction_classes, and
// names referenced as $name from main.cf values, master.cf -o values or the
// defaults of unset parameters, provided main.cf assigns them. A $name
// that nothing defines is reported as undefined.
func (c *Config) registerUserParams(mainNames []string) {
	c.user = map[string]bool{}
	c.legacy = map[string]bool{}
	seenUndef := map[string]bool{}
	anyOverride := map[string]bool{}
	for _, s := range c.Master.Services {
		for _, o := range c.overrides(s) {
			anyOverride[o.Name] = true
		}
	}
	// One visitor whose file and scope change, not a closure per
	// service: a fleet registers the names of every host.
	var file string
	var svc *Service
	f := func(name string) {
		supplied := false
		if svc != nil {
			if _, ok := c.override(svc, name); ok {
				supplied = true
			}
		}
		if !supplied {
			if _, ok := c.mainOnly(name); ok {
				supplied = true
				if !c.Known(name) {
					c.user[name] = true
				}
			}
		}
		if svc == nil && !supplied && anyOverride[name] && !readOnlyParams[name] {
			supplied = true
		}
		if !supplied && !c.Known(name) && !seenUndef[file+"\x00"+name] {
			seenUndef[file+"\x00"+name] = true
			c.undefined = append(c.undefined, diag.Warning{Pos: diag.Pos{File: file}, Msg: "undefined parameter: " + name})
		}
	}
	// The -o settings of each service, in that service's scope.
	for _, s := range c.Master.Services {
		file, svc = c.Master.File, s
		for _, o := range c.EffectiveOverrides(s) {
			if !rawParams[o.Name] {
				_ = ScanNames(o.Value, f)
			}
		}
	}
	// Defaults of the parameters main.cf leaves alone: some name an
	// obsolete parameter that main.cf may still set.
	file, svc = c.Main.File, nil
	for _, r := range c.info.refs {
		if _, set := c.Main.Params[r.param]; !set {
			for _, n := range r.names {
				f(n)
			}
		}
	}
	// smtpd_restriction_classes, evaluated against main.cf alone as
	// postconf's pcf_lookup_eval() does; a failure is fatal for postconf.
	if v, ok := c.mainOnly("smtpd_restriction_classes"); ok {
		x, err := Expand(v, c.mainOnly)
		if err != nil {
			c.startupErr = c.positioned(Value{Name: "smtpd_restriction_classes", Pos: c.Main.Params["smtpd_restriction_classes"].Pos}, namedErr("smtpd_restriction_classes", err))
		}
		for _, n := range SplitList(x.Value) {
			f(n)
		}
	}
	for _, name := range mainNames {
		if c.isLegacy(name) {
			c.legacy[name] = true
		}
		if rawParams[name] {
			continue
		}
		_ = ScanNames(c.Main.Params[name].Value, f)
	}
}

// mainOnly looks a name up in main.cf alone (plus config_directory, which
// postconf sets from -c): the view Postfix's mail_conf_lookup_eval() has.
func (c *Config) mainOnly(name string) (string, bool) {
	if p, ok := c.Main.Params[name]; ok {
		return p.Value, true
	}
	if name == "config_directory" && c.Dir != "" {
		return c.Dir, true
	}
	return "", false
}

// isListed reports whether name is a built-in parameter of the full
// `postconf -d` listing (not a legacy name postconf answers for only when
// asked).
func (c *Config) isListed(name string) bool { return c.info.isListed(name) }

func (c *Config) isLegacy(name string) bool {
	return c.Defaults != nil && c.Defaults.Known(name) && !c.isListed(name)
}

// Known reports whether postconf knows the name: built in, derived from a
// master.cf service, or a user-defined parameter in use.
func (c *Config) Known(name string) bool {
	if c.Defaults != nil && c.Defaults.Known(name) {
		return true
	}
	if _, ok := c.serviceParam(name); ok {
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
	// Err is set when the default could not be computed (a host-derived
	// default such as mynetworks with an invalid mynetworks_style).
	Err error `json:"-"`
}

// Raw returns the effective raw value of name as seen by svc (nil for the
// global scope): inside a service its name and command (service_name,
// process_name), then its -o setting; then main.cf; then the default.
// ok is false when the name is undefined everywhere.
func (c *Config) Raw(svc *Service, name string) (Value, bool) {
	if svc != nil {
		switch name {
		case "service_name":
			return Value{Name: name, Raw: svc.Name, Source: SourceService, Pos: svc.Pos}, true
		case "process_name":
			return Value{Name: name, Raw: svc.Command, Source: SourceService, Pos: svc.Pos}, true
		}
		if o, ok := c.override(svc, name); ok {
			return Value{Name: name, Raw: o.Value, Source: SourceOverride, Pos: o.Pos}, true
		}
	}
	if p, ok := c.Main.Params[name]; ok {
		return Value{Name: name, Raw: p.Value, Source: SourceMainCF, Pos: p.Pos}, true
	}
	// postconf -c DIR sets config_directory unless main.cf does.
	if name == "config_directory" && c.Dir != "" {
		return Value{Name: name, Raw: c.Dir, Source: SourceCommandLine}, true
	}
	if c.LiveDefaults && liveParams[name] {
		if _, ok := c.Defaults.(liveDefaults); ok {
			v, err := c.liveDefault(name)
			return Value{Name: name, Raw: v, Source: SourceDefault, Err: err}, true
		}
	}
	if c.Defaults != nil {
		if v, ok := c.Defaults.Raw(name); ok {
			return Value{Name: name, Raw: v, Source: SourceDefault}, true
		}
	}
	if v, ok := c.serviceParam(name); ok {
		return Value{Name: name, Raw: v, Source: SourceDefault}, true
	}
	return Value{Name: name}, false
}

// liveDefault computes a host-derived default once per Config, the way
// postconf does: from this host, with the settings it depends on taken
// from main.cf alone and expanded against main.cf alone
// (postconf_builtin.c uses mail_conf_lookup_eval()).
func (c *Config) liveDefault(name string) (string, error) {
	c.liveMu.Lock()
	defer c.liveMu.Unlock()
	if r, ok := c.live[name]; ok {
		return r.value, r.err
	}
	var firstErr error
	lookup := func(n string) (string, bool) {
		v, ok := c.mainOnly(n)
		if !ok {
			return "", false
		}
		x, err := Expand(v, c.mainOnly)
		if err != nil && firstErr == nil {
			var pos diag.Pos
			if p := c.Main.Params[n]; p != nil {
				pos = p.Pos
			}
			firstErr = c.positioned(Value{Pos: pos}, namedErr(n, err))
		}
		return x.Value, true
	}
	v, err := c.Defaults.(liveDefaults).Live(context.Background(), name, lookup)
	if name == "mynetworks" && v != "" && !strings.HasSuffix(v, " ") {
		// mynetworks_core() ends every entry with a space, and postconf
		// shows that trailing space in expansions ("[$mynetworks]").
		v += " "
	}
	if firstErr != nil {
		err = firstErr
	} else if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
	}
	if c.live == nil {
		c.live = map[string]liveResult{}
	}
	c.live[name] = liveResult{v, err}
	return v, err
}

// Lookup returns the lookup function for expansion in svc's scope.
func (c *Config) Lookup(svc *Service) LookupFunc {
	return func(name string) (string, bool) {
		v, ok := c.Raw(svc, name)
		return v.Raw, ok
	}
}

// lookupErr is Lookup that also reports defaults that cannot be computed.
func (c *Config) lookupErr(svc *Service) lookupErrFunc {
	return func(name string) (string, bool, error) {
		v, ok := c.Raw(svc, name)
		return v.Raw, ok, v.Err
	}
}

// Expand returns the expanded effective value of name in svc's scope
// (nil: global). Parameters postconf never expands are returned raw.
//
// Expansions are memoised per scope, so that asking again, or for a
// parameter whose value refers to ones already expanded, costs no second
// recursive expansion (a chain of $names, or many parameters naming the
// same large one).
func (c *Config) Expand(svc *Service, name string) (string, error) {
	if rawParams[name] {
		v, _ := c.Raw(svc, name)
		if v.Err != nil {
			return "", v.Err
		}
		return v.Raw, nil
	}
	memo := c.memoFor(svc)
	if memo != nil {
		if m := memo.get(name); m != nil && m.level <= maxNesting+1 && m.total <= maxTotalDepth && m.work <= max(c.workLimit, maxWork) {
			return m.value, nil
		}
	}
	v, ok := c.Raw(svc, name)
	if !ok {
		return "", nil
	}
	if v.Err != nil {
		return "", v.Err
	}
	if strings.IndexByte(v.Raw, '$') < 0 {
		// Nothing to expand: the value itself, not a copy (it can be
		// megabytes).
		return v.Raw, nil
	}
	var e *expander
	if memo != nil {
		e = newExpander(memo.(*scopeMemo).lookup, c.workLimit, memo)
		e.expandName(name, v.Raw)
	} else {
		e = newExpander(c.lookupErr(svc), c.workLimit, nil)
		e.parse(v.Raw)
	}
	x, err := e.result()
	e.release()
	if err != nil {
		return "", c.positioned(v, namedErr(name, err))
	}
	return x.Value, nil
}

// ExpandValue expands arbitrary text in svc's scope and reports undefined
// names.
func (c *Config) ExpandValue(svc *Service, text string) (Expansion, error) {
	e := newExpander(c.lookupErr(svc), c.workLimit+8*len(text), c.memoFor(svc))
	defer e.release()
	e.parse(text)
	return e.result()
}

// expandMemo keeps, per Config, the expansion of every name whose value
// holds a $name: entries that read no scope-sensitive name (no parameter
// that a master.cf -o sets anywhere, no service_name or process_name) are
// shared by every scope, the others kept per scope (nil: main.cf). A
// Config's main.cf, master.cf and defaults do not change after New or
// LoadDir (its name spaces and user parameters are derived from them
// there too; a patched configuration is a new Config, as rules' fix
// simulation makes); Dir and LiveDefaults may be set afterwards, and the
// memo starts afresh when they change. A Config may be expanded from
// several goroutines.
type expandMemo struct {
	mu     sync.Mutex
	dir    string
	live   bool
	shared map[string]*memoEntry
	scoped map[*Service]map[string]*memoEntry
	// scopes are the memoScope values handed out, one per scope (nil:
	// main.cf): made once, a scopeMemo in an interface was an allocation
	// per expansion.
	scopes map[*Service]*scopeMemo
}

// scopeMemo is the memoScope of one scope of a Config.
type scopeMemo struct {
	c   *Config
	svc *Service
	// lookup is c.lookupErr(svc), made once with the scope.
	lookup lookupErrFunc
}

// memoFor returns the memo of svc's scope: nil for a service that is not
// one of the Config's master.cf entries (its settings are unknown to the
// sensitivity record, so nothing it expands may be shared).
func (c *Config) memoFor(svc *Service) memoScope {
	if svc != nil {
		if _, ok := c.nsActive[svc]; !ok {
			return nil
		}
	}
	m := &c.memo
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.shared == nil || m.dir != c.Dir || m.live != c.LiveDefaults {
		m.dir, m.live = c.Dir, c.LiveDefaults
		m.shared, m.scoped = map[string]*memoEntry{}, map[*Service]map[string]*memoEntry{}
	}
	sm := m.scopes[svc]
	if sm == nil {
		if m.scopes == nil {
			m.scopes = make(map[*Service]*scopeMemo, 4)
		}
		sm = &scopeMemo{c: c, svc: svc, lookup: c.lookupErr(svc)}
		m.scopes[svc] = sm
	}
	return sm
}

func (s *scopeMemo) get(name string) *memoEntry {
	m := &s.c.memo
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.shared[name]; e != nil {
		return e
	}
	return m.scoped[s.svc][name]
}

func (s *scopeMemo) put(name string, e *memoEntry) {
	m := &s.c.memo
	m.mu.Lock()
	defer m.mu.Unlock()
	if !e.scoped {
		m.shared[name] = e
		return
	}
	if m.scoped[s.svc] == nil {
		m.scoped[s.svc] = map[string]*memoEntry{}
	}
	m.scoped[s.svc][name] = e
}

func (s *scopeMemo) sensitive(name string) bool { return s.c.sensitive[name] }

func namedErr(name string, err error) error {
	var ee *ExpandError
	if errors.As(err, &ee) && ee.Name == "" {
		ee.Name = name
	}
	return err
}

func (c *Config) positioned(v Value, err error) error {
	if v.Pos.IsZero() {
		return err
	}
	var de *diag.Error
	if errors.As(err, &de) {
		return err
	}
	return &diag.Error{Pos: v.Pos, Msg: err.Error()}
}

// Check does what postconf does before it prints anything, whatever it was
// asked: it expands every built-in and service-derived parameter in the
// global scope, and every such parameter a master.cf -o sets in that
// service's scope. A syntax error, runaway nesting or a default that
// cannot be computed there makes postconf exit, and so it is an error here
// too. The warnings are the $names nothing defines. The result is computed
// once.
func (c *Config) Check() ([]diag.Warning, error) {
	c.checkOnce.Do(func() {
		// Clipped: a caller appending to the warnings must not write
		// into an array another configuration shares (Edited).
		c.checkWarns = slices.Clip(c.undefined)
		if c.startupErr != nil {
			c.checkErr = c.startupErr
			return
		}
		// postconf computes the host-derived defaults while it scans the
		// defaults for $names (pcf_scan_default_parameter_values).
		for _, n := range []string{"myhostname", "mydomain", "mynetworks"} {
			if v, _ := c.Raw(nil, n); v.Err != nil {
				c.checkErr = v.Err
				return
			}
		}
		for _, n := range c.eagerNames() {
			if _, err := c.Expand(nil, n); err != nil {
				c.checkErr = err
				return
			}
		}
		for _, s := range c.Master.Services {
			for _, o := range c.EffectiveOverrides(s) {
				if rawParams[o.Name] || !(c.isListed(o.Name) || c.isServiceParam(o.Name)) {
					continue
				}
				if _, err := c.Expand(s, o.Name); err != nil {
					c.checkErr = fmt.Errorf("%s: %w", s.Key(), err)
					return
				}
			}
		}
	})
	return c.checkWarns, c.checkErr
}

// eagerNames are the parameters Check evaluates globally: the built-in
// and service-derived parameters main.cf sets. (Measured against postconf
// 3.7.11: unset parameters are not evaluated, so neither a broken legacy
// parameter that only a default refers to, such as virtual_maps from
// virtual_alias_maps, nor an unparsable compatibility_level stops it; the
// latter only does through mynetworks_style when mynetworks is computed.)
func (c *Config) eagerNames() []string {
	var out []string
	if c.Defaults == nil {
		out = append(out, c.Main.Names()...)
	}
	for _, n := range c.Main.Order {
		if _, set := c.Main.Params[n]; set && !rawParams[n] && (c.info.isListed(n) || c.isServiceParam(n)) {
			out = append(out, n)
		}
	}
	return out
}

// defaultsInfo is what a Config derives from its Defaults alone; it is
// computed once per *defaults.Set (which is immutable).
type defaultsInfo struct {
	names []string
	// listedBy answers for defaults that know which names the full
	// listing prints (a defaults.Set: no second map of every name);
	// otherwise listed holds every name.
	listedBy listedDefaults
	listed   map[string]bool
	refs     []defaultRefs // $names in non-raw defaults that the defaults do not know
}

func (i *defaultsInfo) isListed(name string) bool {
	if i.listedBy != nil {
		return i.listedBy.Listed(name)
	}
	return i.listed[name]
}

type defaultRefs struct {
	param string
	names []string
}

var lastInfo struct {
	sync.Mutex
	set  *defaults.Set
	info *defaultsInfo
}

func infoFor(d Defaults) *defaultsInfo {
	set, ok := d.(*defaults.Set)
	if ok {
		lastInfo.Lock()
		defer lastInfo.Unlock()
		if lastInfo.set == set {
			return lastInfo.info
		}
	}
	info := &defaultsInfo{}
	if d == nil {
		return info
	}
	if set != nil {
		info.names = set.SortedNames() // immutable, like the Set
		info.listedBy = set
		if refs, ok := refsOverBuiltin(set); ok {
			info.refs = refs
			lastInfo.set, lastInfo.info = set, info
			return info
		}
	} else {
		info.names = d.Names()
		if ld, ok := d.(listedDefaults); ok {
			info.listedBy = ld
		} else {
			info.listed = make(map[string]bool, len(info.names))
			for _, n := range info.names {
				info.listed[n] = true
			}
		}
	}
	for _, n := range info.names {
		if r, ok := unknownRefs(d, n); ok {
			info.refs = append(info.refs, r)
		}
	}
	if ok {
		lastInfo.set, lastInfo.info = set, info
	}
	return info
}

// unknownRefs lists the names the default of param references that d does
// not know: only those matter to registerUserParams (a known name is never
// a user parameter nor undefined), so most references are dropped here,
// once per Defaults, instead of looked up per Config.
func unknownRefs(d Defaults, param string) (defaultRefs, bool) {
	if rawParams[param] {
		return defaultRefs{}, false
	}
	v, _ := d.Raw(param)
	if !strings.Contains(v, "$") {
		return defaultRefs{}, false
	}
	r := defaultRefs{param: param}
	_ = ScanNames(v, func(name string) {
		if !d.Known(name) {
			r.names = append(r.names, name)
		}
	})
	return r, len(r.names) > 0
}

// refsOverBuiltin derives set's unknown references from builtinRefs (those
// of the built-in table, generated) when set is the table with some values
// changed or added, as the postconf -d cache and the built-in Set are:
// only the changed values are scanned.
func refsOverBuiltin(set *defaults.Set) ([]defaultRefs, bool) {
	changed, ok := set.Changes()
	if !ok || builtinRefsTable != defaults.BuiltinTableID {
		return nil, false
	}
	var out []defaultRefs
	for _, r := range builtinRefs {
		if _, ch := slices.BinarySearch(changed, r.param); ch {
			continue
		}
		// An added name may make a reference known.
		k := defaultRefs{param: r.param}
		for _, n := range r.names {
			if !set.Known(n) {
				k.names = append(k.names, n)
			}
		}
		if len(k.names) > 0 {
			out = append(out, k)
		}
	}
	for _, n := range changed {
		if r, ok := unknownRefs(set, n); ok {
			out = append(out, r)
		}
	}
	// In name order, as a scan of every default finds them.
	slices.SortFunc(out, func(a, b defaultRefs) int { return strings.Compare(a.param, b.param) })
	return out, true
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

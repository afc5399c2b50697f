package fleet

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// hostDefaults are one host's defaults, read from its collected
// `postconf -d` (postconf.d). They carry that host's own host-derived
// values (myhostname, mydomain, mynetworks as Postfix computed them there),
// which the controller cannot know.
//
// The full `postconf -d` listing omits the legacy and renamed names that
// postconf answers only when asked by name (virtual_maps,
// postscreen_blacklist_action, ...; see defaults.Set.Known); they come from
// the built-in table so that defaults referring to them ($virtual_maps)
// still expand.
type hostDefaults struct {
	raw     map[string]string
	names   []string
	version string
	file    string
	fill    *defaults.Set
}

var _ postconf.Defaults = (*hostDefaults)(nil)

func (d *hostDefaults) Raw(name string) (string, bool) {
	if v, ok := d.raw[name]; ok {
		return v, true
	}
	if d.fill.Known(name) && !d.fill.Listed(name) {
		return d.fill.Raw(name)
	}
	return "", false
}

func (d *hostDefaults) Known(name string) bool {
	_, ok := d.Raw(name)
	return ok
}

// Listed: only names the host's listing printed (postconf.Config uses this
// to tell legacy names apart).
func (d *hostDefaults) Listed(name string) bool {
	_, ok := d.raw[name]
	return ok
}

func (d *hostDefaults) Names() []string { return slices.Clone(d.names) }

// source names the defaults in the report, as postconf.Config.DefaultsSource.
func (d *hostDefaults) source() string {
	return fmt.Sprintf("postconf -d dump (%s, Postfix %s)", d.file, d.version)
}

// parseHostDefaults reads `postconf -d` output: "name = value" lines (an
// empty value is "name ="). Like defaults.FromPostconf it insists on
// mail_version and compatibility_level, which every postconf -d prints: a
// file without them is not a postconf -d listing (a `postconf -n` saved
// under the wrong name, a truncated copy).
func parseHostDefaults(file string, data []byte) (*hostDefaults, error) {
	d := &hostDefaults{raw: make(map[string]string, 1024), file: file, fill: defaults.Builtin()}
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "postconf: ") {
			// postconf's own warnings end up in dumps collected with 2>&1.
			continue
		}
		i := strings.Index(line, " =")
		name := ""
		if i > 0 {
			name = line[:i]
		}
		value, ok := "", i > 0 && validName(name)
		if ok {
			switch rest := line[i+2:]; {
			case rest == "":
			case rest[0] == ' ':
				value = rest[1:]
			default:
				ok = false
			}
		}
		if !ok {
			return nil, &diag.Error{Pos: diag.Pos{File: file, Line: n + 1}, Msg: "postconf -d dump: not a \"name = value\" line", Text: line}
		}
		if _, dup := d.raw[name]; dup {
			return nil, &diag.Error{Pos: diag.Pos{File: file, Line: n + 1}, Msg: "postconf -d dump: parameter " + name + " printed twice", Text: line}
		}
		d.raw[name] = value
		d.names = append(d.names, name)
	}
	for _, must := range []string{"mail_version", "compatibility_level"} {
		if _, ok := d.raw[must]; !ok {
			return nil, &diag.Error{Pos: diag.Pos{File: file}, Msg: fmt.Sprintf("not a postconf -d listing: no %s parameter (%d parameters read)", must, len(d.raw))}
		}
	}
	for _, n := range d.fill.Names() {
		if _, ok := d.raw[n]; !ok && !d.fill.Listed(n) {
			d.names = append(d.names, n)
		}
	}
	slices.Sort(d.names)
	d.version = d.raw["mail_version"]
	return d, nil
}

// validName accepts built-in and service-derived parameter names (service
// names may contain '-' and '.').
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}

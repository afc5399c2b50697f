package defaults

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Derivation says what a computed default depends on.
type Derivation string

const (
	// FromHost: computed from this machine (its name, its interfaces), so a
	// value recorded on one host is wrong on another.
	FromHost Derivation = "host"
	// FromProcess: describes the process that reads the configuration
	// (postconf reports its own pid and name); differs on every run.
	FromProcess Derivation = "process"
)

// derived lists the defaults postconf computes at run time
// (postconf_builtin.c: pcf_check_myhostname, pcf_check_mydomainname,
// pcf_mynetworks, and the ad-hoc process_name/process_id). Comparing
// `postconf -d` across hosts, host names (unshare --uts) and network
// namespaces changes exactly these.
var derived = map[string]Derivation{
	"myhostname":   FromHost,
	"mydomain":     FromHost,
	"mynetworks":   FromHost,
	"process_id":   FromProcess,
	"process_name": FromProcess,
}

// Derived reports whether the default of name is computed at run time, and
// from what.
func Derived(name string) (Derivation, bool) {
	d, ok := derived[name]
	return d, ok
}

// HostDerived reports whether the default of name is computed at run time
// (from the host or the process), so that no recorded value is right.
func HostDerived(name string) bool {
	_, ok := derived[name]
	return ok
}

// DerivedNames returns the names for which HostDerived is true, sorted.
func DerivedNames() []string {
	return []string{"mydomain", "myhostname", "mynetworks", "process_id", "process_name"}
}

// Symbolic returns the placeholder shown for a derived default where it
// cannot be computed (an offline dump): "<host: mynetworks>",
// "<process: process_id>". ok is false for other names.
func Symbolic(name string) (string, bool) {
	d, ok := derived[name]
	if !ok {
		return "", false
	}
	return "<" + string(d) + ": " + name + ">", true
}

// IsSymbolic reports whether value is a placeholder made by Symbolic.
func IsSymbolic(value string) bool {
	for name := range derived {
		if s, _ := Symbolic(name); s == value {
			return true
		}
	}
	return false
}

// Lookup answers, for the configuration being evaluated, the expanded value
// of a parameter that is explicitly set (in main.cf, or a master.cf -o
// override for a per-service view), and false when it is not set. It must
// not fall back to defaults: Postfix distinguishes "not set" from "set to
// the default" here (an unset mydomain is not the same as mydomain =
// localdomain when deriving myhostname).
type Lookup func(name string) (value string, set bool)

// Live computes the default of a derived parameter the way Postfix does
// when it reads the configuration that lookup describes (nil: an empty
// main.cf, i.e. what `postconf -d` prints):
//
//   - myhostname: gethostname(); a name without a dot gets "." + $mydomain
//     appended when mydomain is set, ".localdomain" otherwise.
//   - mydomain: $myhostname (set, or derived as above) after its first dot;
//     "localdomain" when it has none.
//   - mynetworks: this host's interface addresses, per mynetworks_style,
//     inet_interfaces and inet_protocols (set, or their defaults in s,
//     mynetworks_style resolved for compatibility_level). See Mynetworks.
//   - process_id, process_name: this process's pid and program name.
//
// Other names are an error. Errors are those Postfix dies of: a bad
// mynetworks_style, an inet_interfaces host that does not resolve or is not
// local, a hostname that is not valid.
func (s *Set) Live(ctx context.Context, name string, lookup Lookup) (string, error) {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	switch name {
	case "myhostname":
		h, err := Hostname()
		if err != nil {
			return "", err
		}
		d, set := lookup("mydomain")
		return MyHostname(h, d, set), nil
	case "mydomain":
		h, set := lookup("myhostname")
		if !set {
			var err error
			if h, err = s.Live(ctx, "myhostname", lookup); err != nil {
				return "", err
			}
		}
		return MyDomain(h), nil
	case "mynetworks":
		opts, err := s.networkOptions(lookup)
		if err != nil {
			return "", err
		}
		return Mynetworks(ctx, opts)
	case "process_id":
		return strconv.Itoa(os.Getpid()), nil
	case "process_name":
		return filepath.Base(os.Args[0]), nil
	}
	return "", fmt.Errorf("%s: not a host-derived parameter", name)
}

// networkOptions collects the settings mynetworks depends on, with the
// defaults of s where the configuration sets none. In `postconf -d` mode
// Postfix uses the built-in defaults of all three; with a configuration it
// uses the configured values (postconf_builtin.c pcf_mynetworks).
func (s *Set) networkOptions(lookup Lookup) (NetworkOptions, error) {
	level, set := lookup("compatibility_level")
	if !set {
		level, _ = s.get("compatibility_level")
	}
	get := func(name string) (string, error) {
		if v, set := lookup(name); set {
			return v, nil
		}
		raw, ok := s.get(name)
		if !ok {
			return "", fmt.Errorf("mynetworks: no default for %s", name)
		}
		v, err := ResolveForLevel(raw, level)
		if err != nil {
			return "", fmt.Errorf("mynetworks: default %s: %w", name, err)
		}
		if strings.Contains(v, "$") {
			return "", fmt.Errorf("mynetworks: cannot evaluate the default %s = %s", name, raw)
		}
		return v, nil
	}
	var o NetworkOptions
	var err error
	if o.Style, err = get("mynetworks_style"); err != nil {
		return o, err
	}
	if o.InetInterfaces, err = get("inet_interfaces"); err != nil {
		return o, err
	}
	if o.InetProtocols, err = get("inet_protocols"); err != nil {
		return o, err
	}
	return o, nil
}

// defaultDomain is DEF_MYDOMAIN (mail_params.h).
const defaultDomain = "localdomain"

// MyHostname derives the default myhostname from the machine's host name
// as Postfix does (mail_params.c check_myhostname): a name with a dot is
// used as is; otherwise "." and mydomain are appended when mydomain is set
// in the configuration (mydomainSet), "." + "localdomain" when it is not.
// Postfix never asks DNS here.
func MyHostname(hostname, mydomain string, mydomainSet bool) string {
	if strings.Contains(hostname, ".") {
		return hostname
	}
	if !mydomainSet {
		mydomain = defaultDomain
	}
	return hostname + "." + mydomain
}

// MyDomain derives the default mydomain from myhostname (mail_params.c
// check_mydomainname): the text after the first dot, or "localdomain".
func MyDomain(myhostname string) string {
	if i := strings.IndexByte(myhostname, '.'); i >= 0 {
		return myhostname[i+1:]
	}
	return defaultDomain
}

// Hostname returns this machine's name as Postfix's get_hostname() does:
// gethostname(), no DNS, rejected when not a valid host name (Postfix then
// dies with "unable to use my own hostname").
func Hostname() (string, error) {
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("gethostname: %w", err)
	}
	if err := ValidHostname(h); err != nil {
		return "", fmt.Errorf("unable to use my own hostname %q: %w", h, err)
	}
	return h, nil
}

// Limits from valid_hostname.h.
const (
	maxHostnameLen = 255
	maxLabelLen    = 63
)

// ValidHostname applies the checks of Postfix's valid_hostname(): letters,
// digits, '_' and '-' in dot-separated labels of at most 63 characters, no
// empty label or trailing dot, no hyphen at either end of a label, at most
// 255 characters, not all-numeric.
func ValidHostname(name string) error {
	if name == "" {
		return fmt.Errorf("empty hostname")
	}
	if len(name) > maxHostnameLen {
		return fmt.Errorf("hostname longer than %d characters", maxHostnameLen)
	}
	label, numeric := 0, true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case isAlnum(c) || c == '_':
			label++
			if label > maxLabelLen {
				return fmt.Errorf("hostname label longer than %d characters", maxLabelLen)
			}
			if c < '0' || c > '9' {
				numeric = false
			}
		case c == '.':
			if label == 0 || i+1 == len(name) {
				return fmt.Errorf("misplaced delimiter")
			}
			label = 0
		case c == '-':
			numeric = false
			label++
			if label == 1 || i+1 == len(name) || name[i+1] == '.' {
				return fmt.Errorf("misplaced hyphen")
			}
		default:
			return fmt.Errorf("invalid character %q", c)
		}
	}
	if numeric {
		return fmt.Errorf("numeric hostname")
	}
	return nil
}

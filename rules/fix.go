package rules

import (
	"strings"

	"github.com/pfaudit/pfaudit/postconf"
)

// Remediation commands follow postconf(1):
//
//	postconf -e 'name = value'            edit main.cf
//	postconf -X name                      remove a main.cf setting
//	postconf -P 'svc/type/name=value'     add or update a master.cf -o
//	postconf -PX 'svc/type/name'          remove a master.cf -o
//	postconf -M 'svc/type = entry'        add or replace a master.cf entry
//	postconf -MX 'svc/type'               remove a master.cf entry
//
// postconf -P refuses whitespace in the value ("-Pe does not accept
// whitespace in parameter value", Postfix 3.7): list values are joined with
// commas, which every Postfix list accepts as separator; a value that needs
// whitespace (a {...} group) is written by replacing the whole entry with
// postconf -M instead.
//
// When the configuration directory is not the default /etc/postfix the
// commands carry -c DIR, so that they edit the files that were audited.

// DefaultConfigDir is where postconf looks without -c.
const DefaultConfigDir = "/etc/postfix"

// shellQuote quotes s for a POSIX shell when it needs quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@=,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// quote always single-quotes s: service/type/name arguments read better
// quoted, as postconf(1)'s own examples show them.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ConfigDirFlag returns " -c DIR" for a non-default directory, else "".
func ConfigDirFlag(dir string) string {
	if dir == "" || dir == DefaultConfigDir {
		return ""
	}
	return " -c " + shellQuote(dir)
}

func (c *Context) postconf() string { return "postconf" + ConfigDirFlag(c.Cfg.Dir) }

// mainSet edits main.cf.
func (c *Context) mainSet(name, value string) string {
	return c.postconf() + " -e " + quote(name+" = "+value)
}

// mainUnset removes a main.cf setting (the default applies again).
func (c *Context) mainUnset(name string) string {
	return c.postconf() + " -X " + shellQuote(name)
}

// svcSet sets a master.cf -o override of svc.
func (c *Context) svcSet(svc *postconf.Service, name, value string) string {
	if strings.ContainsAny(value, " \t") {
		return c.replaceEntry(svc, name, value, false)
	}
	return c.postconf() + " -P " + quote(svc.Key()+"/"+name+"="+value)
}

// svcUnset removes a master.cf -o override of svc.
func (c *Context) svcUnset(svc *postconf.Service, name string) string {
	return c.postconf() + " -PX " + quote(svc.Key()+"/"+name)
}

// replaceEntry rewrites svc's whole master.cf entry with name set to value
// (or removed), for values postconf -P cannot write.
func (c *Context) replaceEntry(svc *postconf.Service, name, value string, remove bool) string {
	cp := *svc
	cp.Overrides = nil
	cp.Args = nil
	done := false
	for i := 0; i < len(svc.Args); i++ {
		if svc.Args[i] == "-o" && i+1 < len(svc.Args) {
			n, v, _ := strings.Cut(svc.Args[i+1], "=")
			i++
			if n == name {
				if remove || done {
					continue
				}
				v, done = value, true
			}
			cp.Args = append(cp.Args, "-o", n+"="+v)
			continue
		}
		cp.Args = append(cp.Args, svc.Args[i])
	}
	if !done && !remove {
		cp.Args = append(cp.Args, "-o", name+"="+value)
	}
	return c.postconf() + " -M " + quote(svc.Key()+" = "+strings.Join(strings.Fields(cp.FormatM()), " "))
}

// set writes value where p's value comes from: the listener's -o when it
// has one, else main.cf.
func (c *Context) set(p param, value string) string {
	if p.Svc != nil {
		return c.svcSet(p.Svc, p.Name, value)
	}
	return c.mainSet(p.Name, value)
}

// unset removes p's setting where it comes from (nothing when it is the
// default).
func (c *Context) unset(p param) []string {
	switch {
	case p.Svc != nil:
		return []string{c.svcUnset(p.Svc, p.Name)}
	case p.Raw.Source == postconf.SourceMainCF:
		return []string{c.mainUnset(p.Name)}
	}
	return nil
}

// setList writes a list: ", "-separated in main.cf, ","-separated as -o.
func (c *Context) setList(p param, items []string) []string {
	if p.Svc != nil {
		parts := make([]string, 0, len(items))
		for _, it := range items {
			if strings.Contains(it, "{") {
				parts = append(parts, it) // a {...} group keeps its whitespace
				continue
			}
			parts = append(parts, strings.Join(strings.Fields(it), ","))
		}
		return []string{c.svcSet(p.Svc, p.Name, strings.Join(parts, ","))}
	}
	return []string{c.mainSet(p.Name, strings.Join(items, ", "))}
}

package render

import (
	"regexp"

	"github.com/pfaudit/pfaudit/rules"
)

// Plan is the remediation of a whole report as one script: every
// finding's commands, deduplicated, in an order that is safe to run top to
// bottom.
type Plan struct {
	// Commands, in order: preparation (creating and indexing tables),
	// main.cf edits (postconf -e, -X), master.cf parameter edits
	// (postconf -P, -PX), new master.cf entries (-M), removed entries
	// (-MX), then one `postfix reload` or restart.
	Commands []string `json:"commands"`
	// Conflicts are edits of a parameter that an earlier (more severe)
	// finding's command already sets to another value or removes; they
	// are left out of Commands for the administrator to review.
	Conflicts []string `json:"conflicts,omitempty"`
}

var (
	mainSetRE     = lazyRegexp(`^postconf(?: -c \S+)? -e '([A-Za-z0-9_]+) = `)
	mainUnsetRE   = lazyRegexp(`^postconf(?: -c \S+)? -X '?([A-Za-z0-9_]+)'?$`)
	masterSetRE   = lazyRegexp(`^postconf(?: -c \S+)? -P '([^=']+)=`)
	masterUnsetRE = lazyRegexp(`^postconf(?: -c \S+)? -PX '([^']+)'$`)
	masterParamRE = lazyRegexp(`^postconf(?: -c \S+)? -PX? `)
	masterAddRE   = lazyRegexp(`^postconf(?: -c \S+)? -M `)
	masterDelRE   = lazyRegexp(`^postconf(?: -c \S+)? -MX `)
	mainOpRE      = lazyRegexp(`^postconf(?: -c \S+)? -(e|X) `)
)

// target names what a postconf command sets or removes ("main:name",
// "master:svc/type/name"), "" for anything else.
func target(cmd string) string {
	for _, x := range []struct {
		re     *regexp.Regexp
		prefix string
	}{{mainSetRE(), "main:"}, {mainUnsetRE(), "main:"}, {masterSetRE(), "master:"}, {masterUnsetRE(), "master:"}} {
		if m := x.re.FindStringSubmatch(cmd); m != nil {
			return x.prefix + m[1]
		}
	}
	return ""
}

// MakePlan builds the plan of r. Findings are taken in report order
// (highest severity first), so when two fixes set the same parameter
// differently the more severe one wins.
func MakePlan(r *Report) Plan {
	var prep, mainEdits, paramEdits, entryAdds, entryDels []string
	seen := map[string]bool{}
	targets := map[string]string{}
	var p Plan
	restart, reload := false, false
	for _, f := range r.Findings {
		if len(f.Remediation) == 0 {
			continue
		}
		switch f.Apply {
		case "restart":
			restart = true
		case "reload":
			reload = true
		}
		for _, cmd := range f.Remediation {
			if seen[cmd] {
				continue
			}
			seen[cmd] = true
			if key := target(cmd); key != "" {
				if prev, ok := targets[key]; ok && prev != cmd {
					p.Conflicts = append(p.Conflicts, cmd)
					continue
				}
				targets[key] = cmd
			}
			switch {
			case mainOpRE().MatchString(cmd):
				mainEdits = append(mainEdits, cmd)
			case masterParamRE().MatchString(cmd):
				paramEdits = append(paramEdits, cmd)
			case masterAddRE().MatchString(cmd):
				entryAdds = append(entryAdds, cmd)
			case masterDelRE().MatchString(cmd):
				entryDels = append(entryDels, cmd)
			default:
				prep = append(prep, cmd)
			}
		}
	}
	// Entries are removed last: a -P aimed at a renamed entry must not
	// run after its removal, and the new entry exists before the old goes.
	for _, part := range [][]string{prep, mainEdits, paramEdits, entryAdds, entryDels} {
		p.Commands = append(p.Commands, part...)
	}
	flag := rules.ConfigDirFlag(r.ConfigDir)
	switch {
	case restart && flag == "":
		p.Commands = append(p.Commands, "systemctl restart postfix")
	case restart:
		p.Commands = append(p.Commands, "postfix"+flag+" stop && postfix"+flag+" start")
	case reload:
		p.Commands = append(p.Commands, "postfix"+flag+" reload")
	}
	return p
}

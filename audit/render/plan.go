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
	// main.cf edits (postconf -e, -X), master.cf edits (postconf -P, -PX,
	// -M, -MX), then one `postfix reload` or restart.
	Commands []string `json:"commands"`
	// Conflicts are edits of a parameter that an earlier (more severe)
	// finding's command already sets to another value; they are left out
	// of Commands for the administrator to review.
	Conflicts []string `json:"conflicts,omitempty"`
}

var (
	mainSetRE   = regexp.MustCompile(`^postconf(?: -c \S+)? -e '([A-Za-z0-9_]+) = `)
	masterSetRE = regexp.MustCompile(`^postconf(?: -c \S+)? -P '([^=']+)=`)
	masterOpRE  = regexp.MustCompile(`^postconf(?: -c \S+)? -(P|PX|M|MX) `)
	mainOpRE    = regexp.MustCompile(`^postconf(?: -c \S+)? -(e|X) `)
)

// MakePlan builds the plan of r. Findings are taken in report order
// (highest severity first), so when two fixes set the same parameter
// differently the more severe one wins.
func MakePlan(r *Report) Plan {
	var prep, mainEdits, masterEdits []string
	seen := map[string]bool{}
	target := map[string]string{}
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
			key := ""
			if m := mainSetRE.FindStringSubmatch(cmd); m != nil {
				key = "main:" + m[1]
			} else if m := masterSetRE.FindStringSubmatch(cmd); m != nil {
				key = "master:" + m[1]
			}
			if key != "" {
				if prev, ok := target[key]; ok && prev != cmd {
					p.Conflicts = append(p.Conflicts, cmd)
					continue
				}
				target[key] = cmd
			}
			switch {
			case mainOpRE.MatchString(cmd):
				mainEdits = append(mainEdits, cmd)
			case masterOpRE.MatchString(cmd):
				masterEdits = append(masterEdits, cmd)
			default:
				prep = append(prep, cmd)
			}
		}
	}
	p.Commands = append(append(append(p.Commands, prep...), mainEdits...), masterEdits...)
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

package render

import (
	"strings"

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

// postconfOp splits a remediation command "postconf [-c DIR] OP ARGS" into
// its operation ("-e", "-X", "-P", "-PX", "-M", "-MX", ...) and what
// follows it; ok is false for any other command. Plain string work: the
// regular expressions this replaces cost 2% of an audit to compile.
func postconfOp(cmd string) (op, args string, ok bool) {
	rest, ok := strings.CutPrefix(cmd, "postconf ")
	if !ok {
		return "", "", false
	}
	if r, ok := strings.CutPrefix(rest, "-c "); ok {
		// -c DIR: DIR is one word (a quoted one with spaces is no
		// command of ours), then one space.
		i := strings.IndexAny(r, " \t\n\f\r")
		if i > 0 && r[i] == ' ' {
			rest = r[i+1:]
		}
	}
	if op, args, ok = strings.Cut(rest, " "); !ok {
		return "", "", false
	}
	return op, args, true
}

func isParamName(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return s != ""
}

// Steps of a plan, in the order they run.
const (
	stepPrep     = iota // anything but postconf edits: postmap, mkdir
	stepMain            // postconf -e, -X
	stepParam           // postconf -P, -PX
	stepAddEntry        // postconf -M
	stepDelEntry        // postconf -MX
)

func stepOf(cmd string) int {
	op, _, ok := postconfOp(cmd)
	switch {
	case !ok:
		return stepPrep
	case op == "-e" || op == "-X":
		return stepMain
	case op == "-P" || op == "-PX":
		return stepParam
	case op == "-M":
		return stepAddEntry
	case op == "-MX":
		return stepDelEntry
	}
	return stepPrep
}

// target names what a postconf command sets or removes ("main:name",
// "master:svc/type/name"), "" for anything else: postconf -e 'NAME = ...',
// -X NAME (quoted or not), -P 'SVC/TYPE/NAME=...', -PX 'SVC/TYPE/NAME'.
func target(cmd string) string {
	op, args, ok := postconfOp(cmd)
	if !ok {
		return ""
	}
	switch op {
	case "-e":
		if q, ok := strings.CutPrefix(args, "'"); ok {
			if name, _, ok := strings.Cut(q, " = "); ok && isParamName(name) {
				return "main:" + name
			}
		}
	case "-X":
		name := strings.TrimSuffix(strings.TrimPrefix(args, "'"), "'")
		if isParamName(name) {
			return "main:" + name
		}
	case "-P":
		if q, ok := strings.CutPrefix(args, "'"); ok {
			if i := strings.IndexAny(q, "='"); i > 0 && q[i] == '=' {
				return "master:" + q[:i]
			}
		}
	case "-PX":
		if len(args) > 2 && args[0] == '\'' && args[len(args)-1] == '\'' && !strings.Contains(args[1:len(args)-1], "'") {
			return "master:" + args[1:len(args)-1]
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
			switch stepOf(cmd) {
			case stepMain:
				mainEdits = append(mainEdits, cmd)
			case stepParam:
				paramEdits = append(paramEdits, cmd)
			case stepAddEntry:
				entryAdds = append(entryAdds, cmd)
			case stepDelEntry:
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

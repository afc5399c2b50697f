package relay_test

// Ground truth on real-world configurations (issue 7, "Right verdicts on
// the configurations people actually run"): every directory of
// testdata/corpus (mail stacks, Ansible roles, distribution defaults; see
// its README.md) is started as a private, non-delivering Postfix instance
// exactly like a scenario (groundTruth in groundtruth_test.go), and every
// relay attempt of the model is compared with the live answer.
//
// Real configurations use tables the lab cannot open (SQL, LDAP,
// socketmap and tcp services, LMDB without the module); labTables replaces
// them and logs each replacement as a "lab setup" line.

import (
	"regexp"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit/lab"
)

// corpusKnownDiscrepancies are corpus cases where Postfix 3.7.11 answers
// differently from the model, each with its category and the reason from
// Postfix's source. As with knownDiscrepancies, a listed case that now
// matches, or that the model no longer evaluates, fails the test: empty
// the list as model fixes land.
var corpusKnownDiscrepancies = []knownDiscrepancy{}

// TestGroundTruthCorpus runs groundTruth on every testdata/corpus
// directory. It needs Postfix and root (lab.Require).
func TestGroundTruthCorpus(t *testing.T) {
	runGroundTruth(t, "../../testdata/corpus/*/main.cf", "configurations")
}

// unopenedTable matches a table the lab cannot query: client tables of
// services that are not there (SQL, LDAP, socketmap, tcp, memcache, Redis,
// NIS) and file types whose Postfix module Debian ships separately (lmdb,
// cdb: postfix-lmdb, postfix-cdb), optionally behind proxy:. The name runs
// to the next blank or comma, as in a restriction or table list
// (postconf(5): "Specify zero or more ... separated by comma or
// whitespace"); socketmap:unix:/path:name keeps its colons.
var unopenedTable = regexp.MustCompile(`(?i)(^|[\s,{])((?:proxy:)?(mysql|pgsql|ldap|sqlite|socketmap|memcache|tcp|lmdb|cdb|redis|nis|nisplus|netinfo|mongodb):[^\s,{}]+)`)

// gtEmptyTable is the stand-in for a table the lab cannot query: an empty
// texthash: file. Every lookup misses, which is what a relay test address
// (user@example.net, a reserved domain) gets from a site's SQL or LDAP
// directory: it is in nobody's table.
const gtEmptyTable = "gt-empty"

// substituteTables replaces every table the lab cannot open in v: an lmdb:
// or cdb: table whose source file the configuration ships becomes hash:
// of the same file (same lookups; hashedMap then has it postmapped), any
// other one the empty texthash: table. changed reports whether anything
// was replaced. With where set, each replacement is logged as a lab note.
func (tr *translator) substituteTables(v, where string) (string, bool) {
	changed := false
	out := unopenedTable.ReplaceAllStringFunc(v, func(m string) string {
		sub := unopenedTable.FindStringSubmatch(m)
		lead, spec, typ := sub[1], sub[2], strings.ToLower(sub[3])
		repl := "texthash:$config_directory/" + gtEmptyTable
		why := "the lab cannot query " + typ + " tables; an empty table stands in (a reserved test domain or address is in nobody's table)"
		file := spec[strings.LastIndexByte(spec, ':')+1:]
		if base := file[strings.LastIndexByte(file, '/')+1:]; tr.files[base+".lab"] != nil {
			// A scenario that ships NAME.lab says what the database
			// answers for its own domains (texthash content).
			repl = "texthash:$config_directory/" + base + ".lab"
			why = "the lab cannot query " + typ + " tables; the configuration's " + base + ".lab stand-in holds what the database answers"
		} else if typ == "lmdb" || typ == "cdb" {
			file := spec[strings.LastIndexByte(spec, ':')+1:]
			base := file[strings.LastIndexByte(file, '/')+1:]
			if tr.files[base] != nil && !strings.HasPrefix(strings.ToLower(spec), "proxy:") {
				repl = "hash:$config_directory/" + base
				why = "Debian's Postfix has no " + typ + " module without postfix-" + typ + "; the same source file is built as hash: instead"
			}
		}
		if strings.HasPrefix(repl, "texthash:") && tr.files[gtEmptyTable] == nil {
			tr.files[gtEmptyTable] = &lab.Table{Name: gtEmptyTable, Content: "# pfaudit lab: stands in for tables the lab cannot query\n"}
		}
		if where != "" {
			tr.note("%s: %s -> %s (%s)", where, spec, repl, why)
		}
		changed = true
		return lead + repl
	})
	return out, changed
}

// labTables replaces, in the value the translator is about to write for
// name, the tables the lab cannot query (substituteTables). A value that
// only reaches such a table through $name references (Mailu's
// "${podop}domain") is written expanded, as the model expands it, so that
// the replacement reaches every lookup.
func (tr *translator) labTables(name, v, where string) string {
	if strings.Contains(v, "$") {
		if x, err := tr.cfg.Expand(tr.scope, name); err == nil {
			x = strings.Join(strings.Fields(x), " ")
			if unopenedTable.MatchString(x) {
				tr.note("%s: %s written expanded (%s) so that the tables it reaches can be replaced", where, name, x)
				out, _ := tr.substituteTables(x, where+": "+name)
				return out
			}
		}
	}
	out, _ := tr.substituteTables(v, where+": "+name)
	return out
}

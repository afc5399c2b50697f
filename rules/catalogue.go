package rules

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// Rule is a catalogue entry: what a check looks for and why, and how to fix
// what it finds. The logic lives in the check function registered under ID.
type Rule struct {
	// ID is stable across releases: "PFA-RELAY-001".
	ID    string `toml:"id" json:"id"`
	Title string `toml:"title" json:"title"`
	// Severity is the default; an open relay is always critical.
	Severity Severity `toml:"severity" json:"severity"`
	// Family groups rules: relay, exposure, auth, hygiene, policy.
	Family string `toml:"family" json:"family"`
	// Roles the rule applies to (mx, submission, smarthost-client,
	// null-client, send-only); empty means every host.
	Roles []string `toml:"roles" json:"roles"`
	// Checks says what the rule looks at.
	Checks string `toml:"checks" json:"checks"`
	// Why is the rationale, resting on Postfix's documentation.
	Why string `toml:"why" json:"why"`
	// References name the Postfix documents (postconf(5) parameter,
	// SMTPD_ACCESS_README, ...).
	References []string `toml:"references" json:"references"`
	// Remediation are command templates; findings carry the concrete
	// commands computed from the configuration.
	Remediation []string `toml:"remediation" json:"remediation"`
	// Apply is what Postfix needs after the fix: reload, restart or none.
	Apply string `toml:"apply" json:"apply"`
}

// ApplyCommand reports what a finding of this rule needs after the fix, as
// Finding.Apply spells it ("" for none).
func (r Rule) applyValue() string {
	if r.Apply == "none" {
		return ""
	}
	return r.Apply
}

// catalogue.toml is the source of the catalogue; catalogue_gen.go holds it
// as a Go literal (builtinCatalogue), which the linker lays out as static
// data: decoding the TOML took about a tenth of `pfaudit audit --no-probe`
// (issue 8: start-up no slower than postconf). TestCatalogueGenerated
// fails when the two differ, and with -update (go generate) rewrites
// catalogue_gen.go from the TOML, after parseCatalogue's checks.
//
//go:generate go test -run ^TestCatalogueGenerated$ -update

type catalogueFile struct {
	Rule []Rule `toml:"rule"`
}

var idPattern = lazyRegexp(`^PFA-(RELAY|EXP|AUTH|HYG|POL)-[0-9]{3}$`)

var families = map[string]string{
	"RELAY": "relay", "EXP": "exposure", "AUTH": "auth", "HYG": "hygiene", "POL": "policy",
}

// parseCatalogue decodes and validates a catalogue: every key known, IDs
// well-formed and unique, fields present, roles and apply valid.
func parseCatalogue(data []byte) ([]Rule, error) {
	var f catalogueFile
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		return nil, fmt.Errorf("catalogue.toml: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("catalogue.toml: unknown keys: %s", strings.Join(keys, ", "))
	}
	seen := map[string]bool{}
	for i, r := range f.Rule {
		where := fmt.Sprintf("catalogue.toml: rule %d (%s)", i+1, r.ID)
		if !idPattern().MatchString(r.ID) {
			return nil, fmt.Errorf("%s: id must look like PFA-RELAY-001", where)
		}
		if seen[r.ID] {
			return nil, fmt.Errorf("%s: duplicate id", where)
		}
		seen[r.ID] = true
		fam := families[strings.Split(r.ID, "-")[1]]
		if r.Family != fam {
			return nil, fmt.Errorf("%s: family %q, want %q for this id", where, r.Family, fam)
		}
		if r.Title == "" || r.Checks == "" || r.Why == "" || len(r.References) == 0 || len(r.Remediation) == 0 {
			return nil, fmt.Errorf("%s: title, checks, why, references and remediation are required", where)
		}
		switch r.Apply {
		case "reload", "restart", "none":
		default:
			return nil, fmt.Errorf("%s: apply %q (want reload, restart or none)", where, r.Apply)
		}
		for _, role := range r.Roles {
			if !slices.Contains(AllRoles, role) {
				return nil, fmt.Errorf("%s: unknown role %q", where, role)
			}
		}
	}
	return f.Rule, nil
}

type loadedCatalogue struct {
	rules []Rule
	index map[string]int
}

var catalogueOnce = sync.OnceValue(func() loadedCatalogue {
	idx := make(map[string]int, len(builtinCatalogue))
	for i, r := range builtinCatalogue {
		idx[r.ID] = i
	}
	return loadedCatalogue{builtinCatalogue, idx}
})

func loadCatalogue() ([]Rule, map[string]int) {
	c := catalogueOnce()
	return c.rules, c.index
}

// Catalogue returns every rule, in catalogue order.
func Catalogue() []Rule {
	rs, _ := loadCatalogue()
	return slices.Clone(rs)
}

// Lookup returns the rule with the given ID (case-insensitive).
func Lookup(id string) (Rule, bool) {
	rs, idx := loadCatalogue()
	i, ok := idx[strings.ToUpper(id)]
	if !ok {
		return Rule{}, false
	}
	return rs[i], true
}

// IDs returns every rule ID, sorted.
func IDs() []string {
	rs := Catalogue()
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	sort.Strings(out)
	return out
}

// SuggestID returns the rule ID closest to id, or "" when none is close:
// "did you mean" for `pfaudit rules explain` and policy files.
func SuggestID(id string) string {
	return Suggest(strings.ToUpper(id), IDs())
}

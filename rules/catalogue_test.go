package rules

import (
	"net/netip"
	"sort"
	"strings"
	"testing"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// allCases gathers every family's table.
func allCases() []ruleCase {
	var out []ruleCase
	for _, cs := range [][]ruleCase{relayCases, mynetworksCases, proxyCases, exposureCases, authCases, hygieneCases, policyCases} {
		out = append(out, cs...)
	}
	return out
}

func TestCatalogueDecodes(t *testing.T) {
	rs, err := parseCatalogue(catalogueTOML)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) < 35 {
		t.Errorf("catalogue has %d rules, want at least 35", len(rs))
	}
	fams := map[string]int{}
	for _, r := range rs {
		fams[r.Family]++
	}
	for _, f := range []string{"relay", "exposure", "auth", "hygiene"} {
		if fams[f] == 0 {
			t.Errorf("no rule in family %s", f)
		}
	}
	if r, ok := Lookup("PFA-RELAY-001"); !ok || r.Severity != Critical {
		t.Errorf("PFA-RELAY-001 must exist and be critical: %+v", r)
	}
}

func TestCatalogueRejects(t *testing.T) {
	base := `[[rule]]
id = "PFA-HYG-901"
title = "t"
severity = "low"
family = "hygiene"
checks = "c"
why = "w"
references = ["postconf(5)"]
remediation = ["postconf -X x"]
apply = "reload"
`
	for _, tc := range []struct{ name, text, want string }{
		{"undecoded key", base + "colour = \"red\"\n", "unknown keys: rule.colour"},
		{"duplicate id", base + "\n" + base, "duplicate id"},
		{"bad severity", strings.Replace(base, `"low"`, `"urgent"`, 1), "unknown severity"},
		{"bad apply", strings.Replace(base, `"reload"`, `"reboot"`, 1), "apply"},
		{"bad role", base + "roles = [\"mailhub\"]\n", "unknown role"},
		{"family mismatch", strings.Replace(base, `"hygiene"`, `"relay"`, 1), "family"},
		{"bad id", strings.Replace(base, "PFA-HYG-901", "HYG-1", 1), "id must look like"},
		{"missing why", strings.Replace(base, `why = "w"`, "", 1), "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseCatalogue([]byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCatalogueHasChecks(t *testing.T) {
	ids := map[string]bool{}
	for _, r := range Catalogue() {
		ids[r.ID] = true
		if checks[r.ID] == nil {
			t.Errorf("%s: no check function registered", r.ID)
		}
	}
	for id := range checks {
		if !ids[id] {
			t.Errorf("check %s has no catalogue entry", id)
		}
	}
}

func TestEveryRuleHasFiringAndQuietCases(t *testing.T) {
	fire, quiet := map[string]int{}, map[string]int{}
	for _, rc := range allCases() {
		if rc.fire {
			fire[rc.id]++
		} else {
			quiet[rc.id]++
		}
	}
	var missing []string
	for _, r := range Catalogue() {
		if fire[r.ID] == 0 {
			missing = append(missing, r.ID+" (no firing case)")
		}
		if quiet[r.ID] == 0 {
			missing = append(missing, r.ID+" (no non-firing case)")
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("rules without test cases:\n  %s", strings.Join(missing, "\n  "))
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"smtpd_tls_auth_only", "smtpd_tls_security_level", "mynetworks", "relay_domains"}
	for _, tc := range []struct{ in, want string }{
		{"smtpd_tls_auth_onyl", "smtpd_tls_auth_only"},
		{"mynetwork", "mynetworks"},
		{"relay_domain", "relay_domains"},
		{"completely_different", ""},
		{"mynetworks", ""},
	} {
		if got := Suggest(tc.in, names); got != tc.want {
			t.Errorf("Suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := SuggestID("pfa-relay-01"); got != "PFA-RELAY-001" && got != "PFA-RELAY-010" {
		t.Errorf("SuggestID = %q", got)
	}
}

package rules

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy("p.toml", []byte(`
role = "mx"
allowed_networks = ["127.0.0.0/8", "[::1]/128", "2001:db8::/32", "192.0.2.7"]
skip = ["pfa-exp-004"]

[severity]
PFA-HYG-001 = "high"

[[expect]]
parameter = "smtpd_tls_security_level"
service = "submission/inet"
equals = "encrypt"
severity = "critical"

[[expect]]
parameter = "smtpd_relay_restrictions"
contains = ["reject_unauth_destination"]
excludes = ["permit_mx_backup"]
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Roles) != 1 || p.Roles[0] != RoleMX {
		t.Errorf("roles %v", p.Roles)
	}
	if len(p.AllowedNetworks) != 4 || p.AllowedNetworks[3].String() != "192.0.2.7/32" {
		t.Errorf("allowed %v", p.AllowedNetworks)
	}
	if !p.skips("PFA-EXP-004") {
		t.Errorf("skip not normalised: %v", p.Skip)
	}
	if s, ok := p.severityFor("PFA-HYG-001"); !ok || s != High {
		t.Errorf("severity override %v %v", s, ok)
	}
	if len(p.Expect) != 2 || p.Expect[0].Pos.Line != 9 || p.Expect[1].Pos.Line != 15 || !p.Expect[0].HasSeverity || p.Expect[0].Severity != Critical {
		t.Errorf("expectations %+v", p.Expect)
	}
	if p.Expect[1].Severity != Medium || p.Expect[1].HasSeverity {
		t.Errorf("default severity %+v", p.Expect[1])
	}
}

func TestParsePolicyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		line       int
		want       string
	}{
		{"syntax", "role = \"mx\"\nskip = [\n", 2, "policy:"},
		{"unknown key", "role = \"mx\"\nrolls = [\"mx\"]\n", 2, `unknown key "rolls"; did you mean "roles"?`},
		{"unknown key in expect", "[[expect]]\nparameter = \"mynetworks\"\ncontains = [\"x\"]\nequal = \"x\"\n", 4, `unknown key "expect.equal"; did you mean "equals"?`},
		{"role and roles", "role = \"mx\"\n\nroles = [\"mx\"]\n", 3, "either role or roles"},
		{"bad role", "roles = [\n  \"mx\",\n  \"submision\",\n]\n", 3, `unknown role "submision"`},
		{"unknown rule", "skip = [\"PFA-RELAY-999\"]\n", 1, `unknown rule "PFA-RELAY-999"`},
		{"open relay not skippable", "\nskip = [\"PFA-RELAY-001\"]\n", 2, "cannot be skipped"},
		{"open relay always critical", "[severity]\n\"PFA-RELAY-001\" = \"low\"\n", 2, "always critical"},
		{"bad severity", "[severity]\nPFA-HYG-001 = \"urgent\"\n", 2, `"urgent" is not one of`},
		{"host bits", "allowed_networks = [\n  \"192.0.2.1/24\",\n]\n", 2, "did you mean 192.0.2.0/24?"},
		{"not a network", "allowed_networks = [\"lan\"]\n", 1, "not an address"},
		{"expect without operator", "[[expect]]\nparameter = \"mynetworks\"\n", 1, "at least one of"},
		{"expect bad service", "[[expect]]\nparameter = \"x\"\nservice = \"submission\"\nequals = \"y\"\n", 3, "want name/type"},
		{"expect bad within", "[[expect]]\nparameter = \"x\"\nwithin = [\"10.0.0.0/33\"]\n", 3, "is not a network"},
		{"second expect", "[[expect]]\nparameter = \"a\"\nequals = \"b\"\n[[expect]]\nparameter = \"bad name\"\nequals = \"c\"\n", 5, "not a Postfix parameter name"},
		{"wrong type", "\nrole = 3\n", 2, "role: incompatible types"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy("p.toml", []byte(tc.text))
			if err == nil {
				t.Fatal("want an error")
			}
			var de *diag.Error
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *diag.Error", err, err)
			}
			if de.File != "p.toml" {
				t.Errorf("file %q", de.File)
			}
			if tc.line != 0 && de.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", de.Line, tc.line, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

func TestParsePolicyCollectsErrors(t *testing.T) {
	_, err := ParsePolicy("p.toml", []byte("role = \"hub\"\nskip = [\"PFA-NOPE-001\"]\n"))
	var pe PolicyErrors
	if !errors.As(err, &pe) || len(pe) != 2 {
		t.Fatalf("want 2 errors, got %v", err)
	}
	if pe[0].Line != 1 || pe[1].Line != 2 {
		t.Errorf("lines %d %d", pe[0].Line, pe[1].Line)
	}
}

// TestExamplePolicy keeps the documented example loadable.
func TestExamplePolicy(t *testing.T) {
	p, err := LoadPolicy(filepath.Join("..", "testdata", "policy", "example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Roles) == 0 || len(p.AllowedNetworks) == 0 || len(p.Expect) == 0 || len(p.Skip) == 0 || len(p.Severity) == 0 {
		t.Errorf("example should show every feature: %+v", p)
	}
	if _, err := LoadPolicy(filepath.Join(t.TempDir(), "missing.toml")); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestPolicySkipsAndOverrides(t *testing.T) {
	c := ruleCase{main: "mynetworks = 127.0.0.0/8\n"}.context(t)
	base := findingsOf(Run(c), "PFA-HYG-001")
	if len(base) != 1 || base[0].Severity != Medium {
		t.Fatalf("baseline %v", base)
	}
	c.Policy, _ = ParsePolicy("p.toml", []byte("skip = [\"PFA-HYG-001\"]\n"))
	if got := findingsOf(Run(c), "PFA-HYG-001"); len(got) != 0 {
		t.Errorf("skipped rule ran: %v", got)
	}
	c.Policy, _ = ParsePolicy("p.toml", []byte("[severity]\nPFA-HYG-001 = \"critical\"\n"))
	if got := findingsOf(Run(c), "PFA-HYG-001"); len(got) != 1 || got[0].Severity != Critical {
		t.Errorf("override not applied: %v", got)
	}
	// A role without SASL submission: the submission-only rule stays off.
	c.Policy, _ = ParsePolicy("p.toml", []byte("role = \"mx\"\n"))
	for _, f := range Run(c) {
		if r, _ := Lookup(f.ID); !r.Applies([]string{RoleMX}) {
			t.Errorf("%s ran for role mx", f.ID)
		}
	}
}

package relay

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// expansionErrorRef is expansionError without its shortcuts: every name
// smtpd reads, in sorted order, expanded afresh.
func expansionErrorRef(cfg *postconf.Config, svc *postconf.Service, classes map[string]bool) (string, error) {
	names := map[string]bool{}
	for _, n := range smtpdGlobals {
		names[n] = true
	}
	for n := range cfg.Main.Params {
		if strings.HasPrefix(n, "smtpd_") || classes[n] {
			names[n] = true
		}
	}
	if svc != nil {
		for _, o := range cfg.EffectiveOverrides(svc) {
			if strings.HasPrefix(o.Name, "smtpd_") || slices.Contains(smtpdGlobals, o.Name) || classes[o.Name] {
				names[o.Name] = true
			}
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if _, err := cfg.Expand(svc, n); err != nil {
			return n, err
		}
	}
	return "", nil
}

// TestExpansionError holds expansionError, which answers from the model's
// expansion memo and passes over main.cf values without "$", to the
// reference on every bundled, scenario and corpus configuration and on
// configurations whose bad value hides where the shortcuts look: a
// global, a restriction class, a -o override of a value without "$", a
// value the model has already expanded.
func TestExpansionError(t *testing.T) {
	const smtp = "smtp inet n - y - - smtpd\n"
	type text struct{ name, main, master string }
	texts := []text{
		{"clean", "smtpd_banner = $myhostname ESMTP\n", smtp},
		{"bad smtpd value", "smtpd_helo_required = ${x\n", smtp},
		{"bad global", "relay_domains = ${x\n", smtp},
		{"bad mynetworks", "mynetworks = 0.0.0.0/0 ${x\n", smtp},
		{"bad class", "smtpd_restriction_classes = c\nc = ${x\n", smtp},
		{"bad class after good", "smtpd_restriction_classes = c, d\nc = permit\nd = $c ${y\n", smtp},
		{"override replaces a plain value", "smtpd_tls_security_level = may\n", "smtp inet n - y - - smtpd -o smtpd_tls_security_level=${x\n"},
		{"override of a global", "", "smtp inet n - y - - smtpd -o mydestination=${x\n"},
		{"override repairs a bad value", "smtpd_helo_required = ${x\n", "smtp inet n - y - - smtpd -o smtpd_helo_required=no\n"},
		{"two bad, sorted", "smtpd_sender_restrictions = ${a\nsmtpd_client_restrictions = ${b\n", smtp},
		{"bad restriction list", "smtpd_relay_restrictions = permit_mynetworks ${x, reject_unauth_destination\n", smtp},
		{"bad nested", "a = ${b\nsmtpd_banner = $a\n", smtp},
	}
	type config struct {
		name string
		cfg  *postconf.Config
	}
	var cfgs []config
	for _, tx := range texts {
		m, err := postconf.ParseMainCF("main.cf", []byte("myhostname = mail.example.com\n"+tx.main))
		if err != nil {
			t.Fatal(err)
		}
		ms, err := postconf.ParseMasterCF("master.cf", []byte(tx.master))
		if err != nil {
			t.Fatal(err)
		}
		cfgs = append(cfgs, config{tx.name, postconf.New(m, ms, defaults.Builtin(), "built-in")})
	}
	for _, pat := range []string{"../../testdata/configs/*/main.cf", "../../testdata/scenarios/*/main.cf", "../../testdata/corpus/*/main.cf"} {
		files, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			cfg, err := postconf.LoadDir(filepath.Dir(f), defaults.Builtin(), "built-in")
			if err == nil {
				cfgs = append(cfgs, config{filepath.Dir(f), cfg})
			}
		}
	}
	broken := 0
	for _, c := range cfgs {
		svcs := []*postconf.Service{nil}
		for _, l := range Listeners(c.cfg) {
			svcs = append(svcs, l.Service)
		}
		for _, svc := range svcs {
			m := NewModel(c.cfg, svc, Options{})
			m.Guard() // expands the RCPT lists, as AnalyzeListener does first
			gotName, gotErr := m.expansionError()
			wantName, wantErr := expansionErrorRef(c.cfg, svc, m.classes)
			if gotName != wantName || (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
				t.Errorf("%s (service %v): expansionError = %q, %v; want %q, %v", c.name, svc != nil, gotName, gotErr, wantName, wantErr)
			}
			if wantErr != nil {
				broken++
			}
		}
	}
	if broken < len(texts)-3 {
		t.Errorf("only %d scopes fail to expand: the cases do not reach the failures", broken)
	}
}

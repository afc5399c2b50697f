package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// shareConfigs are configurations whose listeners differ in what the
// shared parts of the models read (address classes, mynetworks, the
// rewriting switches, the host name), so that a Share keyed by too little
// would hand one listener another's answers.
var shareConfigs = []struct{ name, main, master string }{
	{"overrides", `myhostname = mx.example.org
mydestination = $myhostname, localhost
relay_domains = relay.example.net
mynetworks = 127.0.0.0/8 192.0.2.0/24
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
`, `smtp inet n - y - - smtpd
submission inet n - y - - smtpd -o mydestination= -o relay_domains=example.net -o mynetworks=0.0.0.0/0 -o smtpd_relay_restrictions=permit_mynetworks,permit_auth_destination,reject
2525 inet n - y - - smtpd -o myhostname=example.com -o allow_percent_hack=no -o swap_bangpath=no -o resolve_dequoted_address=no -o myorigin=example.net
2626 inet n - y - - smtpd -o parent_domain_matches_subdomains= -o relay_domains=.example -o virtual_alias_domains=example.com
`},
	// The same mydestination and relay_domains values, read with another
	// host name (an address left without a domain gets $myhostname when
	// myorigin is empty) and parent-domain matching.
	{"same lists", `myhostname = mx.example.org
myorigin =
swap_bangpath = no
mydestination = localhost
relay_domains = example
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
`, `smtp inet n - y - - smtpd
2525 inet n - y - - smtpd -o myhostname=other.example.org
2626 inet n - y - - smtpd -o parent_domain_matches_subdomains=
`},
	// Tables pfaudit cannot read: the models' answers rest on assumptions,
	// which every listener's analysis must list as a fresh model would.
	{"assumptions", `myhostname = mx.example.org
mydestination = $myhostname, mysql:/etc/postfix/mydest.cf
relay_domains = ldap:/etc/postfix/relay.cf
virtual_alias_domains = pgsql:/etc/postfix/virt.cf
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
`, `smtp inet n - y - - smtpd
submission inet n - y - - smtpd -o smtpd_relay_restrictions=permit_sasl_authenticated,reject_unauth_destination
2525 inet n - y - - smtpd
`},
	{"fixes", `compatibility_level = 2
myhostname = mx.example.org
mynetworks = 0.0.0.0/0
relay_domains = $mydestination example.com
smtpd_relay_restrictions =
smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_auth_enable = yes
`, `smtp inet n - y - - smtpd
smtps inet n - y - - smtpd -o smtpd_tls_wrappermode=yes -o inet_interfaces=loopback-only -o mydestination=example.net
`},
}

// TestShareSound audits every bundled, scenario and corpus configuration,
// and configurations whose listeners disagree on the shared inputs, twice:
// with the models of the audit sharing through a relay.Share (the fast
// path) and with every model computing everything itself. The reports must
// be identical, byte for byte.
func TestShareSound(t *testing.T) {
	type run struct {
		name string
		load func() (*postconf.Config, error)
	}
	var runs []run
	for _, pat := range []string{"../testdata/configs/*/main.cf", "../testdata/scenarios/*/main.cf", "../testdata/corpus/*/main.cf"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			dir := filepath.Dir(f)
			runs = append(runs, run{dir, func() (*postconf.Config, error) { return postconf.LoadDir(dir, defaults.Builtin(), "built-in") }})
		}
	}
	if len(runs) < 20 {
		t.Fatalf("found only %d configurations", len(runs))
	}
	for _, c := range shareConfigs {
		runs = append(runs, run{c.name, func() (*postconf.Config, error) {
			mc, err := postconf.ParseMainCF("main.cf", []byte(c.main))
			if err != nil {
				return nil, err
			}
			ms, err := postconf.ParseMasterCF("master.cf", []byte(c.master))
			if err != nil {
				return nil, err
			}
			return postconf.New(mc, ms, defaults.Builtin(), "built-in"), nil
		}})
	}
	for _, r := range runs {
		report := func(noShare bool) []byte {
			cfg, err := r.load()
			if err != nil {
				return nil // scenarios that are broken on purpose
			}
			rep, as := Run(context.Background(), cfg, Options{noShare: noShare})
			out, err := json.Marshal(struct {
				Report   any
				Analyses any
			}{rep, as})
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			return out
		}
		fresh, shared := report(true), report(false)
		if !bytes.Equal(fresh, shared) {
			t.Errorf("%s: the shared analyses' report differs from the fresh one:\nshared %s\nfresh  %s", r.name, shared, fresh)
		}
	}
}

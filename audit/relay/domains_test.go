package relay

import (
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

func modelText(t *testing.T, main string) *Model {
	t.Helper()
	m, err := postconf.ParseMainCF("main.cf", []byte(main))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := postconf.ParseMasterCF("master.cf", []byte("smtp inet n - y - - smtpd\n"))
	if err != nil {
		t.Fatal(err)
	}
	return NewModel(postconf.New(m, ms, defaults.Builtin(), "built-in"), nil, Options{})
}

// TestPickDomains: the third party is a reserved name in no address class
// of the configuration (issue 7 item 1), matched as trivial-rewrite
// matches (parent_domain_matches_subdomains included).
func TestPickDomains(t *testing.T) {
	const base = "compatibility_level = 3.6\nmyhostname = mail.example.com\nmydestination = $myhostname, localhost\n"
	cases := []struct {
		name, main     string
		test, sender   string
		relayAll       bool
		noteHas        string
		wantAssumption bool
	}{
		{"nothing hosted", "", "example.net", "example.com", false, "in no address class", false},
		{"example.net in mydestination", "mydestination = $myhostname, example.net, localhost\n", "example.com", "example.org", false, "example.net is hosted here (mydestination)", false},
		{"mydomain example.net", "mydomain = example.net\nmydestination = $myhostname, $mydomain\n", "example.com", "example.org", false, "mydestination", false},
		{"virtual alias domain", "virtual_alias_domains = example.net\n", "example.com", "example.org", false, "virtual_alias_domains", false},
		{"virtual mailbox domain", "virtual_mailbox_domains = example.net example.com\n", "example.org", "relaytest.example", false, "virtual_mailbox_domains", false},
		{"relay domain", "relay_domains = example.net\n", "example.com", "example.org", false, "relay_domains", false},
		// relay_domains is matched with parent_domain_matches_subdomains
		// (default includes it): "net" lists every .net domain.
		{"relay parent domain", "relay_domains = net\n", "example.com", "example.org", false, "example.net is hosted here (relay_domains)", false},
		{"relay parent domain off", "relay_domains = net\nparent_domain_matches_subdomains =\n", "example.net", "example.com", false, "in no address class", false},
		{"dot form", "relay_domains = .net\nparent_domain_matches_subdomains =\n", "example.com", "example.org", false, "relay_domains", false},
		{"everything relayed", "relay_domains = static:ALL\n", "example.net", "example.org", true, "matches every reserved test domain", false},
		{"database table", "virtual_mailbox_domains = mysql:/etc/postfix/vdomains.cf\n", "example.net", "example.com", false, "in no address class", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := modelText(t, base+tc.main)
			d := m.PickDomains()
			if d.Test != tc.test || d.Sender != tc.sender || d.RelayAll != tc.relayAll {
				t.Errorf("got test %s sender %s relayAll %v, want %s %s %v (note: %s)", d.Test, d.Sender, d.RelayAll, tc.test, tc.sender, tc.relayAll, d.Note)
			}
			if !strings.Contains(d.Note, tc.noteHas) {
				t.Errorf("note %q lacks %q", d.Note, tc.noteHas)
			}
			if got := len(m.Assumptions()) > 0; got != tc.wantAssumption {
				t.Errorf("assumptions %q, want some: %v", m.Assumptions(), tc.wantAssumption)
			}
		})
	}
}

// TestResolveRouted follows resolve.c: the routed flag is set whenever the
// resolved local part holds @, ! or %, whatever the class and whatever
// swap_bangpath and allow_percent_hack say (issue 7 item 2).
func TestResolveRouted(t *testing.T) {
	const base = "compatibility_level = 3.6\nmyhostname = mx.example.com\nmydomain = example.com\nmydestination = $myhostname, $mydomain, localhost\nrelay_domains = relayed.example\n"
	const off = "allow_percent_hack = no\nswap_bangpath = no\n"
	cases := []struct {
		main, rcpt string
		class      addrClass
		addr       string
		routed     bool
	}{
		{"", "u@example.net", classDefault, "u@example.net", false},
		{"", "u%example.net@mx.example.com", classDefault, "u@example.net", false},
		{off, "u%example.net@mx.example.com", classLocal, "u%example.net@mx.example.com", true},
		{"", "example.net!u@mx.example.com", classDefault, "u@example.net", false},
		{off, "example.net!u@mx.example.com", classLocal, "example.net!u@mx.example.com", true},
		{"", "u@example.net@mx.example.com", classDefault, "u@example.net", false},
		{off, "u@example.net@mx.example.com", classDefault, "u@example.net", false},
		{"", "u%example.net@relayed.example", classRelay, "u%example.net@relayed.example", true},
		{"", "@mx.example.com:u@example.net", classDefault, "u@example.net", false},
		{"", `"u@example.net"`, classDefault, "u@example.net", false},
		{"resolve_dequoted_address = no\n", `"u@example.net"`, classLocal, `"u@example.net"@mx.example.com`, true},
		{"", "u%example.net@", classDefault, "u@example.net", false},
		{"", "postmaster", classLocal, "postmaster@mx.example.com", false},
	}
	for _, tc := range cases {
		m := modelText(t, base+tc.main)
		r := m.resolve(tc.rcpt)
		if r.unknown != "" || r.class != tc.class || r.addr != tc.addr || r.routed != tc.routed {
			t.Errorf("%s[%s]: got %s %s routed=%v %q, want %s %s routed=%v", tc.rcpt, strings.TrimSpace(tc.main), r.class, r.addr, r.routed, r.unknown, tc.class, tc.addr, tc.routed)
		}
	}
}

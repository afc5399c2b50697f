package postconf

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// testConfig builds a Config from main.cf and master.cf text with the
// built-in defaults of Postfix 3.7.11, as a dump would be (no live host
// values, no directory).
func testConfig(t *testing.T, main, master string) *Config {
	t.Helper()
	m, err := ParseMainCF("main.cf", []byte(main))
	if err != nil {
		t.Fatal(err)
	}
	ms, err := ParseMasterCF("master.cf", []byte(master))
	if err != nil {
		t.Fatal(err)
	}
	return New(m, ms, defaults.Builtin(), "built-in")
}

func TestScopes(t *testing.T) {
	c := testConfig(t, `smtpd_client_restrictions = permit_mynetworks, reject
mua_client_restrictions = permit_sasl_authenticated, reject
smtpd_banner = $myhostname $service_name
`, `smtp inet n - y - - smtpd
submission inet n - y - - smtpd
  -o smtpd_client_restrictions=$mua_client_restrictions
  -o syslog_name=postfix/$service_name
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_security_level=may
relay unix - - n - - smtp -o smtp_helo_name=$process_name
`)
	smtp, sub, relay := c.Master.Services[0], c.Master.Services[1], c.Master.Services[2]
	tests := []struct {
		svc        *Service
		name, want string
		source     Source
	}{
		{nil, "smtpd_client_restrictions", "permit_mynetworks, reject", SourceMainCF},
		{smtp, "smtpd_client_restrictions", "permit_mynetworks, reject", SourceMainCF},
		{sub, "smtpd_client_restrictions", "permit_sasl_authenticated, reject", SourceOverride},
		{sub, "syslog_name", "postfix/submission", SourceOverride},
		{sub, "smtpd_tls_security_level", "may", SourceOverride}, // the last -o wins
		{nil, "smtpd_tls_security_level", "", SourceDefault},
		{nil, "smtpd_banner", "<host: myhostname> ", SourceMainCF}, // service_name is empty outside a service
		{sub, "smtpd_banner", "<host: myhostname> submission", SourceMainCF},
		{relay, "smtp_helo_name", "smtp", SourceOverride},
		{sub, "service_name", "submission", SourceService},
		{relay, "process_name", "smtp", SourceService},
		{nil, "relay_domains", "", SourceDefault}, // compatibility_level 0: $mydestination... see below
	}
	for _, tt := range tests {
		got, err := c.Expand(tt.svc, tt.name)
		if tt.name == "relay_domains" {
			// Level 0 keeps relay_domains = $mydestination.
			tt.want, _ = c.Expand(nil, "mydestination")
		}
		if err != nil || got != tt.want {
			t.Errorf("Expand(%v, %s) = %q, %v; want %q", key(tt.svc), tt.name, got, err, tt.want)
		}
		if v, _ := c.Raw(tt.svc, tt.name); v.Source != tt.source {
			t.Errorf("Raw(%v, %s).Source = %s, want %s", key(tt.svc), tt.name, v.Source, tt.source)
		}
	}
	if v, _ := c.Raw(sub, "smtpd_client_restrictions"); v.Pos != (diag.Pos{File: "master.cf", Line: 3}) {
		t.Errorf("override position %v, want the -o's own line, master.cf:3", v.Pos)
	}
	if v, _ := c.Raw(nil, "smtpd_client_restrictions"); v.Pos != (diag.Pos{File: "main.cf", Line: 1}) {
		t.Errorf("main.cf position %v", v.Pos)
	}
	if _, ok := c.Raw(nil, "no_such_parameter"); ok {
		t.Error("undefined name has a value")
	}
}

func key(s *Service) string {
	if s == nil {
		return "global"
	}
	return s.Key()
}

func TestKnownAndSetNames(t *testing.T) {
	c := testConfig(t, `relay_domains = $my_domains
my_domains = example.com
unused_thing = 1
smtpd_restriction_classes = friends, strangers
friends = permit
strangers = reject
virtual_maps = hash:/etc/postfix/virtual
service_name = nope
mua_x = permit
relay_destination_concurrency_limit = 5
cleanup_destination_concurrency_limit = 5
`, `relay unix - - n - - smtp
cleanup unix n - y - 0 cleanup
uucp unix - n n - - pipe flags=F user=uucp argv=uux
sp unix - n n - - spawn user=nobody argv=/bin/true
sub inet n - y - - smtpd -o smtpd_client_restrictions=$mua_x
`)
	for name, want := range map[string]bool{
		"relay_domains":                         true,  // built in
		"my_domains":                            true,  // referenced from main.cf
		"mua_x":                                 true,  // referenced from a master.cf -o
		"friends":                               true,  // a restriction class
		"strangers":                             true,  // a restriction class
		"unused_thing":                          false, // nothing refers to it
		"virtual_maps":                          true,  // legacy
		"relay_destination_concurrency_limit":   true,  // service-derived (smtp)
		"relay_time_limit":                      false, // only pipe and spawn have it
		"uucp_time_limit":                       true,
		"sp_time_limit":                         true,
		"sp_destination_concurrency_limit":      false,
		"cleanup_destination_concurrency_limit": false, // cleanup delivers nothing
		"local_destination_concurrency_limit":   true,  // built in
	} {
		if got := c.Known(name); got != want {
			t.Errorf("Known(%s) = %v, want %v", name, got, want)
		}
	}
	want := []string{"friends", "mua_x", "my_domains", "relay_destination_concurrency_limit", "relay_domains",
		"smtpd_restriction_classes", "strangers", "virtual_maps"}
	if got := c.SetNames(); !slices.Equal(got, want) {
		t.Errorf("SetNames = %q, want %q", got, want)
	}
	if v, _ := c.Expand(nil, "uucp_time_limit"); v != "1000s" {
		t.Errorf("uucp_time_limit = %q, want the command_time_limit default", v)
	}
	var warned []string
	for _, w := range c.Warnings {
		warned = append(warned, w.Msg)
	}
	for _, w := range []string{"read-only parameter assignment: service_name=nope", "unused parameter: unused_thing=1", "unused parameter: cleanup_destination_concurrency_limit=5"} {
		if !slices.Contains(warned, w) {
			t.Errorf("no warning %q in %q", w, warned)
		}
	}
	if _, set := c.Main.Get("service_name"); set {
		t.Error("read-only assignment kept")
	}
}

func TestRawAndLegacy(t *testing.T) {
	c := testConfig(t, "luser_relay = $user@example.com\nsmtpd_banner = $luser_relay\nfallback_relay = x\n", "")
	if v, _ := c.Expand(nil, "luser_relay"); v != "$user@example.com" {
		t.Errorf("raw parameter expanded: %q", v)
	}
	// Referenced from elsewhere, a raw parameter's value is expanded.
	if v, _ := c.Expand(nil, "smtpd_banner"); v != "@example.com" {
		t.Errorf("smtpd_banner = %q", v)
	}
	all := c.allNames()
	if !slices.Contains(all, "fallback_relay") || slices.Contains(all, "virtual_maps") || slices.Contains(all, "process_id") == false {
		t.Errorf("allNames: fallback_relay %v virtual_maps %v", slices.Contains(all, "fallback_relay"), slices.Contains(all, "virtual_maps"))
	}
}

// TestCheck pins which errors stop postconf before it prints anything
// (checked against postconf 3.7.11 in every mode).
func TestCheck(t *testing.T) {
	tests := []struct {
		name, main, master string
		fails              bool
	}{
		{"clean", "smtpd_banner = $myhostname\n", "", false},
		{"broken built-in", "smtpd_banner = ${{a}==level{3}}\n", "", true},
		{"unparsable compatibility_level breaks the live mynetworks default", "compatibility_level = abc\n", "live", true},
		{"unparsable compatibility_level in a dump", "compatibility_level = abc\n", "", false},
		{"unparsable compatibility_level with mynetworks set", "compatibility_level = abc\nmynetworks = 10.0.0.0/8\n", "", false},
		{"unparsable compatibility_level with mynetworks_style set", "compatibility_level = 3.\nmynetworks_style = host\n", "", false},
		{"broken user parameter in use", "mua = ${{a}==level{3}}\nsmtpd_client_restrictions = $mua\n", "", true},
		{"broken unused user parameter", "mua = ${{a}==level{3}}\nfoo = $mua\n", "", false},
		{"syntax error in an unused parameter", "foo = ${bad\n", "", false},
		{"self-reference in use", "smtpd_client_restrictions = $c1\nc1 = $c1\n", "", true},
		{"broken raw parameter", "luser_relay = ${{a}==level{3}}\n", "", false},
		{"broken legacy parameter", "virtual_maps = ${{a}==level{3}}\n", "", false},
		{"broken restriction class", "smtpd_restriction_classes = c1\nc1 = ${{a}==level{3}}\n", "", false},
		{"broken restriction class list", "smtpd_restriction_classes = $cls\ncls = ${{a}==level{b}}\n", "", true},
		{"broken service-derived", "relay_destination_concurrency_limit = ${{a}==level{3}}\n", "relay unix - - n - - smtp\n", true},
		{"broken -o built-in", "", "relay unix - - n - - smtp -o smtpd_banner=${{a}==level{3}}\n", true},
		{"-o built-in using a broken main.cf parameter", "mua = ${{a}==level{3}}\n", "relay unix - - n - - smtp -o smtpd_banner=$mua\n", true},
		{"broken -o user parameter", "", "relay unix - - n - - smtp -o mua=${{a}==level{3}}\n", false},
		{"broken -o raw parameter", "", "relay unix - - n - - smtp -o luser_relay=${{a}==level{3}}\n", false},
		{"broken -o legacy parameter", "", "relay unix - - n - - smtp -o virtual_maps=${{a}==level{3}}\n", false},
		{"-o mynetworks_style is not used", "", "relay unix - - n - - smtp -o mynetworks_style=bogus\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			master := tt.master
			live := master == "live"
			if live {
				master = ""
			}
			c := testConfig(t, tt.main, master)
			c.LiveDefaults = live
			_, err := c.Check()
			if (err != nil) != tt.fails {
				t.Fatalf("Check() = %v, want failure %v", err, tt.fails)
			}
			if _, qerr := c.Query(ViewOptions{NonDefault: true}); (qerr != nil) != tt.fails {
				t.Errorf("Query(-n) = %v, want failure %v", qerr, tt.fails)
			}
		})
	}
}

func TestCheckUndefined(t *testing.T) {
	c := testConfig(t, "smtpd_client_restrictions = $nowhere, $mua\nmua = x\n", "s inet n - n - - smtpd -o a=$local_only -o local_only=1 -o b=$elsewhere\n")
	warns, err := c.Check()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range warns {
		got = append(got, w.String())
	}
	want := []string{"master.cf: undefined parameter: elsewhere", "main.cf: undefined parameter: nowhere"}
	if !slices.Equal(got, want) {
		t.Errorf("warnings %q, want %q", got, want)
	}
}

// TestDuplicateServices: postconf keeps one -o name space per name/type;
// an entry sees it once it or an earlier entry has a -o setting.
func TestDuplicateServices(t *testing.T) {
	c := testConfig(t, "", `relay unix - - n - - smtp
relay unix - - n - - smtp -o a_x=1
relay unix - - n - - smtp -o b_x=2
`)
	var got []string
	for _, s := range c.Master.Services {
		var names []string
		for _, o := range c.EffectiveOverrides(s) {
			names = append(names, o.Name)
		}
		got = append(got, strings.Join(names, ","))
	}
	if want := []string{"", "a_x,b_x", "a_x,b_x"}; !slices.Equal(got, want) {
		t.Errorf("name spaces %q, want %q", got, want)
	}
	v, err := c.Query(ViewOptions{Services: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Entries) != 4 {
		t.Errorf("-P entries %v", v.Entries)
	}
}

func TestQueryViews(t *testing.T) {
	c := testConfig(t, "mydestination = $myhostname, localhost\nmua = permit_sasl_authenticated\n",
		"submission inet n - y - - smtpd -o smtpd_client_restrictions=$mua -o syslog_name=postfix/$service_name\n")
	texts := func(o ViewOptions) []string {
		v, err := c.Query(o)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range v.Entries {
			out = append(out, e.Text)
		}
		return out
	}
	if got, want := texts(ViewOptions{NonDefault: true}), []string{"mua = permit_sasl_authenticated", "mydestination = $myhostname, localhost"}; !slices.Equal(got, want) {
		t.Errorf("-n = %q, want %q", got, want)
	}
	if got, want := texts(ViewOptions{NonDefault: true, Expand: true}), []string{"mua = permit_sasl_authenticated", "mydestination = <host: myhostname>, localhost"}; !slices.Equal(got, want) {
		t.Errorf("-nx = %q, want %q", got, want)
	}
	if got, want := texts(ViewOptions{Expand: true, Params: []string{"mua", "nosuch", "syslog_name"}}), []string{"mua = permit_sasl_authenticated", "syslog_name = ${multi_instance_name?{$multi_instance_name}:{postfix}}"}; len(got) != 2 || got[0] != want[0] {
		t.Errorf("-x PARAMS = %q", got)
	}
	if got, want := texts(ViewOptions{Services: true, Expand: true}), []string{"submission/inet/smtpd_client_restrictions = permit_sasl_authenticated", "submission/inet/syslog_name = postfix/submission"}; !slices.Equal(got, want) {
		t.Errorf("-Px = %q, want %q", got, want)
	}
	if got, want := texts(ViewOptions{Master: true, Expand: true}), []string{"submission inet  n       -       y       -       -       smtpd -o smtpd_client_restrictions=permit_sasl_authenticated -o syslog_name=postfix/submission"}; !slices.Equal(got, want) {
		t.Errorf("-Mx = %q, want %q", got, want)
	}
	if got, want := texts(ViewOptions{Service: "submission/inet", Expand: true, Params: []string{"smtpd_client_restrictions"}}), []string{"smtpd_client_restrictions = permit_sasl_authenticated"}; !slices.Equal(got, want) {
		t.Errorf("--service = %q, want %q", got, want)
	}
	if _, err := c.Query(ViewOptions{Service: "nosuch/inet"}); err == nil {
		t.Error("unknown --service accepted")
	}
}

func TestLoadDir(t *testing.T) {
	dir := t.TempDir()
	if _, err := LoadDir(filepath.Join(dir, "missing"), defaults.Builtin(), "built-in"); !errors.Is(err, ErrNoConfigDir) {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := LoadDir(dir, defaults.Builtin(), "built-in"); !errors.Is(err, ErrNoConfigDir) {
		t.Errorf("missing main.cf: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte("myhostname = mx.example.com\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadDir(dir, defaults.Builtin(), "built-in")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Master.Services) != 0 || len(c.Warnings) == 0 || !strings.Contains(c.Warnings[0].Msg, "master.cf") {
		t.Errorf("missing master.cf: %v", c.Warnings)
	}
	// Live defaults: mydomain follows myhostname; config_directory is DIR.
	if v, _ := c.Expand(nil, "mydomain"); v != "example.com" {
		t.Errorf("mydomain = %q", v)
	}
	if v, _ := c.Expand(nil, "config_directory"); v != dir {
		t.Errorf("config_directory = %q, want %q", v, dir)
	}
	if got := c.SetNames(); !slices.Equal(got, []string{"config_directory", "myhostname"}) {
		t.Errorf("SetNames = %q", got)
	}
}

func TestLiveDefaults(t *testing.T) {
	dir := t.TempDir()
	write := func(main string) *Config {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "main.cf"), []byte(main), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "master.cf"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadDir(dir, defaults.Builtin(), "built-in")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	host, err := defaults.Hostname()
	if err != nil {
		t.Skip(err)
	}
	short, _, _ := strings.Cut(host, ".")
	if short != host {
		t.Skipf("host name %q has a domain; the cases below need a short one", host)
	}
	tests := []struct {
		main, name, want string
	}{
		{"mydomain = example.org\n", "myhostname", short + ".example.org"},
		{"myhostname = mail.$mydomain\n", "myhostname", "mail."}, // mydomain is unset in main.cf
		{"myhostname = mail.$mydomain\n", "mydomain", ""},
		{"mydomain = $mail_name.org\n", "myhostname", short + "..org"}, // main.cf-only lookup
		{"mydomain = $mail_name.org\n", "mydomain", "Postfix.org"},
		{"myhostname = $mydomain\n", "mydomain", "localdomain"},
		{"mynetworks_style = host\ninet_interfaces = 127.0.0.1\n", "mynetworks", "127.0.0.1/32 "},
		{"mynetworks_style = $s\ns = host\ninet_interfaces = loopback-only\ninet_protocols = ipv4\n", "mynetworks", "127.0.0.1/32 "},
	}
	for _, tt := range tests {
		c := write(tt.main)
		got, err := c.Expand(nil, tt.name)
		if err != nil || got != tt.want {
			t.Errorf("%q: %s = %q, %v; want %q", tt.main, tt.name, got, err, tt.want)
		}
	}
	c := write("mynetworks_style = bogus\n")
	if _, err := c.Check(); err == nil {
		t.Error("bad mynetworks_style accepted")
	}
	c = write("mynetworks_style = bogus\nmynetworks = 10.0.0.0/8\n")
	if _, err := c.Check(); err != nil {
		t.Errorf("mynetworks set: %v", err)
	}
}

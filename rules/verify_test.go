package rules

import (
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

func TestShellWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{in: "postconf -e 'mynetworks = 127.0.0.0/8 [::1]/128'", want: []string{"postconf", "-e", "mynetworks = 127.0.0.0/8 [::1]/128"}},
		{in: `postconf -c '/srv/it'\''s' -X soft_bounce`, want: []string{"postconf", "-c", "/srv/it's", "-X", "soft_bounce"}},
		{in: `postconf -e "a = \$b"`, want: []string{"postconf", "-e", "a = $b"}},
		{in: "postconf -e 'a = b", err: true},
		{in: "postconf -e x; rm -rf /", err: true},
		{in: "  ", want: nil},
	} {
		got, err := shellWords(tc.in)
		if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestSimulate applies each kind of command pfaudit writes to an
// in-memory copy and checks the effective settings; the original stays as
// it was.
func TestSimulate(t *testing.T) {
	const main = "compatibility_level = 3.6\nmynetworks = 0.0.0.0/0\nsoft_bounce = yes\nsmtpd_banner = a\nsmtpd_banner = b\n"
	const master = "smtp inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n  -o syslog_name=postfix/smtp\n10025 inet n - n - - smtpd\n  -o content_filter=\n"
	cfg := buildConfig(t, main, master, "/srv/pf")
	// A copy of another server's files: the patched configuration must
	// read the files the original reads, not this host's.
	cfg.Files = postconf.FileAccess{Root: "/srv/copy-of-mx1"}
	type check struct {
		svc, name, want string
	}
	for _, tc := range []struct {
		name   string
		cmds   []string
		checks []check
		keys   []string // master.cf entries afterwards (nil: not checked)
		err    string
	}{
		{name: "main.cf set, add and remove",
			cmds:   []string{"postconf -c /srv/pf -e 'mynetworks = 127.0.0.0/8 [::1]/128'", "postconf -c /srv/pf -e 'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination'", "postconf -c /srv/pf -X soft_bounce", "postconf -c /srv/pf -e 'smtpd_banner = c'"},
			checks: []check{{"", "mynetworks", "127.0.0.0/8 [::1]/128"}, {"", "smtpd_relay_restrictions", "permit_mynetworks, reject_unauth_destination"}, {"", "soft_bounce", "no"}, {"", "smtpd_banner", "c"}}},
		{name: "-P replaces and adds, -PX removes",
			cmds:   []string{"postconf -c /srv/pf -P 'smtp/inet/smtpd_sasl_auth_enable=no'", "postconf -c /srv/pf -P 'smtp/inet/mynetworks=127.0.0.0/8'", "postconf -c /srv/pf -PX 'smtp/inet/syslog_name'"},
			checks: []check{{"smtp/inet", "smtpd_sasl_auth_enable", "no"}, {"smtp/inet", "mynetworks", "127.0.0.0/8"}, {"smtp/inet", "syslog_name", "postfix"}}},
		{name: "-M renames, -MX removes",
			cmds:   []string{"postconf -c /srv/pf -M '127.0.0.1:10025/inet = 127.0.0.1:10025 inet n - n - - smtpd -o content_filter= -o mynetworks=127.0.0.0/8'", "postconf -c /srv/pf -MX '10025/inet'"},
			checks: []check{{"127.0.0.1:10025/inet", "mynetworks", "127.0.0.0/8"}},
			keys:   []string{"smtp/inet", "127.0.0.1:10025/inet"}},
		{name: "-M replaces in place",
			cmds:   []string{"postconf -c /srv/pf -M 'smtp/inet = smtp inet n - y - - smtpd -o smtpd_sasl_auth_enable=no'"},
			checks: []check{{"smtp/inet", "smtpd_sasl_auth_enable", "no"}, {"smtp/inet", "syslog_name", "postfix"}},
			keys:   []string{"smtp/inet", "10025/inet"}},
		{name: "table files change no setting",
			cmds:   []string{"touch /srv/pf/sender_login", "postmap -c /srv/pf /srv/pf/sender_login", "postconf -c /srv/pf -e 'smtpd_sender_login_maps = hash:/srv/pf/sender_login'"},
			checks: []check{{"", "smtpd_sender_login_maps", "hash:/srv/pf/sender_login"}}},
		{name: "another directory", cmds: []string{"postconf -e 'soft_bounce = no'"}, err: "not the audited /srv/pf"},
		{name: "no such entry", cmds: []string{"postconf -c /srv/pf -P 'submission/inet/mynetworks=127.0.0.0/8'"}, err: "no master.cf entry submission/inet"},
		{name: "foreign command", cmds: []string{"sed -i s/a/b/ /srv/pf/main.cf"}, err: "cannot model the command"},
		{name: "foreign postconf edit", cmds: []string{"postconf -c /srv/pf -# soft_bounce"}, err: "cannot model postconf -#"},
		{name: "entry under another name", cmds: []string{"postconf -c /srv/pf -M 'smtp/inet = 2525 inet n - y - - smtpd'"}, err: "the entry is 2525/inet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := simulate(cfg, tc.cmds)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.cfg.Files != cfg.Files || s.cfg.Dir != cfg.Dir || s.cfg.LiveDefaults != cfg.LiveDefaults {
				t.Errorf("patched configuration reads files %+v in %q (live %v), the original %+v in %q (live %v)", s.cfg.Files, s.cfg.Dir, s.cfg.LiveDefaults, cfg.Files, cfg.Dir, cfg.LiveDefaults)
			}
			for _, c := range tc.checks {
				var svc *postconf.Service
				if c.svc != "" {
					if svc = s.cfg.Master.Lookup(c.svc); svc == nil {
						t.Fatalf("no %s after the edit", c.svc)
					}
				}
				if got, _ := s.cfg.Expand(svc, c.name); got != c.want {
					t.Errorf("%s %s = %q, want %q", c.svc, c.name, got, c.want)
				}
			}
			if tc.keys != nil {
				var keys []string
				for _, x := range s.cfg.Master.Services {
					keys = append(keys, x.Key())
				}
				if !slices.Equal(keys, tc.keys) {
					t.Errorf("entries %q, want %q", keys, tc.keys)
				}
			}
		})
	}
	// The original is untouched.
	if v, _ := cfg.Expand(nil, "mynetworks"); v != "0.0.0.0/0" {
		t.Errorf("original mynetworks changed: %q", v)
	}
	if v, _ := cfg.Expand(cfg.Master.Lookup("smtp/inet"), "smtpd_sasl_auth_enable"); v != "yes" {
		t.Errorf("original -o changed: %q", v)
	}
	if len(cfg.Master.Services) != 2 || cfg.Main.Params["smtpd_banner"].Value != "b" {
		t.Errorf("original master.cf or main.cf changed")
	}
}

// shipped are the configurations under testdata/scenarios and
// testdata/configs.
func shipped(t *testing.T) []string {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join("..", "testdata", "scenarios", "*"))
	more, _ := filepath.Glob(filepath.Join("..", "testdata", "configs", "*"))
	var out []string
	for _, d := range append(dirs, more...) {
		if _, err := os.Stat(filepath.Join(d, "main.cf")); err == nil {
			out = append(out, d)
		}
	}
	if len(out) < 40 {
		t.Fatalf("only %d configurations found", len(out))
	}
	return out
}

// TestShippedFixesVerify: every finding with a fix, on every shipped
// configuration, offline and as this host's own configuration (with a
// public address of its own, so the this-host class is modelled), passes
// the verification; Run shows them all as commands.
func TestShippedFixesVerify(t *testing.T) {
	n := 0
	for _, dir := range shipped(t) {
		for _, opt := range []relay.Options{{}, {LocalAddrs: []netip.Addr{mustAddr("127.0.0.1"), mustAddr("198.51.100.25")}}} {
			live := len(opt.LocalAddrs) > 0
			t.Run(filepath.Base(dir)+map[bool]string{false: "/offline", true: "/live"}[live], func(t *testing.T) {
				cfg, err := postconf.LoadDir(dir, defaults.Builtin(), "built-in")
				if err != nil {
					t.Fatal(err)
				}
				c := &Context{Cfg: cfg, Analyses: relay.Analyze(cfg, opt), Relay: opt}
				v := &verifier{c: c}
				for _, r := range Catalogue() {
					fs := checks[r.ID](c)
					for _, f := range fs {
						if len(f.Remediation) == 0 {
							continue
						}
						n++
						f.ID = r.ID
						if why := v.verifyFix(f, checks[r.ID], fs); why != "" {
							t.Errorf("%s %s %s: %s\n  fix %q", r.ID, f.Service, f.Parameter, why, f.Remediation)
						}
					}
				}
				for _, f := range Run(c) {
					if strings.Contains(f.Message, noVerifiedFix) {
						t.Errorf("Run: %s %s: %s", f.ID, f.Service, f.Message)
					}
				}
			})
		}
	}
	if n < 200 {
		t.Errorf("only %d fixes verified", n)
	}
}

const verifiedMain = "compatibility_level = 3.6\nmyhostname = mx.example.com\nmydomain = example.com\nmydestination = $myhostname, localhost\n"

// TestVerifyRejects: hand-made fixes that a naive rule could write, and
// why each is refused.
func TestVerifyRejects(t *testing.T) {
	guard := "postconf -e 'smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination'"
	for _, tc := range []struct {
		name, main, master string
		id                 string
		fix                []string
		want               string // "" = verifies
	}{
		{name: "narrowing mynetworks keeps loopback", id: "PFA-RELAY-005",
			main: verifiedMain + "mynetworks = 0.0.0.0/0\n",
			fix:  []string{"postconf -e 'mynetworks = 127.0.0.0/8'"}},
		{name: "narrowing mynetworks drops loopback", id: "PFA-RELAY-005",
			main: verifiedMain + "mynetworks = 0.0.0.0/0\n",
			fix:  []string{"postconf -e 'mynetworks = 192.0.2.0/24'"},
			want: "stop the trusted loopback client"},
		{name: "the guard alone leaves relay_domains matching everything", id: "PFA-RELAY-001",
			main: verifiedMain + "mynetworks = 127.0.0.0/8\nrelay_domains = static:ALL\nsmtpd_relay_restrictions = permit\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n",
			fix:  []string{guard},
			want: "does not remove the finding"},
		{name: "the guard and relay_domains together", id: "PFA-RELAY-001",
			main: verifiedMain + "mynetworks = 127.0.0.0/8\nrelay_domains = static:ALL\nsmtpd_relay_restrictions = permit\nsmtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination\n",
			fix:  []string{guard, "postconf -e 'relay_domains = '"}},
		{name: "a guard that forgets mynetworks", id: "PFA-RELAY-001",
			main: verifiedMain + "mynetworks = 127.0.0.0/8 192.0.2.0/24\nsmtpd_relay_restrictions = permit_mynetworks, check_client_access static:OK, reject_unauth_destination\n",
			fix:  []string{"postconf -e 'smtpd_relay_restrictions = reject_unauth_destination'"},
			want: "stop the trusted loopback client"},
		{name: "a guard that forgets mynetworks, hole first", id: "PFA-RELAY-001",
			main: verifiedMain + "mynetworks = 127.0.0.0/8 192.0.2.0/24\nsmtpd_relay_restrictions = check_client_access static:OK, permit_mynetworks, reject_unauth_destination\n",
			fix:  []string{"postconf -e 'smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination'"},
			want: "stop the trusted loopback client"},
		{name: "the guard pfaudit writes for that hole", id: "PFA-RELAY-001",
			main: verifiedMain + "mynetworks = 127.0.0.0/8 192.0.2.0/24\nsmtpd_relay_restrictions = check_client_access static:OK, permit_mynetworks, reject_unauth_destination\n",
			fix:  []string{guard}},
		{name: "an unrelated fix that removes the guard", id: "PFA-EXP-003",
			main: verifiedMain + "mynetworks = 127.0.0.0/8\ndisable_vrfy_command = no\n",
			fix:  []string{"postconf -e 'disable_vrfy_command = yes'", "postconf -e 'smtpd_relay_restrictions = permit_mynetworks'"},
			want: "would break smtp/inet"},
		{name: "an unrelated fix that opens the relay", id: "PFA-EXP-003",
			main: verifiedMain + "mynetworks = 127.0.0.0/8\ndisable_vrfy_command = no\n",
			fix:  []string{"postconf -e 'disable_vrfy_command = yes'", "postconf -e 'mynetworks = 0.0.0.0/0'"},
			want: "leave smtp/inet open"},
		{name: "turning SASL off on port 25 drops that trust on purpose", id: "PFA-EXP-002",
			main:   verifiedMain + "mynetworks = 127.0.0.0/8\n",
			master: "smtp inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n",
			fix:    []string{"postconf -P 'smtp/inet/smtpd_sasl_auth_enable=no'"}},
		{name: "a command pfaudit cannot model", id: "PFA-EXP-003",
			main: verifiedMain + "disable_vrfy_command = no\n",
			fix:  []string{"sed -i 's/^disable_vrfy_command.*/disable_vrfy_command = yes/' /etc/postfix/main.cf"},
			want: "could not be checked"},
		{name: "an entry that does not exist", id: "PFA-EXP-003",
			main: verifiedMain + "disable_vrfy_command = no\n",
			fix:  []string{"postconf -P 'submission/inet/disable_vrfy_command=yes'"},
			want: "no master.cf entry submission/inet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := buildConfig(t, tc.main, tc.master, DefaultConfigDir)
			c := &Context{Cfg: cfg, Analyses: relay.Analyze(cfg, relay.Options{})}
			fs := checks[tc.id](c)
			if len(fs) == 0 {
				t.Fatalf("%s does not fire", tc.id)
			}
			f := fs[0]
			f.Remediation = tc.fix
			got := (&verifier{c: c}).verifyFix(f, checks[tc.id], fs)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("verifyFix = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRunDropsUnverifiedFix: Run prints no command for a fix that fails,
// keeps the finding and says why.
func TestRunDropsUnverifiedFix(t *testing.T) {
	saved := checks["PFA-EXP-003"]
	defer func() { checks["PFA-EXP-003"] = saved }()
	checks["PFA-EXP-003"] = func(c *Context) []Finding {
		fs := saved(c)
		for i := range fs {
			fs[i].Remediation = append(fs[i].Remediation, c.mainSet("mynetworks", "0.0.0.0/0"))
		}
		return fs
	}
	cfg := buildConfig(t, verifiedMain+"mynetworks = 127.0.0.0/8\ndisable_vrfy_command = no\n", "", "")
	c := &Context{Cfg: cfg, Analyses: relay.Analyze(cfg, relay.Options{})}
	got := findingsOf(Run(c), "PFA-EXP-003")
	if len(got) != 1 {
		t.Fatalf("want one PFA-EXP-003 finding, got:\n%s", dumpFindings(got))
	}
	f := got[0]
	if len(f.Remediation) != 0 || f.Apply != "" || !strings.Contains(f.Message, noVerifiedFix+": the fix would leave smtp/inet open") {
		t.Errorf("unverified fix shown: %s", dumpFindings(got))
	}
	if !strings.HasPrefix(f.Message, "VRFY is enabled") {
		t.Errorf("the finding lost its words: %q", f.Message)
	}
}

// TestClaims: "lets anyone relay" stays only where an untrusted client
// relays in the model.
func TestClaims(t *testing.T) {
	for _, tc := range []struct {
		name, main string
		id         string
		hedged     bool
		severity   Severity
	}{
		{name: "mynetworks permits everyone", id: "PFA-RELAY-005", main: verifiedMain + "mynetworks = 0.0.0.0/0\n", severity: Critical},
		{name: "mynetworks everyone but no permit_mynetworks", id: "PFA-RELAY-005", hedged: true, severity: High,
			main: verifiedMain + "mynetworks = 0.0.0.0/0\nsmtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination\n"},
		{name: "relay_domains everything", id: "PFA-RELAY-020", main: verifiedMain + "mynetworks = 127.0.0.0/8\nrelay_domains = static:ALL\n", severity: Critical},
		{name: "relay_domains everything behind a reject", id: "PFA-RELAY-020", hedged: true, severity: High,
			main: verifiedMain + "mynetworks = 127.0.0.0/8\nrelay_domains = static:ALL\nsmtpd_recipient_restrictions = permit_mynetworks, reject\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := buildConfig(t, tc.main, "", "")
			c := &Context{Cfg: cfg, Analyses: relay.Analyze(cfg, relay.Options{})}
			got := findingsOf(Run(c), tc.id)
			if len(got) == 0 {
				t.Fatalf("%s does not fire", tc.id)
			}
			f := got[0]
			hedged := strings.Contains(f.Message, "the relay model finds no untrusted client that relays")
			if hedged != tc.hedged || f.Severity != tc.severity {
				t.Errorf("hedged %v severity %s, want %v %s: %s", hedged, f.Severity, tc.hedged, tc.severity, f.Message)
			}
			if tc.hedged && regexp.MustCompile(`\blets anyone relay|this host relays for anyone`).MatchString(f.Message) {
				t.Errorf("claim kept: %s", f.Message)
			}
		})
	}
}

// TestRelayNeutralUnread keeps relayNeutral honest: the relay model's
// source names none of those settings, and only built-in defaults the
// model does not read either refer to one.
func TestRelayNeutralUnread(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "audit", "relay", "*.go"))
	if len(files) == 0 {
		t.Fatal("no relay model sources")
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range []map[string]bool{relayNeutral, neutralReaders} {
			for n := range set {
				if strings.Contains(string(b), n) {
					t.Errorf("%s reads %s: remove it from relayNeutral", f, n)
				}
			}
		}
	}
	d := defaults.Builtin()
	for _, name := range d.Names() {
		v, _ := d.Raw(name)
		_ = postconf.ScanNames(v, func(ref string) {
			if relayNeutral[ref] && !neutralReaders[name] {
				t.Errorf("the default of %s refers to %s", name, ref)
			}
		})
	}
}

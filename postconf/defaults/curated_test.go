package defaults

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestCuratedMatchesBuiltin: the hand-written table agrees with the
// generated one, and every entry is documented.
func TestCuratedMatchesBuiltin(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Curated() {
		if seen[p.Name] {
			t.Errorf("%s listed twice", p.Name)
		}
		seen[p.Name] = true
		raw, ok := Builtin().Raw(p.Name)
		if !ok || !Builtin().Listed(p.Name) {
			t.Errorf("%s: not a listed built-in parameter", p.Name)
		}
		if raw != p.Default {
			t.Errorf("%s: curated default %q, generated %q", p.Name, p.Default, raw)
		}
		if len(p.Doc) < 10 || !strings.HasPrefix(p.Ref, "postconf(5)") {
			t.Errorf("%s: doc %q ref %q", p.Name, p.Doc, p.Ref)
		}
		if got, ok := CuratedParam(p.Name); !ok || got != p {
			t.Errorf("CuratedParam(%s) = %v, %v", p.Name, got, ok)
		}
	}
	if _, ok := CuratedParam("smtp_helo_name"); ok {
		t.Error("CuratedParam of an uncurated name")
	}
}

// TestCuratedMatchesPostconf: every curated default is what `postconf -d
// NAME` prints on this machine; derived ones equal Live with an empty
// configuration.
func TestCuratedMatchesPostconf(t *testing.T) {
	pc := needPostconf(t)
	dir := configDir(t, "")
	var names []string
	for _, p := range Curated() {
		names = append(names, p.Name)
	}
	out, err := postconfOut(t, pc, append([]string{"-c", dir, "-d"}, names...)...)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		n, v, err := splitLine(line)
		if err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		got[n] = v
	}
	for _, p := range Curated() {
		pv, ok := got[p.Name]
		if !ok {
			t.Errorf("postconf -d did not print %s", p.Name)
			continue
		}
		want := p.Default
		if HostDerived(p.Name) {
			want, err = Builtin().Live(context.Background(), p.Name, nil)
			if err != nil {
				t.Errorf("Live(%s): %v", p.Name, err)
				continue
			}
		}
		if pv != want {
			t.Errorf("%s: postconf -d %q, pfaudit %q", p.Name, pv, want)
		}
	}
}

// TestCuratedCoversChecks: the parameters the reference notes
// (postfix-semantics.md, rules-research.md) and the issue name are curated.
func TestCuratedCoversChecks(t *testing.T) {
	need := []string{
		"compatibility_level", "smtpd_relay_restrictions", "smtpd_recipient_restrictions",
		"smtpd_client_restrictions", "smtpd_helo_restrictions", "smtpd_sender_restrictions",
		"smtpd_data_restrictions", "smtpd_relay_before_recipient_restrictions",
		"smtpd_restriction_classes", "relay_domains", "relay_recipient_maps", "mynetworks",
		"mynetworks_style", "mydestination", "myhostname", "mydomain", "inet_interfaces",
		"proxy_interfaces", "inet_protocols", "virtual_alias_domains", "virtual_mailbox_domains",
		"allow_untrusted_routing", "allow_percent_hack", "swap_bangpath",
		"resolve_dequoted_address", "resolve_null_domain", "smtpd_sasl_auth_enable",
		"smtpd_sasl_security_options", "smtpd_sasl_type", "broken_sasl_auth_clients",
		"smtpd_sender_login_maps", "smtpd_tls_auth_only", "smtpd_tls_security_level",
		"smtpd_tls_wrappermode", "smtpd_authorized_xclient_hosts",
		"smtpd_authorized_xforward_hosts", "permit_mx_backup_networks", "smtpd_error_sleep_time",
		"smtpd_soft_error_limit", "smtpd_hard_error_limit", "soft_bounce",
		"relay_domains_reject_code", "unknown_relay_recipient_reject_code",
		"disable_vrfy_command", "smtpd_banner", "parent_domain_matches_subdomains",
		"tls_append_default_CA", "relay_clientcerts", "postscreen_access_list",
		"postscreen_upstream_proxy_protocol", "smtpd_upstream_proxy_protocol",
		"strict_rfc821_envelopes", "append_at_myorigin", "smtpd_reject_unlisted_recipient",
		"content_filter", "receive_override_options", "mail_version",
	}
	for _, n := range need {
		if _, ok := CuratedParam(n); !ok {
			t.Errorf("%s is not curated", n)
		}
	}
}

func TestLevelDependent(t *testing.T) {
	want := []string{
		"append_dot_mydomain", "mynetworks_style", "relay_domains",
		"smtpd_relay_before_recipient_restrictions", "smtpd_relay_restrictions",
		"smtpd_tls_fingerprint_digest",
	}
	var got []string
	for _, p := range Curated() {
		if p.LevelDependent() {
			got = append(got, p.Name)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("level-dependent curated parameters = %q, want %q", got, want)
	}
}

func ExampleCuratedParam() {
	p, _ := CuratedParam("relay_domains")
	for _, level := range []string{"0", "2"} {
		v, _ := ResolveForLevel(p.Default, level)
		fmt.Printf("level %s: relay_domains = %s\n", level, v)
	}
	// Output:
	// level 0: relay_domains = $mydestination
	// level 2: relay_domains =
}

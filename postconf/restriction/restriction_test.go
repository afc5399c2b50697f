package restriction_test

import (
	"reflect"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/restriction"
)

func TestLookup(t *testing.T) {
	for _, c := range []struct {
		name     string
		known    bool
		arg      restriction.Arg
		guard    bool
		replaced string
	}{
		{"permit_mynetworks", true, restriction.NoArg, false, ""},
		{"PERMIT_MYNETWORKS", true, restriction.NoArg, false, ""}, // strcasecmp
		{"reject_unauth_destination", true, restriction.NoArg, true, ""},
		{"defer_unauth_destination", true, restriction.NoArg, true, ""},
		{"check_relay_domains", true, restriction.NoArg, true, ""},
		{"reject", true, restriction.NoArg, true, ""},
		{"defer", true, restriction.NoArg, true, ""},
		{"defer_if_permit", true, restriction.NoArg, true, ""},
		{"defer_if_reject", true, restriction.NoArg, false, ""},
		{"warn_if_reject", true, restriction.NoArg, false, ""},
		{"reject_unknown_address", true, restriction.NoArg, false, "reject_unknown_sender_domain"},
		{"check_recipient_maps", true, restriction.NoArg, false, "reject_unlisted_recipient"},
		{"reject_maps_rbl", true, restriction.NoArg, false, "reject_rbl_client"},
		{"reject_rbl", true, restriction.Domain, false, "reject_rbl_client"},
		{"check_client_access", true, restriction.Table, false, ""},
		{"check_etrn_access", true, restriction.Table, false, ""},
		{"check_policy_service", true, restriction.Service, false, ""},
		{"sleep", true, restriction.Seconds, false, ""},
		{"reject_rhsbl_reverse_client", true, restriction.Domain, false, ""},
		{"reject_sender_login_mismatch", true, restriction.NoArg, false, ""},
		// The built-in class is found with htable_find: exact case only.
		{"REJECT_SENDER_LOGIN_MISMATCH", false, 0, false, ""},
		// Not smtpd 3.7 names: smtpd answers 451 4.3.5.
		{"reject_dnsbl_client", false, 0, false, ""},
		{"permit_auth_destination_routed", false, 0, false, ""},
		{"reject_unauth_destiantion", false, 0, false, ""},
		{"check_client_access_map", false, 0, false, ""},
		{"hash:/etc/postfix/access", false, 0, false, ""},
		{"", false, 0, false, ""},
	} {
		i, ok := restriction.Lookup(c.name)
		if ok != c.known {
			t.Errorf("Lookup(%q) known = %v, want %v", c.name, ok, c.known)
			continue
		}
		if restriction.Known(c.name) != c.known {
			t.Errorf("Known(%q) = %v, want %v", c.name, !c.known, c.known)
		}
		if !ok {
			continue
		}
		if i.Arg != c.arg || restriction.TakesArg(c.name) != (c.arg != restriction.NoArg) {
			t.Errorf("%s: arg %v, want %v", c.name, i.Arg, c.arg)
		}
		if i.Guard != c.guard || restriction.IsGuard(c.name) != c.guard {
			t.Errorf("%s: guard %v, want %v", c.name, i.Guard, c.guard)
		}
		if i.Replaced != c.replaced {
			t.Errorf("%s: replaced by %q, want %q", c.name, i.Replaced, c.replaced)
		}
	}
}

func TestListInvariants(t *testing.T) {
	all := restriction.All()
	if len(all) != 78 {
		// 77 names compared in generic_checks() of Postfix 3.7 (with
		// warn_if_reject) plus the built-in class.
		t.Errorf("%d names, want 78", len(all))
	}
	seen := map[string]bool{}
	guards := 0
	for _, i := range all {
		if seen[i.Name] {
			t.Errorf("%s listed twice", i.Name)
		}
		seen[i.Name] = true
		if i.Guard {
			guards++
		}
		if i.Replaced != "" && !restriction.Known(i.Replaced) {
			t.Errorf("%s: replacement %s is not a name", i.Name, i.Replaced)
		}
		if len(i.Name) > 6 && i.Name[:6] == "check_" && i.Name[len(i.Name)-7:] == "_access" && i.Arg != restriction.Table {
			t.Errorf("%s takes a table", i.Name)
		}
		if i.Lists() == 0 {
			t.Errorf("%s matches in no list", i.Name)
		}
	}
	if guards != 6 {
		t.Errorf("%d guards, want the 6 of rcpt_required", guards)
	}
	if n := restriction.Names(); len(n) != len(all) || n[0] > n[1] {
		t.Errorf("Names() not the sorted list: %v", n[:2])
	}
}

func TestLists(t *testing.T) {
	for _, c := range []struct {
		param string
		l     restriction.List
		bare  string
	}{
		{"smtpd_client_restrictions", restriction.Client, "check_client_access"},
		{"smtpd_helo_restrictions", restriction.HELO, "check_helo_access"},
		{"smtpd_sender_restrictions", restriction.Sender, "check_sender_access"},
		{"smtpd_relay_restrictions", restriction.Relay, "check_recipient_access"},
		{"smtpd_recipient_restrictions", restriction.Recipient, "check_recipient_access"},
		{"smtpd_etrn_restrictions", restriction.ETRN, "check_etrn_access"},
		{"smtpd_data_restrictions", restriction.Data, ""},
		{"smtpd_end_of_data_restrictions", restriction.EndOfData, ""},
	} {
		l, ok := restriction.ListOf(c.param)
		if !ok || l != c.l || l.Param() != c.param || l.BareTable() != c.bare {
			t.Errorf("%s: ListOf = %v %v, BareTable %q, want %v %q", c.param, l, ok, l.BareTable(), c.l, c.bare)
		}
	}
	if _, ok := restriction.ListOf("mynetworks"); ok {
		t.Error("mynetworks is not a restriction list")
	}
	etrn, _ := restriction.Lookup("check_etrn_access")
	if etrn.Lists().Has(restriction.Recipient) || !etrn.Lists().Has(restriction.ETRN) {
		t.Error("check_etrn_access matches in the ETRN list only")
	}
	rcpt, _ := restriction.Lookup("reject_unauth_destination")
	if rcpt.Lists().Has(restriction.ETRN) || !rcpt.Lists().Has(restriction.Client) {
		t.Error("reject_unauth_destination: RCPT data exists in the client list (smtpd_delay_reject) but not at ETRN")
	}
}

func TestParse(t *testing.T) {
	el := func(name, arg string) restriction.Element { return restriction.Element{Name: name, Arg: arg} }
	tab := func(name string) restriction.Element { return restriction.Element{Name: name, Table: true} }
	for _, c := range []struct {
		in   string
		want []restriction.Element
	}{
		{"", nil},
		{"permit_mynetworks, hash:/etc/postfix/access, reject_unauth_destination",
			[]restriction.Element{el("permit_mynetworks", ""), tab("hash:/etc/postfix/access"), el("reject_unauth_destination", "")}},
		{"check_client_access cidr:/etc/postfix/c.cidr,Reject",
			[]restriction.Element{el("check_client_access", "cidr:/etc/postfix/c.cidr"), el("Reject", "")}},
		{"check_policy_service { inet:127.0.0.1:10023, timeout=10s }, permit",
			[]restriction.Element{el("check_policy_service", "{ inet:127.0.0.1:10023, timeout=10s }"), el("permit", "")}},
		{"inline:{ 1.2.3.4=OK, 5.6.7.8=REJECT }\n\treject_unknown_address",
			[]restriction.Element{tab("inline:{ 1.2.3.4=OK, 5.6.7.8=REJECT }"), el("reject_unknown_address", "")}},
		// An argument is consumed whatever it is; a missing one stays empty.
		{"reject_rbl_client zen.example.org reject_rbl_client",
			[]restriction.Element{el("reject_rbl_client", "zen.example.org"), el("reject_rbl_client", "")}},
		{"warn_if_reject texthash:/etc/postfix/t sleep 1",
			[]restriction.Element{el("warn_if_reject", ""), tab("texthash:/etc/postfix/t"), el("sleep", "1")}},
		// \v is not one of CHARS_COMMA_SP.
		{"permit\vreject", []restriction.Element{el("permit\vreject", "")}},
	} {
		got := restriction.Parse(c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", c.in, got, c.want)
		}
	}
	e := restriction.Parse("HASH:/x check_sender_access hash:/y")
	if e[0].Key() != "" || e[0].Text() != "HASH:/x" || e[1].Key() != "check_sender_access" || e[1].Text() != "check_sender_access hash:/y" {
		t.Errorf("Key/Text: %#v", e)
	}
}

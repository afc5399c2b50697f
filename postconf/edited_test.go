package postconf

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// TestEditedMatchesNew: a copy made with Edited answers exactly as one
// built from scratch with New, for the bundled, scenario and corpus
// configurations and edits of every kind: to names fixes edit, with
// values that refer to known and unknown names, removals, and names that
// must take the full path (legacy, user-defined, read-only,
// smtpd_restriction_classes).
func TestEditedMatchesNew(t *testing.T) {
	var dirs []string
	for _, g := range []string{"../testdata/configs/*/main.cf", "../testdata/scenarios/*/main.cf", "../testdata/corpus/*/main.cf", "../testdata/corpus/*/*/main.cf"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			dirs = append(dirs, filepath.Dir(f))
		}
	}
	if len(dirs) < 20 {
		t.Fatalf("only %d configurations found", len(dirs))
	}
	type edit struct {
		name, value string // value "" removes
		fast        bool   // Edited must share the registrations
	}
	edits := [][]edit{
		{{"smtpd_banner", "$myhostname ESMTP", true}},
		{{"disable_vrfy_command", "yes", true}},
		{{"smtpd_relay_restrictions", "permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination", true}},
		{{"mynetworks", "127.0.0.0/8 [::1]/128", true}},
		{{"smtpd_recipient_restrictions", "", true}},
		{{"soft_bounce", "", true}},
		{{"smtpd_banner", "$myhostname $mail_name", true}, {"disable_vrfy_command", "yes", true}},
		{{"smtpd_sender_login_maps", "${default_database_type}:${config_directory}/sender_login", true}},
		{{"compatibility_level", "3.6", true}},
		{{"myhostname", "", true}},
		// Not the fast path: a value or a name registerUserParams notes.
		{{"smtpd_banner", "$my_banner_text", false}},
		{{"smtpd_recipient_restrictions", "permit_mynetworks, my_class, reject", true}},
		{{"my_class", "check_client_access hash:/etc/postfix/x", false}},
		{{"smtpd_restriction_classes", "my_class", false}},
		{{"service_name", "x", false}},
		{{"virtual_maps", "hash:/etc/postfix/virtual", false}}, // legacy
		{{"relay_domains", "$mydestination ${undefined_here?x}", false}},
	}
	d := defaults.Builtin()
	fastSeen := 0
	for _, dir := range dirs {
		base, err := LoadDir(dir, d, "built-in")
		if err != nil {
			t.Fatal(err)
		}
		for _, es := range edits {
			main := &MainCF{File: base.Main.File, Params: maps.Clone(base.Main.Params), Order: slices.Clone(base.Main.Order)}
			master := &MasterCF{File: base.Master.File, Services: slices.Clone(base.Master.Services)}
			var names []string
			fast := true
			for _, e := range es {
				names = append(names, e.name)
				fast = fast && e.fast
				if e.value == "" {
					delete(main.Params, e.name)
					main.Order = slices.DeleteFunc(main.Order, func(n string) bool { return n == e.name })
					continue
				}
				if _, ok := main.Params[e.name]; !ok {
					main.Order = append(main.Order, e.name)
				}
				main.Params[e.name] = &Param{Name: e.name, Value: e.value}
			}
			label := fmt.Sprintf("%s %v", dir, es)
			holds := base.registrationHolds(main, master, names)
			if holds {
				fastSeen++
			}
			if fast && !holds && !setsClasses(base) && !userRefs(base, names) {
				t.Errorf("%s: the fast path was not taken", label)
			}
			if !fast && holds {
				t.Errorf("%s: the fast path was taken", label)
			}
			got := base.Edited(cloneMain(main), &MasterCF{File: master.File, Services: slices.Clone(master.Services)}, names)
			want := New(cloneMain(main), &MasterCF{File: master.File, Services: slices.Clone(master.Services)}, base.Defaults, base.DefaultsSource)
			compareConfigs(t, label, got, want, names)
		}
	}
	if fastSeen < len(dirs) {
		t.Errorf("the fast path was taken %d times over %d configurations", fastSeen, len(dirs))
	}
}

func cloneMain(m *MainCF) *MainCF {
	return &MainCF{File: m.File, Params: maps.Clone(m.Params), Order: slices.Clone(m.Order)}
}

// setsClasses: a configuration that sets smtpd_restriction_classes always
// takes the full path.
func setsClasses(c *Config) bool {
	_, ok := c.Main.Params["smtpd_restriction_classes"]
	return ok
}

// userRefs: the old value of an edited name refers to a name the
// defaults do not know (a user-defined parameter).
func userRefs(c *Config, names []string) bool {
	for _, n := range names {
		if p, ok := c.Main.Params[n]; ok {
			unknown := false
			_ = ScanNames(p.Value, func(r string) { unknown = unknown || !c.Defaults.Known(r) })
			if unknown {
				return true
			}
		}
	}
	return false
}

func compareConfigs(t *testing.T, label string, got, want *Config, edited []string) {
	t.Helper()
	if !reflect.DeepEqual(got.Warnings, want.Warnings) {
		t.Errorf("%s: warnings\n%v\nwant\n%v", label, got.Warnings, want.Warnings)
	}
	gw, gerr := got.Check()
	ww, werr := want.Check()
	if !reflect.DeepEqual(gw, ww) || fmt.Sprint(gerr) != fmt.Sprint(werr) {
		t.Errorf("%s: Check %v %v, want %v %v", label, gw, gerr, ww, werr)
	}
	names := append(slices.Clone(edited), got.Main.Names()...)
	names = append(names, "my_class", "my_banner_text", "undefined_here", "virtual_maps", "smtp_time_limit", "relay_destination_concurrency_limit")
	for _, n := range names {
		if got.Known(n) != want.Known(n) {
			t.Errorf("%s: Known(%s) = %v, want %v", label, n, got.Known(n), want.Known(n))
		}
	}
	views := []ViewOptions{{}, {NonDefault: true, Expand: true}, {Master: true}}
	for _, o := range views {
		var gb, wb bytes.Buffer
		_, gerr := got.QueryText(o, &gb)
		_, werr := want.QueryText(o, &wb)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || gb.String() != wb.String() {
			t.Errorf("%s: view %+v differs (errors %v, %v)", label, o, gerr, werr)
		}
	}
	scoped := append(slices.Clone(edited), "mynetworks", "smtpd_relay_restrictions", "smtpd_recipient_restrictions", "smtpd_banner", "syslog_name")
	for i, s := range want.Master.Services {
		if !reflect.DeepEqual(got.EffectiveOverrides(got.Master.Services[i]), want.EffectiveOverrides(s)) {
			t.Errorf("%s: %s's effective overrides differ", label, s.Key())
		}
		for _, n := range scoped {
			gv, gerr := got.Expand(got.Master.Services[i], n)
			wv, werr := want.Expand(s, n)
			if gv != wv || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Errorf("%s: %s %s = %q (%v), want %q (%v)", label, s.Key(), n, gv, gerr, wv, werr)
			}
		}
	}
}

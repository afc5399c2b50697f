package postconf

import "testing"

// TestOverrideLines checks that every -o setting carries the physical line
// it is written on, also after comments inside the entry.
func TestOverrideLines(t *testing.T) {
	src := "# head\n" +
		"submission inet n - y - - smtpd\n" + // 2
		"  -o syslog_name=postfix/submission\n" + // 3
		"  # a comment inside the entry\n" + // 4
		"  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\n" + // 5
		"\n" + // 6
		"  -o smtpd_tls_security_level=encrypt -o smtpd_sasl_auth_enable=yes\n" + // 7
		"smtp inet n - y - - smtpd -o smtpd_sasl_auth_enable=no\n" // 8
	m, err := ParseMasterCF("master.cf", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{
		"submission/inet": {"syslog_name": 3, "smtpd_client_restrictions": 5, "smtpd_tls_security_level": 7, "smtpd_sasl_auth_enable": 7},
		"smtp/inet":       {"smtpd_sasl_auth_enable": 8},
	}
	for _, s := range m.Services {
		for _, o := range s.Overrides {
			if got, exp := o.Pos.Line, want[s.Key()][o.Name]; got != exp {
				t.Errorf("%s -o %s: line %d, want %d", s.Key(), o.Name, got, exp)
			}
		}
		if s.Key() == "submission/inet" && s.Pos.Line != 2 {
			t.Errorf("entry line %d, want 2", s.Pos.Line)
		}
	}
}

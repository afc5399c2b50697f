package postconf

import (
	"reflect"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// TestRefsOverBuiltin: the references derived from the generated table plus
// the changed values equal a scan of every default, for the built-in Set
// and for sets that change, add or make known referenced names.
func TestRefsOverBuiltin(t *testing.T) {
	for _, tt := range []struct {
		name  string
		set   *defaults.Set
		empty bool
	}{
		{"built-in", defaults.Builtin(), true}, // Postfix 3.7's defaults reference only names it knows
		{"host-derived values", defaults.Overlay(map[string]string{"myhostname": "mx.example.net", "mynetworks": "127.0.0.0/8"}), true},
		{"changed value with a new unknown reference", defaults.Overlay(map[string]string{"smtpd_banner": "$myhostname $no_such_macro ESMTP"}), false},
		{"changed value, known references", defaults.Overlay(map[string]string{"relay_domains": "$mydestination"}), true},
		{"added names, one referencing another", defaults.Overlay(map[string]string{"extension": "", "zz_added": "${zz_other?x} $extension"}), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := refsOverBuiltin(tt.set)
			if !ok {
				t.Fatal("not derived from the built-in table")
			}
			var want []defaultRefs
			for _, n := range tt.set.Names() {
				if r, ok := unknownRefs(tt.set, n); ok {
					want = append(want, r)
				}
			}
			if (len(got) == 0) != tt.empty {
				t.Errorf("unknown references %v, want none: %v", got, tt.empty)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("derived %v\nscanned %v", got, want)
			}
		})
	}
}

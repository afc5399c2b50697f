package defaults_test

import (
	"context"
	"fmt"

	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// How package postconf resolves a parameter that main.cf leaves unset.
func Example() {
	ctx := context.Background()
	set, err := defaults.Detect(ctx) // installed postconf, else the built-in table
	if err != nil {
		return // ctx ended: interrupted
	}
	fmt.Println("defaults from", set.Source)

	// Settings of the main.cf under audit (expanded values).
	mainCF := map[string]string{"compatibility_level": "2"}
	lookup := func(name string) (string, bool) { v, ok := mainCF[name]; return v, ok }

	for _, name := range []string{"smtpd_relay_restrictions", "mynetworks"} {
		if defaults.HostDerived(name) {
			v, err := set.Live(ctx, name, lookup)
			fmt.Println(name, "=", v, err)
			continue
		}
		v, _, err := set.ForLevel(name, mainCF["compatibility_level"])
		fmt.Println(name, "=", v, err)
	}
}

func ExampleParseLevel() {
	a := defaults.MustParseLevel("3.10")
	b := defaults.MustParseLevel("3.9")
	fmt.Println(a.Compare(b), a)
	// Output: 1 3.10
}

package cli

import (
	"bytes"
	"strings"
	"testing"
)

// Main builds only the command it runs; that command must behave as in
// the whole tree: the same help, the same errors, the same output.
func TestRootForOneCommand(t *testing.T) {
	run := func(full bool, args []string) (string, error) {
		var out, errb bytes.Buffer
		st := Streams{In: strings.NewReader(""), Out: &out, Err: &errb}
		root := newRootFor(st, args)
		if full {
			root = NewRoot(st)
		}
		root.SetArgs(args)
		err := root.Execute()
		return out.String() + "\n--- stderr\n" + errb.String(), err
	}
	for _, c := range subcommands {
		cases := [][]string{{c.name, "--help"}, {c.name, "--no-such-flag"}}
		if c.name == "config" || c.name == "audit" {
			cases = append(cases, []string{c.name, "-c", "../../../testdata/configs/debian-stock", "--postconf-n", "x"})
		}
		if c.name == "config" {
			// (audit's report carries the time it was made)
			cases = append(cases, []string{c.name, "--defaults", "builtin", "-c", "../../../testdata/configs/debian-stock", "-n", "--format", "json"})
		}
		for _, args := range cases {
			want, wantErr := run(true, args)
			got, gotErr := run(false, args)
			if got != want || (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Errorf("%q: alone:\n%s(err %v)\nin the whole tree:\n%s(err %v)", args, got, gotErr, want, wantErr)
			}
		}
		if n := len(newRootFor(Streams{}, []string{c.name}).Commands()); n != 1 {
			t.Errorf("pfaudit %s builds %d commands, want only itself", c.name, n)
		}
	}
	// Anything else gets the whole tree: root help lists every command,
	// and a near miss is suggested.
	for _, args := range [][]string{nil, {"--help"}, {"help"}, {"audti"}, {"--version"}} {
		if n := len(newRootFor(Streams{}, args).Commands()); n != len(subcommands) {
			t.Errorf("%q builds %d commands, want %d", args, n, len(subcommands))
		}
	}
}

package cli

import (
	"bytes"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestAuditScripts runs the testscript files of testdata/audit: end-to-end
// sessions of `pfaudit audit` and `pfaudit rules`, in-process. The command
// `pfaudit-exit CODE ARGS...` runs pfaudit and requires that exact exit
// code (0, 1 findings, 2 errors).
func TestAuditScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "audit"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"pfaudit-exit": func(ts *testscript.TestScript, neg bool, args []string) {
				if neg || len(args) < 1 {
					ts.Fatalf("usage: pfaudit-exit CODE args...")
				}
				want, err := strconv.Atoi(args[0])
				if err != nil {
					ts.Fatalf("bad exit code %q", args[0])
				}
				var out, errb bytes.Buffer
				code := Main(args[1:], strings.NewReader(""), &out, &errb)
				_, _ = ts.Stdout().Write(out.Bytes())
				_, _ = ts.Stderr().Write(errb.Bytes())
				if code != want {
					ts.Fatalf("pfaudit %s: exit %d, want %d\nstderr: %s", strings.Join(args[1:], " "), code, want, errb.String())
				}
			},
		},
	})
}

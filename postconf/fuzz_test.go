package postconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// Fuzz targets: `make fuzz` runs each for a while; `go test` runs the
// seeds. Every input must end in a result or an error: no panic, no hang.

func addConfigSeeds(f *testing.F, file string) {
	paths, _ := filepath.Glob(filepath.Join("..", "testdata", "configs", "*", file))
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// chain is main.cf text with c1 = $c2 ... cn = end, referenced from a
// built-in parameter.
func chain(n int) []byte {
	var b strings.Builder
	b.WriteString("smtpd_banner = $c1\n")
	for i := 1; i < n; i++ {
		b.WriteString("c" + itoa(i) + " = $c" + itoa(i+1) + "\n")
	}
	b.WriteString("c" + itoa(n) + " = end\n")
	return []byte(b.String())
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}

func FuzzParseMainCF(f *testing.F) {
	addConfigSeeds(f, "main.cf")
	f.Add(chain(3000))
	f.Add([]byte("a = $a\nsmtpd_banner = $a\n"))
	f.Add([]byte("smtpd_banner = " + strings.Repeat("${{", 300) + "x" + strings.Repeat("}=={x}}", 300) + "\n"))
	f.Add([]byte("\xef\xbb\xbfa = 1\r\n  b\r\n#c\n\x00\n= x\n"))
	d := defaults.Builtin()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMainCF("main.cf", data)
		if err != nil {
			return
		}
		for name, p := range m.Params {
			if name == "" || strings.ContainsAny(name, " \t\r\n=") || p.Pos.Line < 1 {
				t.Fatalf("bad parameter %q at %v", name, p.Pos)
			}
		}
		c := New(m, nil, d, "built-in")
		if _, err := c.Check(); err != nil {
			return
		}
		for _, o := range []ViewOptions{{NonDefault: true}, {NonDefault: true, Expand: true}} {
			if _, err := c.Query(o); err != nil {
				return
			}
		}
	})
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"$a", "${a?{$b}:{c}}", "${{$a} <level {3.6} ? {x} : {y}}", "$$", "${a", "$(b:c)",
		"${ a ? {x y} }", strings.Repeat("${{", 200) + "x" + strings.Repeat("}=={x}}", 200), "$self", "$loop"} {
		f.Add(s, "value of a")
	}
	f.Fuzz(func(t *testing.T, s, a string) {
		vars := map[string]string{"a": a, "b": s, "self": "$self x", "loop": "$a $loop"}
		lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
		x, err := Expand(s, lookup)
		if err == nil && len(x.Value) > maxWork {
			t.Fatalf("output of %d bytes", len(x.Value))
		}
		_ = ScanNames(s, func(string) {})
	})
}

func FuzzParseMasterCF(f *testing.F) {
	addConfigSeeds(f, "master.cf")
	f.Add([]byte("s inet n - y - - smtpd -vo a=1 -o{ x = restrictions } -o {a=1 -- {b c}\n  -o x=y\n"))
	f.Add([]byte("[::1]:25 inet n - n - - smtpd -o\n- unix - - - - - -\n"))
	d := defaults.Builtin()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMasterCF("master.cf", data)
		if err != nil {
			return
		}
		for _, s := range m.Services {
			if s.Name == "" || s.Command == "" || !serviceTypes[s.Type] {
				t.Fatalf("bad service %+v", s)
			}
			_ = s.FormatM()
			_ = s.FormatMf()
		}
		c := New(nil, m, d, "built-in")
		if _, err := c.Check(); err != nil {
			return
		}
		for _, o := range []ViewOptions{{Services: true, Expand: true}, {Master: true, Fold: true, Expand: true}} {
			_, _ = c.Query(o)
		}
	})
}

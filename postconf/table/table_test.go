package table

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pfaudit/pfaudit/postconf/diag"
)

var at = diag.Pos{File: "main.cf", Line: 12}

func TestLogicalLines(t *testing.T) {
	// The cases of readlline.c's own test, plus positions.
	tests := []struct {
		name, in string
		want     []Line
		warns    int
	}{
		{"leading space before non-comment", " abcde\nfghij\n", []Line{{"fghij", 2, 2}}, 1},
		{"leading space before leading comment", " #abcde\nfghij\n", []Line{{"fghij", 2, 2}}, 0},
		{"comment first", "#abc\ndef", []Line{{"def", 2, 2}}, 0},
		{"empty line first", "\nabc\n", []Line{{"abc", 2, 2}}, 0},
		{"missing final newline", "abc def", []Line{{"abc def", 1, 1}}, 0},
		{"only a comment", "#abc def", nil, 0},
		{"multiline", "abc\n def\n", []Line{{"abc def", 1, 2}}, 0},
		{"comment after space inside", "abc\n #def\n ghi", []Line{{"abc ghi", 1, 3}}, 0},
		{"comment flush left inside", "abc\n#def\n ghi", []Line{{"abc ghi", 1, 3}}, 0},
		{"blank line inside", "abc\n \n ghi", []Line{{"abc ghi", 1, 3}}, 0},
		{"empty line inside", "abc\n\n ghi", []Line{{"abc ghi", 1, 3}}, 0},
		{"two lines", "a 1\nb 2\n", []Line{{"a 1", 1, 1}, {"b 2", 2, 2}}, 0},
		{"indented continuation dropped with its head", " a\n b\nc\n", []Line{{"c", 3, 3}}, 1},
		{"nul byte", "ab\x00cd\n", []Line{{"ab", 1, 1}}, 1},
		{"crlf", "a b\r\nc d\r\n", []Line{{"a b\r", 1, 1}, {"c d\r", 2, 2}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns := LogicalLines([]byte(tt.in), "f")
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("lines = %+v, want %+v", got, tt.want)
			}
			if len(warns) != tt.warns {
				t.Errorf("warnings = %v, want %d", warns, tt.warns)
			}
		})
	}
}

// lookupCase is one key and what the table must answer.
type lookupCase struct {
	key   string
	found bool
	value string
	line  int // line of the matching rule, 0 to skip the check
}

func fsWith(files map[string]string) Options {
	m := fstest.MapFS{}
	for name, content := range files {
		m[strings.TrimPrefix(name, "/")] = &fstest.MapFile{Data: []byte(content), ModTime: time.Unix(1000, 0)}
	}
	return Options{FS: m}
}

func checkLookups(t *testing.T, tb Table, cases []lookupCase) {
	t.Helper()
	for _, c := range cases {
		r, err := tb.Lookup(c.key)
		if err != nil {
			t.Errorf("Lookup(%q): %v", c.key, err)
			continue
		}
		if r.Found != c.found || r.Value != c.value {
			t.Errorf("Lookup(%q) = %v %q, want %v %q", c.key, r.Found, r.Value, c.found, c.value)
		}
		if c.line != 0 && r.Pos.Line != c.line {
			t.Errorf("Lookup(%q) matched at %s, want line %d", c.key, r.Pos, c.line)
		}
	}
}

func TestCIDR(t *testing.T) {
	tests := []struct {
		name    string
		content string
		cases   []lookupCase
		errs    []string // "line: message prefix"
	}{
		{
			name: "first match, IPv4 and IPv6, brackets optional",
			content: "# clients\n192.168.1.1 OK\n192.168.0.0/16 REJECT\n[2001:db8::1] V6ONE\n" +
				"2001:db8::/32 V6NET\n[10.0.0.0]/8 BR\n[172.16.0.0/12] BR2\n",
			cases: []lookupCase{
				{"192.168.1.1", true, "OK", 2}, {"192.168.9.9", true, "REJECT", 3},
				{"2001:db8::1", true, "V6ONE", 4}, {"2001:DB8:0:0::1", true, "V6ONE", 4},
				{"2001:db8::2", true, "V6NET", 5}, {"10.9.8.7", true, "BR", 6}, {"172.31.0.1", true, "BR2", 7},
				{"1.2.3.4", false, "", 0}, {"::1", false, "", 0},
			},
		},
		{
			name:    "keys that are not addresses never match",
			content: "0.0.0.0/0 ALL4\n::/0 ALL6\n",
			cases: []lookupCase{
				{"10.0.0.1", true, "ALL4", 1}, {"fe80::1", true, "ALL6", 2},
				{"[10.0.0.1]", false, "", 0}, {"10.0.0.1 ", false, "", 0}, {"host.example", false, "", 0},
				{"fe80::1%eth0", false, "", 0}, {"010.0.0.1", false, "", 0}, {"", false, "", 0},
				{"::ffff:10.0.0.1", true, "ALL6", 2},
			},
		},
		{
			name:    "negation never crosses families",
			content: "!10.0.0.0/8 NOT10\n! 2001:db8::/32 NOTDOC\n",
			cases: []lookupCase{
				{"11.0.0.1", true, "NOT10", 1}, {"10.0.0.1", false, "", 0},
				{"2a00::1", true, "NOTDOC", 2}, {"2001:db8::1", false, "", 0},
			},
		},
		{
			name:    "if/endif, nesting, missing endif",
			content: "if 10.0.0.0/8\nif !10.1.0.0/16\n10.0.0.0/8 TEN\nendif\n10.1.2.3 ONE\nendif\n0.0.0.0/0 ALL\nIF 192.168.0.0/16\n0.0.0.0/0 LAN\n",
			cases: []lookupCase{
				{"10.2.0.1", true, "TEN", 3}, {"10.1.2.3", true, "ONE", 5}, {"10.1.2.4", true, "ALL", 7},
				{"192.168.1.1", true, "ALL", 7}, {"8.8.8.8", true, "ALL", 7},
			},
		},
		{
			name:    "if without endif ends the search",
			content: "if 10.0.0.0/8\n10.1.0.0/16 IN\n0.0.0.0/0 ALL\n",
			cases:   []lookupCase{{"10.1.0.1", true, "IN", 2}, {"10.2.0.1", true, "ALL", 3}, {"11.0.0.1", false, "", 0}},
		},
		{
			name: "rules Postfix skips, with their line",
			content: "10.0.0.1/8 HOSTBITS\n1.2.3.4/33 LONG\n010.1.2.3 LZ\n1.2.3.4/x BADMASK\n10.0.0.0/8\n" +
				"[::1 BR\n[::1]x BR\n/8 NONET\nendif\nendif junk\n!\n0.0.0.0/0 ALL\n",
			cases: []lookupCase{{"10.0.0.1", true, "ALL", 12}},
			errs: []string{
				`1: non-null host address bits in "10.0.0.1/8", perhaps you should use "10.0.0.0/8" instead`,
				`2: bad mask length in "1.2.3.4/33"`, `3: bad address pattern: "010.1.2.3"`, `4: bad mask value in "1.2.3.4/x"`,
				`5: no lookup result`, `6: missing ']' character after "[::1"`, `7: garbage after "[::1]"`,
				`8: bad network value in "/8"`, `9: ENDIF without IF`, `10: garbage after ENDIF`, `11: no address pattern`,
			},
		},
		{
			name:    "mask numbers wrap like an unsigned char",
			content: "10.0.0.0/264 EIGHT\n0.0.0.0/4294967296 ZERO\n",
			cases:   []lookupCase{{"10.255.0.1", true, "EIGHT", 1}, {"11.0.0.1", true, "ZERO", 2}},
		},
		{
			name:    "continuation lines and values with spaces",
			content: "10.0.0.0/8\n   REJECT go away  \n192.168.0.0/16\tDUNNO\n",
			cases:   []lookupCase{{"10.1.1.1", true, "REJECT go away", 1}, {"192.168.1.1", true, "DUNNO", 3}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := fsWith(map[string]string{"/etc/postfix/t.cidr": tt.content})
			tb, err := Open("cidr:/etc/postfix/t.cidr", at, opt)
			if err != nil {
				t.Fatal(err)
			}
			checkLookups(t, tb, tt.cases)
			var got []string
			for _, e := range tb.Errors() {
				if e.File != "/etc/postfix/t.cidr" || e.Text == "" {
					t.Errorf("error without file or text: %#v", e)
				}
				got = append(got, fmt.Sprintf("%d: %s", e.Line, strings.TrimSuffix(e.Msg, ": skipping this rule")))
			}
			if strings.Join(got, "\n") != strings.Join(tt.errs, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.errs, "\n"))
			}
		})
	}
}

func TestCIDRInline(t *testing.T) {
	tb, err := Open("cidr:{ {10.0.0.0/8 TEN}, { !192.168.0.0/16  NOTLAN } }", at, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkLookups(t, tb, []lookupCase{{"10.1.2.3", true, "TEN", 12}, {"8.8.8.8", true, "NOTLAN", 12}, {"192.168.1.1", false, "", 0}})
	tb, err = Open("cidr:{{10.0.0.0/8 TEN}, {10.0.0.1/8 BAD}}", at, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if errs := tb.Errors(); len(errs) != 1 || errs[0].Pos != at || !strings.HasPrefix(errs[0].Msg, "inline rule 2: non-null host") {
		t.Errorf("inline errors %v, want rule 2 at %s", errs, at)
	}
	if _, err := Open("cidr:{ {10.0.0.0/8 TEN}", at, Options{}); err == nil || IsUnknown(err) {
		t.Errorf("unbalanced inline cidr: err = %v, want a Postfix failure", err)
	}
}

func TestRegexp(t *testing.T) {
	tests := []struct {
		name    string
		content string
		cases   []lookupCase
	}{
		{
			name:    "case-insensitive by default, i toggles",
			content: "/^abc$/ DEFAULT\n/^xyz$/i SENSITIVE\n",
			cases:   []lookupCase{{"ABC", true, "DEFAULT", 1}, {"xyz", true, "SENSITIVE", 2}, {"XYZ", false, "", 0}},
		},
		{
			name: "substitution",
			content: "/^(.*)-outgoing@(.*)$/ 550 Use ${1}@${2} instead\n/^(a)(b)?c$/ [$1][$2][$$]\n" +
				"/^(x)(y)$/ $(2)$1\n",
			cases: []lookupCase{
				{"list-outgoing@example.com", true, "550 Use list@example.com instead", 1},
				{"ac", true, "[a][][$]", 2}, {"abc", true, "[a][b][$]", 2}, {"XY", true, "YX", 3},
			},
		},
		{
			name:    "negation, second pattern, if/endif",
			content: "!/@/ NOAT\nif !/^owner-/\n/^(.*)-request@/ REQ $1\nendif\n/a/!/b/ A_NOT_B\n",
			cases: []lookupCase{
				{"local", true, "NOAT", 1}, {"list-request@x", true, "REQ list", 3},
				{"owner-list-request@x", false, "", 0}, {"owner-a@x", true, "A_NOT_B", 5}, {"owner-ab@x", false, "", 0},
			},
		},
		{
			name: "POSIX quirks: backslash in brackets, \\d is no digit class",
			content: "/^[\\.]$/ BACKSLASH_OR_DOT\n/^\\d$/ NEVER_WITH_ICASE\n/^\\d$/i D_SENSITIVE\n" +
				"/^a{,2}$/ GNU_INTERVAL\n/^x)$/ LONE_PAREN\n",
			cases: []lookupCase{
				{`\`, true, "BACKSLASH_OR_DOT", 1}, {".", true, "BACKSLASH_OR_DOT", 1},
				{"5", false, "", 0}, {"d", true, "D_SENSITIVE", 3}, {"aa", true, "GNU_INTERVAL", 4}, {"x)", true, "LONE_PAREN", 5},
			},
		},
		{
			name:    "upper-cased matching under REG_ICASE",
			content: "/^[A-z]$/ NOT_BRACKET_CHARS\n/^[[:lower:]]+$/ LOWER_MEANS_ALPHA\n",
			cases:   []lookupCase{{"ABC", true, "LOWER_MEANS_ALPHA", 2}, {"q", true, "NOT_BRACKET_CHARS", 1}, {"_", false, "", 0}},
		},
		{
			name:    "bytes above 127 match one by one and never fold",
			content: "/^..$/ TWO_BYTES\n/^É$/ CAPITAL\n",
			cases:   []lookupCase{{"é", true, "TWO_BYTES", 1}, {"Éx", false, "", 0}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := Open("regexp:/etc/postfix/t.re", at, fsWith(map[string]string{"/etc/postfix/t.re": tt.content}))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range tb.Errors() {
				t.Errorf("unexpected skipped rule: %v", e)
			}
			checkLookups(t, tb, tt.cases)
		})
	}
}

func TestPatternErrors(t *testing.T) {
	tests := []struct {
		typ, content string
		errLines     []int
	}{
		{"regexp", "/(/ UNMATCHED\n/a/q BADFLAG\n/a\n/[z-a]/ RANGE\n/*a/ STAR\n!/(a)/ $1\n/(a)/ $2\n/a/ $x\n/ok/ OK\n", []int{1, 2, 3, 4, 5, 6, 7, 8}},
		{"pcre", "/(/ X\n/a**/ X\n/\\y/ X\n/(a)/ $2\n/(?<n>a)(?<n>b)/ X\n/ok/ OK\n", []int{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			tb, err := Open(tt.typ+":/t", at, fsWith(map[string]string{"/t": tt.content}))
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, e := range tb.Errors() {
				if e.File != "/t" || e.Text == "" || e.Msg == "" {
					t.Errorf("incomplete error %#v", e)
				}
				got = append(got, e.Line)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.errLines) {
				t.Errorf("skipped lines %v, want %v (%v)", got, tt.errLines, tb.Errors())
			}
			checkLookups(t, tb, []lookupCase{{"ok", true, "OK", 0}})
		})
	}
}

// TestPatternUnknown: a rule Go cannot express makes lookups that reach it
// unknown, never "not found"; earlier matches stay definite.
func TestPatternUnknown(t *testing.T) {
	tests := []struct {
		typ, content string
	}{
		{"regexp", "/^first$/ FIRST\n/^(a)\\1$/ BACKREF\n/z/ Z\n"},
		{"pcre", "/^first$/ FIRST\n/^a(?=b)/ LOOKAHEAD\n/z/ Z\n"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			tb, err := Open(tt.typ+":/t", at, fsWith(map[string]string{"/t": tt.content}))
			if err != nil {
				t.Fatal(err)
			}
			checkLookups(t, tb, []lookupCase{{"first", true, "FIRST", 1}})
			_, err = tb.Lookup("z")
			var u *UnknownError
			if !errors.As(err, &u) || u.Pos.Line != 2 || u.Pos.File != "/t" {
				t.Errorf("Lookup(z) err = %v, want *UnknownError at /t:2", err)
			}
			found := false
			for _, w := range tb.Warnings() {
				found = found || (w.Pos.Line == 2 && strings.Contains(w.Msg, "cannot be evaluated offline"))
			}
			if !found {
				t.Errorf("no warning for the rule at line 2: %v", tb.Warnings())
			}
		})
	}
}

func TestPCRE(t *testing.T) {
	content := "/^\\d+\\.\\d+$/ NUMBERS\n/^(?:mail|smtp)\\.(\\w+)\\.example$/ HOST $1\n/^a.b$/s DOT_NO_NEWLINE\n" +
		"/^x\\s*y$/ SPACE\n/^caf\\xe9$/ LATIN1\n/abc/A ANCHORED\n/^q+?(q*)$/ LAZY $1\n"
	tb, err := Open("pcre:/t", at, fsWith(map[string]string{"/t": content}))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tb.Errors() {
		t.Errorf("unexpected skipped rule: %v", e)
	}
	checkLookups(t, tb, []lookupCase{
		{"10.25", true, "NUMBERS", 1}, {"SMTP.Relay.example", true, "HOST Relay", 2}, {"a\tb", true, "DOT_NO_NEWLINE", 3},
		{"x \v y", true, "SPACE", 4}, {"caf\xe9", true, "LATIN1", 5}, {"abcd", true, "ANCHORED", 6}, {"zabc", false, "", 0},
		{"qqq", true, "LAZY qq", 7},
	})
	if _, err := tb.Lookup("line\nbreak"); !IsUnknown(err) {
		t.Errorf("key with a newline: err = %v, want unknown", err)
	}
}

func TestHashLike(t *testing.T) {
	src := "# access\nExample.COM   OK\nfoo@example.com REJECT\n  spam\nbar.example\n   DISCARD\nexample.com DUPLICATE\nkey: value\nlonely\n"
	files := map[string]string{"/etc/postfix/access": src, "/etc/postfix/access.db": "binary"}
	cases := []lookupCase{
		{"example.com", true, "OK", 2}, {"EXAMPLE.com", true, "OK", 2}, {"foo@example.com", true, "REJECT  spam", 3},
		{"bar.example", true, "DISCARD", 5}, {"key:", true, "value", 8}, {"lonely", false, "", 0}, {"missing", false, "", 0},
	}
	for _, spec := range []string{"hash:/etc/postfix/access", "btree:/etc/postfix/access", "texthash:/etc/postfix/access", "proxy:hash:/etc/postfix/access"} {
		t.Run(spec, func(t *testing.T) {
			tb, err := Open(spec, at, fsWith(files))
			if err != nil {
				t.Fatal(err)
			}
			if !tb.Fixed() {
				t.Error("Fixed() = false")
			}
			checkLookups(t, tb, cases)
			var lines []int
			for _, e := range tb.Errors() {
				lines = append(lines, e.Line)
			}
			if fmt.Sprint(lines) != "[9]" {
				t.Errorf("skipped lines %v, want [9]", lines)
			}
			if !hasWarning(tb.Warnings(), 7, "duplicate entry") || !hasWarning(tb.Warnings(), 8, "key: value") {
				t.Errorf("warnings %v lack the duplicate and the alias-format remark", tb.Warnings())
			}
		})
	}
}

func hasWarning(ws []diag.Warning, line int, text string) bool {
	for _, w := range ws {
		if w.Pos.Line == line && strings.Contains(w.Msg, text) {
			return true
		}
	}
	return false
}

func TestNoFoldFix(t *testing.T) {
	// Match lists open tables without DICT_FLAG_FOLD_FIX: inline and
	// texthash keys keep their case; postmap-built databases were folded.
	files := map[string]string{"/t": "Mixed.Example x\n", "/h": "Mixed.Example x\n", "/h.db": ""}
	opt := fsWith(files)
	opt.NoFoldFix = true
	for _, c := range []struct {
		spec  string
		found bool
	}{
		{"texthash:/t", false}, {"inline:{Mixed.Example=x}", false}, {"hash:/h", true},
	} {
		tb, err := Open(c.spec, at, opt)
		if err != nil {
			t.Fatal(err)
		}
		r, err := tb.Lookup("mixed.example")
		if err != nil || r.Found != c.found {
			t.Errorf("%s: Lookup(mixed.example) = %v, %v; want found=%v", c.spec, r.Found, err, c.found)
		}
	}
}

func TestInlineStatic(t *testing.T) {
	tb, err := Open("inline:{a=b, {c = d e}, A=last}", at, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkLookups(t, tb, []lookupCase{{"a", true, "last", 12}, {"C", true, "d e", 12}, {"x", false, "", 0}})
	for spec, want := range map[string]string{"static:OK": "OK", "static:{ REJECT go away }": "REJECT go away"} {
		tb, err := Open(spec, at, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkLookups(t, tb, []lookupCase{{"anything", true, want, 12}})
	}
	// Past maxSmall entries the table moves to a map: the last value of
	// a key still wins, whichever side of the move it is set on.
	var big []string
	for i := range 2*maxSmall + 1 {
		big = append(big, fmt.Sprintf("k%d=v%d", i, i))
	}
	big = append(big, "K3=again", "k20=last")
	tb, err = Open("inline:{"+strings.Join(big, ", ")+"}", at, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkLookups(t, tb, []lookupCase{{"k0", true, "v0", 12}, {"k3", true, "again", 12}, {"k16", true, "v16", 12},
		{"k20", true, "last", 12}, {"k17", false, "", 0}})
	tb, err = Open("inline:{z=1, a=2, z=3}", at, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v := tb.(interface{ Values() []string }).Values(); !slices.Equal(v, []string{"3", "2"}) {
		t.Errorf("inline Values() = %q, want [3 2]", v)
	}
	tb, err = Open("pipemap:{inline:{a=b}, inline:{b=c}}", at, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkLookups(t, tb, []lookupCase{{"a", true, "c", 0}, {"b", false, "", 0}})
	tb, err = Open("unionmap:{inline:{a=1}, inline:{a=2, b=3}}", at, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkLookups(t, tb, []lookupCase{{"a", true, "1,2", 0}, {"b", true, "3", 0}})
}

// TestOpenOutcomes pins down which specs are readable, unknown (cannot be
// evaluated offline) or a Postfix failure.
func TestOpenOutcomes(t *testing.T) {
	const (
		ok = iota
		unknown
		postfixFails
		lookupFails
	)
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("10.0.0.0/8 X\n", 100)), 0o644); err != nil {
		t.Fatal(err)
	}
	live := Options{Live: true}
	offline := Options{}
	small := Options{MaxFileSize: 100}
	tests := []struct {
		spec string
		opt  Options
		want int
	}{
		{"cidr:{{10.0.0.0/8 X}}", offline, ok},
		{"ldap:/etc/postfix/ldap.cf", offline, unknown},
		{"proxy:mysql:/etc/postfix/my.cf", offline, unknown},
		{"proxy:inline:{a=b}", offline, ok},
		{"socketmap:inet:127.0.0.1:9999:name", offline, unknown},
		{"tcp:127.0.0.1:2000", offline, unknown},
		{"unix:passwd.byname", offline, unknown},
		{"randmap:{a,b}", offline, unknown},
		{"2001:db8::/32", offline, postfixFails},
		{"[2001:db8::1]:x", offline, postfixFails},
		{"plugin:whatever", offline, unknown},
		{"nocolon", offline, postfixFails},
		{"inline:{}", offline, postfixFails},
		{"inline:{a}", offline, postfixFails},
		{"inline:{a=b}junk", offline, postfixFails},
		{"static:{unclosed", offline, postfixFails},
		{"fail:x", offline, lookupFails},
		{"cidr:" + filepath.Join(dir, "missing"), live, postfixFails},
		{"cidr:" + filepath.Join(dir, "missing"), offline, unknown},
		{"texthash:" + filepath.Join(dir, "missing"), live, postfixFails},
		{"hash:" + filepath.Join(dir, "missing"), live, postfixFails},
		{"hash:" + filepath.Join(dir, "missing"), offline, unknown},
		{"cidr:" + dir, offline, unknown},
		{"cidr:/dev/zero", offline, unknown},
		{"cidr:relative.cidr", offline, unknown},
		{"cidr:" + big, small, unknown},
		{"cidr:" + big, offline, ok},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			tb, err := Open(tt.spec, at, tt.opt)
			got := ok
			switch {
			case IsUnknown(err):
				got = unknown
			case err != nil:
				got = postfixFails
				var de *diag.Error
				if !errors.As(err, &de) || de.Pos != at {
					t.Errorf("error %v is not a *diag.Error at %s", err, at)
				}
			default:
				if _, lerr := tb.Lookup("10.1.2.3"); lerr != nil && !IsUnknown(lerr) {
					got = lookupFails
				}
			}
			if got != tt.want {
				t.Errorf("outcome %d (err %v), want %d", got, err, tt.want)
			}
		})
	}
}

func TestRelativeDir(t *testing.T) {
	opt := fsWith(map[string]string{"/var/spool/postfix/t.cidr": "10.0.0.0/8 X\n"})
	opt.Dir = "/var/spool/postfix"
	tb, err := Open("cidr:t.cidr", at, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkLookups(t, tb, []lookupCase{{"10.0.0.1", true, "X", 1}})
}

func TestStaleDatabase(t *testing.T) {
	m := fstest.MapFS{
		"etc/access":    {Data: []byte("a OK\n"), ModTime: time.Unix(2000, 0)},
		"etc/access.db": {Data: nil, ModTime: time.Unix(1000, 0)},
	}
	tb, err := Open("hash:/etc/access", at, Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(tb.Warnings(), 12, "newer than") {
		t.Errorf("no stale-database warning: %v", tb.Warnings())
	}
	delete(m, "etc/access.db")
	tb, err = Open("hash:/etc/access", at, Options{FS: m})
	if err != nil {
		t.Fatal(err)
	}
	if !hasWarning(tb.Warnings(), 12, "not available") {
		t.Errorf("no missing-database warning offline: %v", tb.Warnings())
	}
}

func TestReadFileRefusesNonRegular(t *testing.T) {
	if _, err := ReadFile("/dev/null", Options{}); err == nil || !IsUnknown(err) {
		t.Errorf("ReadFile(/dev/null) err = %v, want unknown", err)
	}
	_, err := ReadFile("/nonexistent/x", Options{})
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}

func ExampleOpen() {
	tb, err := Open("cidr:{{192.168.1.1 OK}, {192.168.0.0/16 REJECT}}", diag.Pos{File: "main.cf", Line: 7}, Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, key := range []string{"192.168.1.1", "192.168.7.7", "10.0.0.1", "mail.example.com"} {
		r, _ := tb.Lookup(key)
		fmt.Printf("%s: found=%v %q\n", key, r.Found, r.Value)
	}
	_, err = Open("ldap:/etc/postfix/ldap-relay.cf", diag.Pos{File: "main.cf", Line: 8}, Options{})
	fmt.Println(IsUnknown(err))
	// Output:
	// 192.168.1.1: found=true "OK"
	// 192.168.7.7: found=true "REJECT"
	// 10.0.0.1: found=false ""
	// mail.example.com: found=false ""
	// true
}

func TestFormatAddr(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3": "10.1.2.3", "::": "::", "::1": "::1", "2001:db8::1": "2001:db8::1",
		"2001:db8:0:0:1:0:0:1": "2001:db8::1:0:0:1", "2001:0:0:1:0:0:0:1": "2001:0:0:1::1",
		"::ffff:1.2.3.4": "::ffff:1.2.3.4", "::1.2.3.4": "::1.2.3.4", "1::": "1::", "1:0:2:0:3:0:4:0": "1:0:2:0:3:0:4:0",
		"FE80::1%eth0": "fe80::1",
	} {
		if got := FormatAddr(netip.MustParseAddr(in)); got != want {
			t.Errorf("FormatAddr(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestValues(t *testing.T) {
	files := map[string]string{
		"/c": "10.0.0.0/8 OK\nif 1.2.3.4\n1.2.3.4 REJECT x\nendif\n",
		"/r": "/^(a)$/ OK $1 $$\n/b/ DUNNO\n",
		"/h": "b 2\na 1\n",
	}
	for spec, want := range map[string]string{
		"cidr:/c":                               "[OK REJECT x]",
		"regexp:/r":                             "[OK ${1} $$ DUNNO]",
		"texthash:/h":                           "[2 1]",
		"static:{PERMIT}":                       "[PERMIT]",
		"proxy:texthash:/h":                     "[2 1]",
		"pipemap:{inline:{a=b}, inline:{b=OK}}": "[OK]",
		"unionmap:{inline:{a=1}, static:{TWO}}": "[1 TWO]",
	} {
		tb, err := Open(spec, at, fsWith(files))
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(Values(tb)); got != want {
			t.Errorf("Values(%s) = %s, want %s", spec, got, want)
		}
	}
}

// TestPatternMemoryBound: a regexp: or pcre: table compiles at most
// maxPatternBytes of patterns; a lookup that reaches a pattern past the
// bound is unknown (never a miss), and the rules before it still answer.
// Compiled, the 2 MB pattern alone held about 200 MB; an 18 MB table of
// 400,000 small patterns took 2 GB.
func TestPatternMemoryBound(t *testing.T) {
	var many strings.Builder
	many.WriteString("/^first$/ FIRST\n")
	for i := 0; many.Len() <= maxPatternBytes+100; i++ {
		fmt.Fprintf(&many, "/^[a-z0-9.-]+@sub%d\\.example\\.com$/ REJECT\n", i)
	}
	for _, tt := range []struct {
		name, typ, content string
		line               int // where the bound is reached
	}{
		{"one long regexp pattern", "regexp", "/^first$/ FIRST\n/" + strings.Repeat("(a|b)", 2<<20/5) + "/ LONG\n/z/ Z\n", 2},
		{"one long pcre pattern", "pcre", "/^first$/ FIRST\n/" + strings.Repeat("xy", 1<<20) + "/ LONG\n/z/ Z\n", 2},
		{"many small patterns", "pcre", many.String(), strings.Count(many.String(), "\n")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tb, err := Open(tt.typ+":/t", at, fsWith(map[string]string{"/t": tt.content}))
			if err != nil {
				t.Fatal(err)
			}
			checkLookups(t, tb, []lookupCase{{"first", true, "FIRST", 1}})
			_, err = tb.Lookup("nothing-matches-this")
			var u *UnknownError
			if !errors.As(err, &u) || u.Pos.File != "/t" || u.Pos.Line > tt.line {
				t.Fatalf("Lookup of a miss: err = %v, want *UnknownError at /t:%d or before", err, tt.line)
			}
			found := false
			for _, w := range tb.Warnings() {
				found = found || strings.Contains(w.Msg, "the most pfaudit compiles of one table")
			}
			if !found {
				t.Errorf("no warning about the bound: %v", tb.Warnings())
			}
		})
	}
}

package postconf

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// expandVars is the parameter table of TestExpand.
var expandVars = map[string]string{
	"a":      "A",
	"b":      "$a-$a",
	"empty":  "",
	"dollar": "$$x",
	"self":   "x $self",
	"loop1":  "$loop2",
	"loop2":  "${loop1}",
	"lvl":    "3.6",
	"num":    "10",
	"spaces": "a b",
	"cond":   "${a?{$b}:{no}}",
	"brace":  "{x}",
	"bad":    "${a",
}

func mapLookup(name string) (string, bool) {
	v, ok := expandVars[name]
	return v, ok
}

// TestExpand covers every form postconf(5) and mac_expand(3) describe; the
// results were checked against postconf -x of Postfix 3.7.11.
func TestExpand(t *testing.T) {
	tests := []struct {
		in, want string
		undef    []string
		err      string // substring of the error; "" for success
	}{
		// Plain references.
		{in: "$a", want: "A"},
		{in: "${a}", want: "A"},
		{in: "$(a)", want: "A"},
		{in: "$a.$a", want: "A.A"},
		{in: "$a_x", want: "", undef: []string{"a_x"}},
		{in: "x$a-y", want: "xA-y"},
		{in: "$b", want: "A-A"},
		{in: "${ a }", want: "A"},
		{in: "${a }", want: "A"},
		{in: "$undefined", want: "", undef: []string{"undefined"}},
		{in: "$undefined $undefined", want: " ", undef: []string{"undefined"}},
		// $$ is a literal dollar, not expanded again.
		{in: "$$", want: "$"},
		{in: "$$a", want: "$a"},
		{in: "$dollar", want: "$x"},
		{in: "a$$$a", want: "a$A"},
		{in: "x$$y$$z", want: "x$y$z"},
		{in: "x $$$$ y", want: "x $$ y"},
		{in: "$a$$", want: "A$"},
		{in: "pre $a mid $$ post $a end", want: "pre A mid $ post A end"},
		// Conditionals.
		{in: "${a?yes}", want: "yes"},
		{in: "${empty?yes}", want: ""},
		{in: "${undefined?yes}", want: "", undef: []string{"undefined"}},
		{in: "${a:no}", want: ""},
		{in: "${empty:no}", want: "no"},
		{in: "${undefined:no}", want: "no", undef: []string{"undefined"}},
		{in: "${a?$b}", want: "A-A"},
		{in: "${a?{x y}}", want: "x y"},
		{in: "${a ? {x y} }", want: "x y"},
		{in: "${empty:{x y}}", want: "x y"},
		{in: "${a?{t}:{f}}", want: "t"},
		{in: "${empty?{t}:{f}}", want: "f"},
		{in: "${empty ? {t} : {f}}", want: "f"},
		{in: "${a?{t}:f}", want: "t"},
		{in: "${empty?{t}:f}", want: "f"},
		{in: "${a?t:f}", want: "t:f"}, // without braces the text runs to the end
		{in: "${a??foo:{b}ar}", want: "?foo:{b}ar"},
		{in: "$(a?x)", want: "x"},
		{in: "$cond", want: "A-A"},
		// Relational operators; numeric when both sides are all digits.
		{in: "${{a}=={a}}", want: "true"},
		// Undefined names in relational operands are reported too.
		{in: "$u1 ${{$u2} == {}}", want: " true", undef: []string{"u1", "u2"}},
		{in: "${{a}!={a}}", want: ""},
		{in: "${{a} == {b} ? {eq} : {ne}}", want: "ne"},
		{in: "${{$a} == {A} ? {eq} : {ne}}", want: "eq"},
		{in: "${{10} < {9} ? {lt} : {ge}}", want: "ge"},
		{in: "${{a} < {b} ? {lt} : {ge}}", want: "lt"},
		{in: "${{007} == {7} ? {eq} : {ne}}", want: "eq"},
		{in: "${{00}=={0}?eq:ne}", want: "eq:ne"},
		{in: "${{ 1}=={1}?eq:ne}", want: ""},
		{in: "${{-1}<{1}?lt:ge}", want: "lt:ge"},
		{in: "${{}=={}}", want: "true"},
		{in: "${{}=={1}}", want: ""},
		{in: "${{$num} >= {9}}", want: "true"},
		{in: "${{$num} <= {9}}", want: ""},
		{in: "${{$num} > {9}}", want: "true"},
		{in: "${ {a} == {a} : {f}}", want: ""},
		{in: "${{a} != {a} : {f}}", want: "f"},
		// Compatibility levels compare per component.
		{in: "${{3.6} <level {3.10} ? {lt} : {ge}}", want: "lt"},
		{in: "${{3.6} <=level {3.6} ? {le} : {gt}}", want: "le"},
		{in: "${{$lvl} <level {2} ? {old} : {new}}", want: "new"},
		{in: "${{3} ==level {3.0}}", want: "true"},
		{in: "${{3.6.0} ==level {3.6}}", want: "true"},
		{in: "${{+3} ==level {3}}", want: "true"},
		{in: "${{ 3} ==level {3}}", want: "true"},
		{in: "${{2147483648} ==level {3}}", want: ""},
		// Errors: every one makes postconf exit.
		{in: "${a", err: "truncated macro reference"},
		{in: "$(a}", err: "truncated macro reference"},
		{in: "$", err: "empty macro name"},
		{in: "a$", err: "empty macro name"},
		{in: "${}", err: "empty macro name"},
		{in: "${a)}", err: "attribute name syntax error"},
		{in: "${my name}", err: "attribute name syntax error"},
		{in: "${{a} = {b}}", err: `"==" or "!=" or "<"`},
		{in: "${{a}=={b}?{x}y}", err: `":" expected`},
		{in: "${{a}=={b}:{x}:y}", err: "unexpected input"},
		{in: "${{a}=={b}", err: "truncated macro reference"},
		{in: "${{a}=={b}x}", err: `"?" or ":" expected`},
		{in: "${{a}== b}", err: `"{expression}" expected`},
		{in: "${{a}<foo{b}}", err: "bad operator suffix"},
		{in: "${{a}==level{3}}", err: "malformed compatibility level"},
		{in: "${{3.}==level{3}}", err: "malformed compatibility level"},
		{in: "${{3 }==level{3}}", err: "malformed compatibility level"},
		{in: "${{3.6.1.2}<level{3}}", err: "malformed compatibility level"},
		{in: "${{99999999999999999999}=={1}}", err: "bad numerical conversion"},
		{in: "${a?{x}", err: "truncated macro reference"},
		{in: "${a?{x}junk}", err: `":" expected`},
		{in: "$self", err: "unreasonable macro call nesting"},
		{in: "$loop1", err: "unreasonable macro call nesting"},
		{in: "$bad", err: "truncated macro reference"},
		// A syntax error in a branch that is not taken goes unnoticed.
		{in: "${empty?$bad}", want: ""},
		{in: "${a:$bad}", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			x, err := Expand(tt.in, mapLookup)
			if tt.err != "" {
				if err == nil {
					t.Fatalf("Expand(%q) = %q, want an error with %q", tt.in, x.Value, tt.err)
				}
				var ee *ExpandError
				if !errors.As(err, &ee) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Expand(%q) error = %v, want an *ExpandError with %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Expand(%q): %v", tt.in, err)
			}
			if x.Value != tt.want {
				t.Errorf("Expand(%q) = %q, want %q", tt.in, x.Value, tt.want)
			}
			if !slices.Equal(x.Undefined, tt.undef) {
				t.Errorf("Expand(%q) undefined = %q, want %q", tt.in, x.Undefined, tt.undef)
			}
		})
	}
}

// chainLookup defines c1 = $c2, ..., cn = end.
func chainLookup(n int) LookupFunc {
	return func(name string) (string, bool) {
		var i int
		if _, err := fmt.Sscanf(name, "c%d", &i); err != nil || i < 1 || i > n {
			return "", false
		}
		if i == n {
			return "end", true
		}
		return fmt.Sprintf("$c%d", i+1), true
	}
}

// TestExpandNestingLimit pins the boundary postconf 3.7.11 has: a value
// "$c1" with c1 = $c2 ... c100 = end expands, with c101 it fails.
func TestExpandNestingLimit(t *testing.T) {
	for _, tt := range []struct {
		n  int
		ok bool
	}{{99, true}, {100, true}, {101, false}, {3000, false}} {
		x, err := Expand("$c1", chainLookup(tt.n))
		if tt.ok && (err != nil || x.Value != "end") {
			t.Errorf("chain of %d: %q, %v; want \"end\"", tt.n, x.Value, err)
		}
		if !tt.ok && (err == nil || !strings.Contains(err.Error(), "unreasonable macro call nesting")) {
			t.Errorf("chain of %d: %q, %v; want a nesting error", tt.n, x.Value, err)
		}
	}
}

// TestExpandBounded feeds the expander inputs that would recurse without
// end or exhaust the stack in a naive implementation: relational operands
// restart Postfix's nesting counter, so a self-reference through one
// recurses forever there.
func TestExpandBounded(t *testing.T) {
	deep := strings.Repeat("${{", 5000) + "x" + strings.Repeat("}=={x}}", 5000)
	deepCond := strings.Repeat("${a?{", 5000) + "x" + strings.Repeat("}}", 5000)
	vars := map[string]string{
		"r":  "${{$r} == {x}}",
		"r2": "${{x} == {${{$r2}=={y}}}}",
	}
	lookup := func(n string) (string, bool) {
		if v, ok := vars[n]; ok {
			return v, true
		}
		return mapLookup(n)
	}
	for name, in := range map[string]string{"nested relational": deep, "nested conditional": deepCond, "self via operand": "$r", "self via nested operand": "$r2"} {
		t.Run(name, func(t *testing.T) {
			if _, err := Expand(in, lookup); err == nil {
				t.Fatalf("no error for %s", name)
			}
			if err := ScanNames(in, func(string) {}); name != "self via operand" && name != "self via nested operand" && err == nil {
				t.Fatalf("ScanNames: no error for %s", name)
			}
		})
	}
}

func TestScanNames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"$a ${b} $(c)", []string{"a", "b", "c"}, false},
		{"${a?$b}${c:$d}", []string{"a", "b", "c", "d"}, false},
		{"${a?{$b}:{$c}}", []string{"a", "b", "c"}, false},
		{"${{$a} == {$b} ? {$c} : {$d}}", []string{"a", "b", "c", "d"}, false},
		{"$$a $$ ${x", nil, true},
		{"$a ${x $b", []string{"a"}, true},
		{"plain text", nil, false},
	}
	for _, tt := range tests {
		var got []string
		err := ScanNames(tt.in, func(n string) { got = append(got, n) })
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("ScanNames(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestExpandWorkBound: repeated references to a large value end in an
// error instead of gigabytes of output; one large value still expands.
func TestExpandWorkBound(t *testing.T) {
	big := strings.Repeat("x", 1<<20) // 1 MiB, referenced 1000 times below
	vars := map[string]string{"big": big, "many": strings.Repeat("$big ", 1000)}
	lookup := func(n string) (string, bool) { v, ok := vars[n]; return v, ok }
	if x, err := Expand("$big", lookup); err != nil || len(x.Value) != len(big) {
		t.Fatalf("one large value: %d bytes, %v", len(x.Value), err)
	}
	if _, err := Expand("$many", lookup); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("1000 references to 1 MiB: %v", err)
	}
}

// TestExpandErrorQuoteBounded: an expansion error quotes at most a short
// piece of the offending value, however long the value (a main.cf line
// can be 4 MiB): the message is printed, wrapped into reports and stored
// in JSON for every listener and finding that meets it.
func TestExpandErrorQuoteBounded(t *testing.T) {
	long := strings.Repeat("y", 1<<20)
	lookup := func(n string) (string, bool) {
		switch n {
		case "x":
			return "1", true
		case "lvl":
			return long, true
		case "n":
			return strings.Repeat("9", 1<<20), true
		}
		return "", false
	}
	for _, tt := range []struct{ name, in, msg string }{
		{"truncated reference", strings.Repeat("${x?", 200_000), "truncated macro reference"},
		{"unbalanced relational", "$({" + long + ")", "unbalanced {} in attribute expression"},
		{"attribute name syntax", "${" + long + "#}", "attribute name syntax error"},
		{"after ?{...}", "${x?{" + long + "}junk}", `":" expected`},
		{"after :{...}", "${x:{" + long + "}junk}", "unexpected input"},
		{"no operator", "${{" + long + "} {b}}", `"==" or "!="`},
		{"long operator", "${{a} ==" + strings.Repeat("=", 1<<20) + " {b}}", `"==" or "!="`},
		{"bad operator suffix", "${{a} ==" + long + " {b}}", "bad operator suffix"},
		{"no right operand", "${{" + long + "} == b}", `"{expression}" expected`},
		{"bad level", "${{$lvl} <=level {3.6}}", "malformed compatibility level"},
		{"bad number", "${{$n} < {1}}", "bad numerical conversion"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Expand(tt.in, lookup)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %.300q, want %q", err, tt.msg)
			}
			if n := len(err.Error()); n > 400 {
				t.Fatalf("error of %d bytes: %.300q", n, err)
			}
		})
	}
}

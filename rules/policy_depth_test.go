package rules

import (
	"strings"
	"testing"
	"time"
)

// TestPolicyDepthBound: nesting is bounded before the TOML decoder sees
// the file (a 32 KB file of nested inline tables took 18 s and 2.8 GB);
// brackets inside strings and comments do not count.
func TestPolicyDepthBound(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		line       int // 0: accepted by the depth check
	}{
		{"example shape", "role = \"mx\"\n[[expect]]\nparameter = \"mynetworks\"\nwithin = [\"10.0.0.0/8\"]\n", 0},
		{"brackets in strings", "role = \"[[[[[[[[[[[{{{{{{{{{\"\nskip = ['[[[[[[[[[[[[']\n", 0},
		{"brackets in a multi-line string", "role = \"\"\"\n[[[[[[[[[[[[[[[\n\"\"\"\n", 0},
		{"brackets in a comment", "# [[[[[[[[[[[[[[[[[[[[\nrole = \"mx\"\n", 0},
		{"escaped quote in a string", "role = \"a\\\"[[[[[[[[[[[[[[\"\n", 0},
		{"nested inline tables", "role = \"mx\"\nx = " + strings.Repeat("{a=", 5000) + strings.Repeat("}", 5000) + "\n", 2},
		{"nested arrays", "\n\nx = " + strings.Repeat("[", 9) + strings.Repeat("]", 9) + "\n", 3},
		{"eight levels pass", "x = " + strings.Repeat("[", 8) + strings.Repeat("]", 8) + "\n", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := checkPolicyDepth("p.toml", []byte(tt.text))
			if time.Since(start) > time.Second {
				t.Errorf("took %v", time.Since(start))
			}
			if tt.line == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "p.toml:"+itoa(tt.line)+":") || !strings.Contains(err.Error(), "nested more than 8 deep") {
				t.Fatalf("error %v, want p.toml:%d and the nesting message", err, tt.line)
			}
		})
	}
	// End to end: ParsePolicy refuses before decoding, quickly.
	start := time.Now()
	if _, err := ParsePolicy("p.toml", []byte("x = "+strings.Repeat("{a=", 10000)+strings.Repeat("}", 10000))); err == nil {
		t.Error("deeply nested policy accepted")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("ParsePolicy took %v", d)
	}
}

package rules

import (
	"os"
	"testing"
)

// FuzzParsePolicy: any bytes give a policy or an error, never a panic.
func FuzzParsePolicy(f *testing.F) {
	if b, err := os.ReadFile("../testdata/policy/example.toml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("role = \"mx\"\nallowed_networks = [\"10.0.0.0/8\"]\n[[expect]]\nparameter = \"mynetworks\"\nwithin = [\"::/0\"]\n"))
	f.Add([]byte("[severity]\nPFA-HYG-001 = \"loud\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy("policy.toml", data)
		if err == nil && p == nil {
			t.Fatal("no policy and no error")
		}
	})
}

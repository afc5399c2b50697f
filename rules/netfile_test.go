package rules

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyNetworksFromLargeFile: PFA-POL-001 sees every network of a
// mynetworks /file the relay model reads, however long the file. Files
// over 1 MiB were skipped without a word: a 1.5 MB file ending in
// 0.0.0.0/0 made an open relay with no policy finding.
func TestPolicyNetworksFromLargeFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, lines int, last string) string {
		var b strings.Builder
		for i := range lines {
			fmt.Fprintf(&b, "10.%d.%d.0/24\n", i>>8&255, i&255)
		}
		b.WriteString(last + "\n")
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small := write("small", 3, "0.0.0.0/0")
	large := write("large", 100_000, "0.0.0.0/0") // about 1.5 MB
	inside := write("inside", 100_000, "10.9.9.0/24")
	// Over the rules' 4 MiB bound, every network inside the policy: the
	// rules did not read it, and say so rather than pass it.
	huge := write("huge", 330_000, "10.9.9.0/24")
	policy := "allowed_networks = [\"127.0.0.0/8\", \"10.0.0.0/8\"]\n"
	main := func(file string) string {
		return "compatibility_level = 3.6\nmynetworks = 127.0.0.0/8 " + file + "\n"
	}
	runCases(t, []ruleCase{
		{id: "PFA-POL-001", name: "small file", fire: true, main: main(small), policy: policy,
			want: &want{file: small, line: 4, msg: []string{"0.0.0.0/0"}}},
		{id: "PFA-POL-001", name: "1.5 MB file", fire: true, main: main(large), policy: policy,
			want: &want{file: large, line: 100_001, msg: []string{"0.0.0.0/0"}}},
		{id: "PFA-POL-001", name: "1.5 MB file inside", main: main(inside), policy: policy},
		{id: "PFA-POL-001", name: "file over the rules' bound", fire: true, main: main(huge), policy: policy,
			want: &want{line: 2, msg: []string{huge, "larger than 4 MiB", "did not check"}}},
	})
}

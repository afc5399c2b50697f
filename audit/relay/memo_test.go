package relay

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// TestDecisionMemoSound checks the decision memo against decisions made
// without it, on every bundled, scenario and corpus configuration: each
// request of each listener's analysis, decided by a model that has
// already decided the others (and so answers many from its memo), must
// get exactly the decision a fresh model computes. With collide, every
// key of a mask hashes alike: each lookup walks one chain of entries and
// must tell them apart by their fields.
func TestDecisionMemoSound(t *testing.T) {
	for _, collide := range []bool{false, true} {
		t.Run(map[bool]string{false: "hashed", true: "colliding"}[collide], func(t *testing.T) {
			testDecisionMemoSound(t, collide)
		})
	}
}

func testDecisionMemoSound(t *testing.T, collide bool) {
	var dirs []string
	for _, pat := range []string{"../../testdata/configs/*/main.cf", "../../testdata/scenarios/*/main.cf", "../../testdata/corpus/*/main.cf"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			dirs = append(dirs, filepath.Dir(f))
		}
	}
	if len(dirs) < 20 {
		t.Fatalf("found only %d configurations", len(dirs))
	}
	hits := 0
	for _, dir := range dirs {
		cfg, err := postconf.LoadDir(dir, defaults.Builtin(), "built-in")
		if err != nil {
			continue // scenarios that are broken on purpose
		}
		for _, a := range Analyze(cfg, Options{}) {
			memo := NewModel(cfg, a.Listener.Service, Options{})
			memo.decided.collide = collide
			if a.Listener.Postscreen {
				memo.front = a.Listener.Front
			}
			for _, cs := range a.Cases {
				got := memo.Decide(cs.Request)
				fresh := NewModel(cfg, a.Listener.Service, Options{})
				if a.Listener.Postscreen {
					fresh.front = a.Listener.Front
				}
				want := fresh.Decide(cs.Request)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s %q: memoised decision\n%+v\nfresh\n%+v", dir, a.Listener.Key, cs.Trick, got, want)
				}
			}
			hits += len(memo.decided.entries)
			if n := len(a.Cases); n > 0 && len(memo.decided.entries) == 0 {
				t.Errorf("%s %s: nothing memoised", dir, a.Listener.Key)
			}
		}
	}
	t.Logf("%d configurations, %d memoised decisions", len(dirs), hits)
}

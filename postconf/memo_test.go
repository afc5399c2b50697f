package postconf

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
)

// fresh expands name in svc's scope without the memo: the reference the
// memoised Config.Expand must equal.
func fresh(c *Config, svc *Service, name string) (string, error) {
	v, ok := c.Raw(svc, name)
	if !ok {
		return "", nil
	}
	if v.Err != nil {
		return "", v.Err
	}
	if rawParams[name] {
		return v.Raw, nil
	}
	x, err := expandLimit(v.Raw, c.lookupErr(svc), c.workLimit)
	if err != nil {
		return "", c.positioned(v, namedErr(name, err))
	}
	return x.Value, nil
}

// bothMemoPolicies runs f with the memo keeping every expansion and with
// its own threshold.
func bothMemoPolicies(t *testing.T, f func(t *testing.T)) {
	saved := memoMinSteps
	defer func() { memoMinSteps = saved }()
	for _, min := range []int{0, saved} {
		memoMinSteps = min
		t.Run(fmt.Sprintf("keep from %d steps", min), f)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// randomValue builds a value of parameter p<self> from every expansion
// form, referring to the other parameters (p0..pN; mostly later ones, a
// few cycles), to names only some services set (o0..o2), to service_name
// and to undefined names.
func randomValue(r *rand.Rand, self, n, depth int) string {
	var b strings.Builder
	for range 1 + r.IntN(3) {
		to := r.IntN(n)
		if self+1 < n && r.IntN(10) > 0 {
			to = self + 1 + r.IntN(n-self-1)
		}
		ref := fmt.Sprintf("p%d", to)
		switch k := r.IntN(12); {
		case k < 3:
			b.WriteString("$" + ref)
		case k == 3:
			b.WriteString("${" + ref + "}")
		case k == 4:
			fmt.Fprintf(&b, "$o%d", r.IntN(3))
		case k == 5:
			b.WriteString("$service_name")
		case k == 6:
			fmt.Fprintf(&b, "$undef%d", r.IntN(3))
		case k == 7 && depth < 2:
			fmt.Fprintf(&b, "${%s?{%s}:{%s}}", ref, randomValue(r, self, n, depth+1), randomValue(r, self, n, depth+1))
		case k == 8 && depth < 2:
			fmt.Fprintf(&b, "${{$%s} == {%s} ? {%s} : {x}}", ref, randomValue(r, self, n, depth+1), randomValue(r, self, n, depth+1))
		case k == 9:
			b.WriteString("$$" + ref)
		default:
			fmt.Fprintf(&b, "t%d", r.IntN(5))
		}
		b.WriteString(" ")
	}
	return b.String()
}

// TestMemoEqualsFresh expands random configurations (cycles, undefined
// names, per-service -o settings, conditionals and relational operands
// included) in every scope and in a random order, so that memoised
// expansions are reused at other depths and from other scopes, and
// requires exactly the value or the error of a fresh expansion.
func TestMemoEqualsFresh(t *testing.T) { bothMemoPolicies(t, testMemoEqualsFresh) }

func testMemoEqualsFresh(t *testing.T) {
	const params = 25
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 7))
		var main strings.Builder
		for i := range params {
			fmt.Fprintf(&main, "p%d = %s\n", i, randomValue(r, i, params, 0))
		}
		fmt.Fprintf(&main, "o0 = main0 $p%d\n", r.IntN(params))
		master := fmt.Sprintf(`smtp inet n - y - - smtpd
  -o o0=svc0_$p%d
submission inet n - y - - smtpd
  -o o1=svc1
  -o p%d=over_$o1
relay unix - - n - - smtp
`, r.IntN(params), r.IntN(params))
		c := testConfig(t, main.String(), master)
		scopes := append([]*Service{nil}, c.Master.Services...)
		type job struct {
			svc  *Service
			name string
		}
		var jobs []job
		for _, s := range scopes {
			for i := range params {
				jobs = append(jobs, job{s, fmt.Sprintf("p%d", i)})
			}
			jobs = append(jobs, job{s, "o0"}, job{s, "o1"})
		}
		r.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
		for _, j := range jobs {
			got, gerr := c.Expand(j.svc, j.name)
			want, werr := fresh(c, j.svc, j.name)
			if got != want || errText(gerr) != errText(werr) {
				t.Fatalf("seed %d: Expand(%s, %s) = %q, %v; fresh: %q, %v\nmain.cf:\n%s\nmaster.cf:\n%s",
					seed, key(j.svc), j.name, got, gerr, want, werr, main.String(), master)
			}
		}
	}
}

// TestMemoDepth: an expansion memoised near the top is reached again
// deep in a chain, where Postfix's limit of 100 nested calls must still
// fail exactly where a fresh expansion fails.
func TestMemoDepth(t *testing.T) { bothMemoPolicies(t, testMemoDepth) }

func testMemoDepth(t *testing.T) {
	const n = 130
	var main strings.Builder
	for i := 1; i < n; i++ {
		fmt.Fprintf(&main, "c%d = ${c%d}\n", i, i+1)
	}
	fmt.Fprintf(&main, "c%d = end\n", n)
	for _, order := range []string{"deep first", "shallow first", "middle first"} {
		t.Run(order, func(t *testing.T) {
			c := testConfig(t, main.String(), "")
			var names []int
			for i := 1; i <= n; i++ {
				names = append(names, i)
			}
			switch order {
			case "deep first":
				slices.Reverse(names)
			case "middle first":
				names = append(names[n/2:], names[:n/2]...)
			}
			ok := 0
			for _, i := range names {
				name := fmt.Sprintf("c%d", i)
				got, gerr := c.Expand(nil, name)
				want, werr := fresh(c, nil, name)
				if got != want || errText(gerr) != errText(werr) {
					t.Fatalf("Expand(%s) = %q, %v; fresh: %q, %v", name, got, gerr, want, werr)
				}
				if gerr == nil {
					ok++
				}
			}
			// c30 .. c130 expand (c30 nests 100 deep), c1 .. c29 do
			// not, as with postconf -x of Postfix 3.7.11.
			if ok != 101 {
				t.Errorf("%d of the chain expanded, want 101", ok)
			}
		})
	}
}

// TestMemoUndefined: a memoised expansion still reports the undefined
// names it met, also through relational operands.
func TestMemoUndefined(t *testing.T) { bothMemoPolicies(t, testMemoUndefined) }

func testMemoUndefined(t *testing.T) {
	c := testConfig(t, "a = $u1 ${{$u2} == {}}\nb = x $a\n", "")
	for range 2 {
		x, err := c.ExpandValue(nil, "$b $a $u3")
		if err != nil || !slices.Equal(x.Undefined, []string{"u1", "u2", "u3"}) {
			t.Fatalf("ExpandValue: %q, undefined %q, %v; want u1 u2 u3", x.Value, x.Undefined, err)
		}
	}
}

// TestMemoScopes: a value that depends on a -o setting differs per
// service, and one that does not is the same everywhere, whichever scope
// expands it first.
func TestMemoScopes(t *testing.T) { bothMemoPolicies(t, testMemoScopes) }

func testMemoScopes(t *testing.T) {
	const main = "banner = $greeting on $service_name\ngreeting = hello $who\nwho = world\nplain = x $who\n"
	const master = "smtp inet n - y - - smtpd\nsub inet n - y - - smtpd -o who=submitters\n"
	want := map[string]string{
		"global/banner": "hello world on ", "smtp/inet/banner": "hello world on smtp", "sub/inet/banner": "hello submitters on sub",
		"global/plain": "x world", "smtp/inet/plain": "x world", "sub/inet/plain": "x submitters",
	}
	for _, first := range []int{0, 1, 2} {
		c := testConfig(t, main, master)
		scopes := []*Service{nil, c.Master.Services[0], c.Master.Services[1]}
		scopes = append(scopes[first:], scopes[:first]...)
		for _, s := range scopes {
			for _, n := range []string{"plain", "banner"} {
				got, err := c.Expand(s, n)
				if w := want[key(s)+"/"+n]; err != nil || got != w {
					t.Errorf("first scope %d: Expand(%s, %s) = %q, %v; want %q", first, key(s), n, got, err, w)
				}
			}
		}
	}
}

// TestMemoFollowsDir: config_directory comes from Dir, which callers set
// after New; the memo must not keep a value of the old one.
func TestMemoFollowsDir(t *testing.T) { bothMemoPolicies(t, testMemoFollowsDir) }

func testMemoFollowsDir(t *testing.T) {
	c := testConfig(t, "x = $config_directory/file\n", "")
	c.Dir = "/etc/one"
	if v, _ := c.Expand(nil, "x"); v != "/etc/one/file" {
		t.Fatalf("x = %q", v)
	}
	c.Dir = "/etc/two"
	if v, _ := c.Expand(nil, "x"); v != "/etc/two/file" {
		t.Fatalf("after changing Dir: x = %q, want /etc/two/file", v)
	}
}

// TestMemoConcurrent expands one Config from several goroutines (run
// with -race).
func TestMemoConcurrent(t *testing.T) { bothMemoPolicies(t, testMemoConcurrent) }

func testMemoConcurrent(t *testing.T) {
	var main strings.Builder
	for i := range 200 {
		fmt.Fprintf(&main, "p%d = $p%d x%d\n", i, i+1, i)
	}
	main.WriteString("p200 = end $service_name\n")
	c := testConfig(t, main.String(), "smtp inet n - y - - smtpd\nsub inet n - y - - smtpd -o p150=over\n")
	scopes := []*Service{nil, c.Master.Services[0], c.Master.Services[1]}
	want := map[string]string{}
	for _, s := range scopes {
		for i := 0; i <= 200; i += 7 {
			n := fmt.Sprintf("p%d", i)
			v, err := fresh(c, s, n)
			want[key(s)+n] = v + errText(err)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for k := range 29 {
				i := (k*7 + g*49) % 203 / 7 * 7
				s := scopes[(g+k)%3]
				n := fmt.Sprintf("p%d", i)
				v, err := c.Expand(s, n)
				if w := want[key(s)+n]; v+errText(err) != w {
					t.Errorf("Expand(%s, %s) = %q, %v; want %q", key(s), n, v, err, w)
				}
			}
		})
	}
	wg.Wait()
}

// mapMemo is a memoScope of one scope, for expander-level tests.
type mapMemo map[string]*memoEntry

func (m mapMemo) get(name string) *memoEntry    { return m[name] }
func (m mapMemo) put(name string, e *memoEntry) { m[name] = e }
func (m mapMemo) sensitive(name string) bool    { return false }

// TestMemoLinear expands every link of 100-deep $name chains, top-down
// and bottom-up: without the memo that is 50 lookups per link, with it
// at most memoMinSteps or so.
func TestMemoLinear(t *testing.T) {
	const n, depth = 20000, 100
	vars := map[string]string{}
	var names []string
	for i := range n {
		name := fmt.Sprintf("c%d", i)
		names = append(names, name)
		if i%depth == depth-1 {
			vars[name] = fmt.Sprintf("end%d", i)
		} else {
			vars[name] = fmt.Sprintf("${c%d}", i+1)
		}
	}
	for _, order := range []string{"top-down", "bottom-up"} {
		if order == "bottom-up" {
			slices.Reverse(names)
		}
		lookups := 0
		lookup := func(name string) (string, bool, error) {
			lookups++
			v, ok := vars[name]
			return v, ok, nil
		}
		memo := mapMemo{}
		for _, name := range names {
			e := newExpander(lookup, maxWork, memo)
			e.expandName(name, vars[name])
			if x, err := e.result(); err != nil || !strings.HasPrefix(x.Value, "end") {
				t.Fatalf("%s: %s = %q, %v", order, name, x.Value, err)
			}
		}
		if lookups > (memoMinSteps+4)*n {
			t.Errorf("%s: %d lookups for %d links: the memo does not keep the cost linear", order, lookups, n)
		}
		t.Logf("%s: %d lookups for %d links, %d memoised", order, lookups, n, len(memo))
	}
}

package rules

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/pfaudit/pfaudit/internal/safefile"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Policy is a site policy (pfaudit audit --policy FILE): which rules apply
// to this host, what it trusts, and what its configuration must say. The
// file format is documented in testdata/policy/example.toml.
type Policy struct {
	// File is the policy file's name, for messages.
	File string
	// Roles select the rules that apply (a rule without roles always
	// applies). Empty: pfaudit infers them (Context.InferRoles).
	Roles []string
	// AllowedNetworks are the networks the site allows in mynetworks; a
	// mynetworks entry outside all of them is a finding (PFA-POL-001).
	AllowedNetworks []netip.Prefix
	// Skip lists rule IDs not to run.
	Skip []string
	// Severity overrides a rule's severity.
	Severity map[string]Severity
	// Expect are declarative expectations (PFA-POL-002).
	Expect []Expectation
}

// Expectation says what a parameter's effective value must be, globally
// or in one master.cf service's scope.
type Expectation struct {
	Parameter string
	// Service is "name/type" as postconf -M names it ("submission/inet"),
	// or "" for main.cf.
	Service string
	// Equals: the value, compared as a list (commas and whitespace are
	// separators; case is ignored). nil: no requirement.
	Equals *string
	// Contains: each item must be an element of the value.
	Contains []string
	// Excludes: no item may be an element of the value.
	Excludes []string
	// Within: every address or network in the value (files expanded) must
	// lie inside one of these; names and tables cannot and are reported.
	Within []netip.Prefix
	// Severity of a violation (default medium).
	Severity    Severity
	HasSeverity bool
	// Reason is shown with a violation.
	Reason string
	// Pos is the [[expect]] line in the policy file.
	Pos diag.Pos
}

// skips reports whether the policy skips rule id (nil policy: no).
func (p *Policy) skips(id string) bool {
	return p != nil && slices.Contains(p.Skip, id)
}

func (p *Policy) severityFor(id string) (Severity, bool) {
	if p == nil {
		return 0, false
	}
	s, ok := p.Severity[id]
	return s, ok
}

// PolicyErrors are several problems in one policy file, each with its
// position.
type PolicyErrors []*diag.Error

func (e PolicyErrors) Error() string {
	lines := make([]string, len(e))
	for i, x := range e {
		lines[i] = x.Error()
	}
	return strings.Join(lines, "\n")
}

// maxPolicySize bounds a policy file: the commented example is 3 KB, and
// a site with hundreds of [[expect]] entries stays far below.
const maxPolicySize = 64 << 10

// maxPolicyDepth bounds the nesting of arrays and inline tables. A policy
// needs two levels ([[expect]] holding within = [...]); the TOML decoder
// spends time and memory superlinear in the depth (a 32 KB file of nested
// inline tables took 18 s and 2.8 GB), so deeper input is refused before
// it is decoded.
const maxPolicyDepth = 8

// LoadPolicy reads and validates a policy file. Errors carry file:line:
// a *diag.Error for one problem, PolicyErrors for several. Only a regular
// file is read (a FIFO or a device is refused without blocking).
func LoadPolicy(path string) (*Policy, error) {
	data, err := safefile.ReadFile(path, maxPolicySize)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return ParsePolicy(path, data)
}

// checkPolicyDepth finds the first place where arrays and inline tables
// nest deeper than maxPolicyDepth, skipping strings and comments.
func checkPolicyDepth(name string, data []byte) error {
	depth, line, col := 0, 1, 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		col++
		switch c {
		case '\n':
			line, col = line+1, 0
		case '#':
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
		case '"', '\'':
			// Skip a basic or literal string, single- or multi-line.
			q := c
			multi := i+2 < len(data) && data[i+1] == q && data[i+2] == q
			if multi {
				i += 2
			}
			for i++; i < len(data); i++ {
				if data[i] == '\n' {
					line, col = line+1, 0
					if !multi {
						break
					}
				}
				if q == '"' && data[i] == '\\' {
					i++
					continue
				}
				if data[i] == q && (!multi || (i+2 < len(data) && data[i+1] == q && data[i+2] == q)) {
					if multi {
						i += 2
					}
					break
				}
			}
		case '[', '{':
			depth++
			if depth > maxPolicyDepth {
				return &diag.Error{Pos: diag.Pos{File: name, Line: line}, Col: col,
					Msg:  fmt.Sprintf("policy: arrays and inline tables nested more than %d deep: refused (a policy needs two levels)", maxPolicyDepth),
					Text: lineAt(data, line)}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

type policyFile struct {
	Role            string            `toml:"role"`
	Roles           []string          `toml:"roles"`
	AllowedNetworks []string          `toml:"allowed_networks"`
	Skip            []string          `toml:"skip"`
	Severity        map[string]string `toml:"severity"`
	Expect          []expectFile      `toml:"expect"`
}

type expectFile struct {
	Parameter string   `toml:"parameter"`
	Service   string   `toml:"service"`
	Equals    *string  `toml:"equals"`
	Contains  []string `toml:"contains"`
	Excludes  []string `toml:"excludes"`
	Within    []string `toml:"within"`
	Severity  string   `toml:"severity"`
	Reason    string   `toml:"reason"`
}

var (
	tomlTypeErr = lazyRegexp(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)
	paramName   = lazyRegexp(`^[A-Za-z0-9_]+$`)
	serviceName = lazyRegexp(`^[^/\s]+/(inet|unix|unix-dgram|fifo|pass)$`)
)

// ParsePolicy decodes and validates a policy; name is used in positions.
func ParsePolicy(name string, data []byte) (*Policy, error) {
	if len(data) > maxPolicySize {
		return nil, fmt.Errorf("policy: %s: larger than %s: refused", name, safefile.Size(maxPolicySize))
	}
	if err := checkPolicyDepth(name, data); err != nil {
		return nil, err
	}
	var f policyFile
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, &diag.Error{Pos: diag.Pos{File: name, Line: pe.Position.Line},
				Msg: "policy: " + pe.Message, Text: lineAt(data, pe.Position.Line), Col: pe.Position.Col}
		}
		// Type mismatches are plain errors: "toml: line N (last key "k"): ...".
		pos, msg := diag.Pos{File: name}, err.Error()
		if m := tomlTypeErr().FindStringSubmatch(msg); m != nil {
			pos.Line, _ = strconv.Atoi(m[1])
			msg = fmt.Sprintf("%s: %s", m[2], m[3])
		}
		return nil, &diag.Error{Pos: pos, Msg: "policy: " + msg, Text: lineAt(data, pos.Line)}
	}
	v := &policyValidator{name: name, data: data}
	for _, k := range md.Undecoded() {
		v.errKey(k, "unknown key %q%s", k.String(), didYouMean(k[len(k)-1], policyKeys(k)))
	}
	p := &Policy{File: name, Severity: map[string]Severity{}}

	switch {
	case f.Role != "" && len(f.Roles) > 0:
		v.errAt("", 0, "roles", "set either role or roles, not both")
	case f.Role != "":
		p.Roles = []string{f.Role}
	default:
		p.Roles = f.Roles
	}
	for _, r := range p.Roles {
		if !slices.Contains(AllRoles, r) {
			key := "roles"
			if f.Role != "" {
				key = "role"
			}
			v.errValue("", 0, key, r, "unknown role %q (want %s)%s", r, strings.Join(AllRoles, ", "), didYouMean(r, AllRoles))
		}
	}
	for _, s := range f.AllowedNetworks {
		pfx, why := parsePolicyNet(s)
		if why != "" {
			v.errValue("", 0, "allowed_networks", s, "allowed_networks: %s", why)
			continue
		}
		p.AllowedNetworks = append(p.AllowedNetworks, pfx)
	}
	for _, id := range f.Skip {
		uid := strings.ToUpper(id)
		switch {
		case !v.knownID(uid):
			v.errValue("", 0, "skip", id, "skip: unknown rule %q%s", id, didYouMean(uid, IDs()))
		case uid == openRelayID:
			v.errValue("", 0, "skip", id, "skip: %s (open relay) cannot be skipped", openRelayID)
		default:
			p.Skip = append(p.Skip, uid)
		}
	}
	for id, sv := range f.Severity {
		uid := strings.ToUpper(id)
		s, err := ParseSeverity(sv)
		switch {
		case !v.knownID(uid):
			v.errAt("severity", 0, id, "severity: unknown rule %q%s", id, didYouMean(uid, IDs()))
		case uid == openRelayID:
			v.errAt("severity", 0, id, "severity: an open relay (%s) is always critical", openRelayID)
		case err != nil || s > Critical:
			v.errAt("severity", 0, id, "severity of %s: %q is not one of info, low, medium, high, critical", id, sv)
		default:
			p.Severity[uid] = s
		}
	}
	for i, e := range f.Expect {
		x := Expectation{Parameter: e.Parameter, Service: e.Service, Equals: e.Equals,
			Contains: e.Contains, Excludes: e.Excludes, Reason: e.Reason, Severity: Medium,
			Pos: diag.Pos{File: name, Line: v.line("expect", i+1, "")}}
		if e.Parameter == "" {
			v.errAt("expect", i+1, "", "expect: parameter is required")
		} else if !paramName().MatchString(e.Parameter) {
			v.errAt("expect", i+1, "parameter", "expect: %q is not a Postfix parameter name", e.Parameter)
		}
		if e.Service != "" && !serviceName().MatchString(e.Service) {
			v.errAt("expect", i+1, "service", "expect: service %q: want name/type as postconf -M prints it, e.g. submission/inet", e.Service)
		}
		if e.Equals == nil && len(e.Contains) == 0 && len(e.Excludes) == 0 && len(e.Within) == 0 {
			v.errAt("expect", i+1, "", "expect: give at least one of equals, contains, excludes, within")
		}
		for _, s := range e.Within {
			pfx, why := parsePolicyNet(s)
			if why != "" {
				v.errValue("expect", i+1, "within", s, "expect: within: %s", why)
				continue
			}
			x.Within = append(x.Within, pfx)
		}
		if e.Severity != "" {
			s, err := ParseSeverity(e.Severity)
			if err != nil || s > Critical {
				v.errAt("expect", i+1, "severity", "expect: severity %q is not one of info, low, medium, high, critical", e.Severity)
			}
			x.Severity, x.HasSeverity = s, true
		}
		p.Expect = append(p.Expect, x)
	}
	if len(v.errs) == 1 {
		return nil, v.errs[0]
	}
	if len(v.errs) > 1 {
		return nil, v.errs
	}
	return p, nil
}

const openRelayID = "PFA-RELAY-001"

// parsePolicyNet parses a CIDR of the policy file: a.b.c.d/n, an IPv6
// prefix with or without brackets, or a bare address.
func parsePolicyNet(s string) (netip.Prefix, string) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "[") {
		inner, rest, ok := strings.Cut(t[1:], "]")
		if !ok {
			return netip.Prefix{}, fmt.Sprintf("%q: missing ']'", s)
		}
		t = inner + rest
	}
	if !strings.Contains(t, "/") {
		a, err := netip.ParseAddr(t)
		if err != nil {
			return netip.Prefix{}, fmt.Sprintf("%q is not an address or network", s)
		}
		return netip.PrefixFrom(a, a.BitLen()), ""
	}
	p, err := netip.ParsePrefix(t)
	if err != nil {
		return netip.Prefix{}, fmt.Sprintf("%q is not a network (want e.g. 192.0.2.0/24 or [2001:db8::]/32)", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Sprintf("%q has host bits set; did you mean %s?", s, formatPrefix(p.Masked()))
	}
	return p, ""
}

func didYouMean(s string, candidates []string) string {
	if m := Suggest(s, candidates); m != "" {
		return fmt.Sprintf("; did you mean %q?", m)
	}
	return ""
}

// policyKeys lists the keys valid where k was found, for suggestions.
func policyKeys(k toml.Key) []string {
	if len(k) > 1 && k[0] == "expect" {
		return []string{"parameter", "service", "equals", "contains", "excludes", "within", "severity", "reason"}
	}
	return []string{"role", "roles", "allowed_networks", "skip", "severity", "expect"}
}

// policyValidator collects errors with the line of the key they concern.
type policyValidator struct {
	name string
	data []byte
	errs PolicyErrors
}

func (v *policyValidator) knownID(id string) bool {
	_, ok := Lookup(id)
	return ok
}

func (v *policyValidator) add(line int, format string, args ...any) {
	v.errs = append(v.errs, &diag.Error{Pos: diag.Pos{File: v.name, Line: line},
		Msg: "policy: " + fmt.Sprintf(format, args...), Text: strings.TrimSpace(lineAt(v.data, line))})
}

// errAt reports a problem with key in table (index: the n-th [[table]],
// 0 for a plain table or the top level).
func (v *policyValidator) errAt(table string, index int, key, format string, args ...any) {
	v.add(v.line(table, index, key), format, args...)
}

// errValue reports a problem with one value of an array key: the line
// holding that value when it can be found.
func (v *policyValidator) errValue(table string, index int, key, value, format string, args ...any) {
	line := v.line(table, index, key)
	if l := findValueLine(v.data, line, value); l > 0 {
		line = l
	}
	v.add(line, format, args...)
}

func (v *policyValidator) errKey(k toml.Key, format string, args ...any) {
	table, key := "", k[len(k)-1]
	if len(k) > 1 {
		table = k[0]
	}
	index := 0
	if table == "expect" {
		index = -1 // any [[expect]]: first occurrence of the key
	}
	line := v.line(table, index, key)
	if line == 0 {
		line = v.line(k.String(), 0, "") // an unknown [table]
	}
	v.add(line, format, args...)
}

// line finds the 1-based line of key in table: the n-th [[table]] for
// index > 0, any occurrence for index < 0, the table header line for key
// "". BurntSushi/toml reports positions only for syntax errors, so
// semantic errors locate their key with this small scan of the file (the
// policy format uses only plain keys, [table] and [[table]] headers).
func (v *policyValidator) line(table string, index int, key string) int {
	cur, count := "", map[string]int{}
	for n, raw := range strings.Split(string(v.data), "\n") {
		t := strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(t, "[["):
			cur = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(strings.SplitN(t[2:], "]]", 2)[0]), "]"))
			count[cur]++
			if key == "" && cur == table && (index <= 0 || count[cur] == index) {
				return n + 1
			}
			continue
		case strings.HasPrefix(t, "["):
			cur = strings.TrimSpace(strings.SplitN(t[1:], "]", 2)[0])
			if key == "" && cur == table {
				return n + 1
			}
			continue
		}
		if cur != table || (index > 0 && count[cur] != index) || key == "" {
			continue
		}
		if k, _, ok := strings.Cut(t, "="); ok && strings.Trim(strings.TrimSpace(k), `"'`) == key {
			return n + 1
		}
	}
	return 0
}

// findValueLine returns the first line at or after from holding value as a
// quoted string.
func findValueLine(data []byte, from int, value string) int {
	if from <= 0 {
		return 0
	}
	lines := strings.Split(string(data), "\n")
	for n := from - 1; n < len(lines); n++ {
		if strings.Contains(lines[n], `"`+value+`"`) || strings.Contains(lines[n], `'`+value+`'`) {
			return n + 1
		}
	}
	return 0
}

func lineAt(data []byte, line int) string {
	if line <= 0 {
		return ""
	}
	lines := strings.Split(string(data), "\n")
	if line > len(lines) {
		return ""
	}
	return strings.TrimRight(lines[line-1], "\r")
}

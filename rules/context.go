package rules

import (
	"slices"
	"strings"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/diag"
)

// Context is what a check sees: the configuration, the relay analysis of
// its smtpd listeners, and the site policy (nil: none).
type Context struct {
	Cfg      *postconf.Config
	Analyses []*relay.Analysis
	Policy   *Policy
	// Listeners are the smtpd listeners to check. When nil, they are taken
	// from Analyses, or (no analyses) from relay.Listeners.
	Listeners []relay.Listener
	// Relay are the options Analyses were computed with; fixes are
	// verified by analysing the patched configuration with them again.
	Relay relay.Options

	// Memoised lookups: the configuration does not change during a run.
	// A Context is therefore not safe for concurrent use.
	params    map[paramKey]int32 // index into paramVals
	paramVals []paramEntry
	lists     map[*postconf.Service]relayLists
	// scopes (scopeFor) and rscopes (restrictionScopes): several rules
	// ask, and the fix verification's re-checks ask again.
	scopes  map[*postconf.Service]*listScope
	rscopes []struct {
		Key string
		P   param
	}
	rscopesDone bool
	// mynets are the parsed mynetworks scopes (mynetworksEntries), and
	// mynetFixes the cleaned value per scope: several rules read them,
	// and a rule that reports every entry of a long mynetworks would
	// otherwise parse it again for every entry.
	mynets     []mynetScope
	mynetsDone bool
	mynetFixes map[paramKey][]string
	allowed    *prefixSet // the policy's allowed_networks
	// exposed are exposedListeners' answer: a dozen rules ask.
	exposed     []relay.Listener
	exposedDone bool
}

type paramKey struct {
	svc  *postconf.Service
	name string
}

// listeners returns the smtpd listeners in master.cf order.
func (c *Context) listeners() []relay.Listener {
	if c.Listeners != nil {
		return c.Listeners
	}
	if len(c.Analyses) > 0 {
		// Kept: every rule asks, and the analyses do not change.
		out := make([]relay.Listener, 0, len(c.Analyses))
		for _, a := range c.Analyses {
			if a != nil {
				out = append(out, a.Listener)
			}
		}
		c.Listeners = out
		return out
	}
	c.Listeners = relay.Listeners(c.Cfg)
	return c.Listeners
}

// protocols reports which address families inet_protocols enables.
func protocols(cfg *postconf.Config) (v4, v6 bool) {
	v, _ := cfg.Expand(nil, "inet_protocols")
	for _, f := range postconf.SplitList(strings.ToLower(v)) {
		switch f {
		case "all":
			return true, true
		case "ipv4":
			v4 = true
		case "ipv6":
			v6 = true
		}
	}
	return v4, v6
}

// portNumber maps the service names master.cf uses for SMTP to numbers.
func portNumber(port string) string {
	switch strings.ToLower(port) {
	case "smtp":
		return "25"
	case "submission":
		return "587"
	case "submissions", "smtps", "urd":
		return "465"
	}
	return port
}

// isSubmission reports whether the listener is a message submission port
// (587) or implicit-TLS submission (465).
func isSubmission(l relay.Listener) bool {
	p := portNumber(l.Port)
	return p == "587" || p == "465"
}

func isPort25(l relay.Listener) bool { return portNumber(l.Port) == "25" }

// param is an effective value as seen by one listener (or globally).
type param struct {
	Name  string
	Raw   postconf.Value
	Value string // expanded; "" when expansion failed
	Err   error
	// Svc is the master.cf service whose -o set the value, nil when the
	// value comes from main.cf or the defaults.
	Svc *postconf.Service
}

// param returns name's effective value in svc's scope (nil: global).
func (c *Context) param(svc *postconf.Service, name string) param {
	k := paramKey{svc, name}
	if i, ok := c.params[k]; ok {
		e := &c.paramVals[i]
		return param{Name: name, Raw: e.Raw, Value: e.Value, Err: e.Err, Svc: e.Svc}
	}
	raw, _ := c.Cfg.Raw(svc, name)
	p := param{Name: name, Raw: raw}
	if raw.Source == postconf.SourceOverride {
		p.Svc = svc
	}
	p.Value, p.Err = c.Cfg.Expand(svc, name)
	if c.params == nil {
		// An audit reads 75 to 135 of them: grown from empty, the map
		// was rehashed several times.
		c.params = make(map[paramKey]int32, 128)
		c.paramVals = make([]paramEntry, 0, 128)
	}
	c.params[k] = int32(len(c.paramVals))
	c.paramVals = append(c.paramVals, paramEntry{Raw: p.Raw, Value: p.Value, Err: p.Err, Svc: p.Svc})
	return p
}

// paramEntry is a param without its name, which the memo's key holds.
// The memo maps keys to indexes into a slice of them: a map's free slots
// then cost 4 bytes each, not 128 (24 KB per audit of fresh memory), and
// the entries are not allocated one by one.
type paramEntry struct {
	Raw   postconf.Value
	Value string
	Err   error
	Svc   *postconf.Service
}

// value is the expanded effective value, lower-cased and trimmed, for
// comparisons with keywords.
func (c *Context) value(svc *postconf.Service, name string) string {
	return strings.ToLower(strings.TrimSpace(c.param(svc, name).Value))
}

// isYes reports whether a boolean parameter is on (Postfix accepts yes/no,
// case-insensitively; true/false too since 2.x).
func (c *Context) isYes(svc *postconf.Service, name string) bool {
	switch c.value(svc, name) {
	case "yes", "true", "1":
		return true
	}
	return false
}

// isSet reports whether main.cf or an override of svc sets name.
func (p param) isSet() bool {
	return p.Raw.Source == postconf.SourceMainCF || p.Raw.Source == postconf.SourceOverride
}

// pos is where a finding about p points: the -o line, the main.cf line, or
// (a default) main.cf itself with no line, since that is where a fix goes.
func (c *Context) pos(p param) diag.Pos {
	if !p.Raw.Pos.IsZero() {
		return p.Raw.Pos
	}
	return diag.Pos{File: c.Cfg.Main.File}
}

// scope is the Service a finding about p names: the listener when the
// value is the listener's own override, "" when it comes from main.cf.
func scope(l relay.Listener, p param) string {
	if p.Svc != nil {
		return l.Key
	}
	return ""
}

// tlsLevel is the effective smtpd TLS security level in svc's scope:
// smtpd_tls_security_level when set, else the legacy smtpd_enforce_tls and
// smtpd_use_tls booleans (postconf(5) smtpd_tls_security_level).
func (c *Context) tlsLevel(svc *postconf.Service) string {
	if v := c.value(svc, "smtpd_tls_security_level"); v != "" {
		return v
	}
	if c.isYes(svc, "smtpd_enforce_tls") {
		return "encrypt"
	}
	if c.isYes(svc, "smtpd_use_tls") {
		return "may"
	}
	return "none"
}

// exposed reports whether Internet clients can reach the listener.
func exposed(l relay.Listener) bool { return !l.LoopbackOnly }

// Roles returns the host roles the rules run for: the policy's, or those
// inferred from the configuration (InferRoles).
func (c *Context) Roles() []string {
	if c.Policy != nil && len(c.Policy.Roles) > 0 {
		return c.Policy.Roles
	}
	return c.InferRoles()
}

// InferRoles guesses the host's roles when no policy names them:
//   - mx: an smtpd listener on port 25 that Internet clients can reach,
//     and domains this host receives mail for;
//   - submission: a listener on 587 or 465;
//   - smarthost-client: relayhost is set;
//   - null-client: relayhost set, nothing delivered locally
//     (mydestination empty) and no exposed listener
//     (STANDARD_CONFIGURATION_README "Postfix on a null client");
//   - send-only: no exposed listener and no relayhost.
func (c *Context) InferRoles() []string {
	var roles []string
	exposedAny, mx, sub := false, false, false
	for _, l := range c.listeners() {
		if !exposed(l) {
			continue
		}
		exposedAny = true
		if isPort25(l) {
			mx = true
		}
		if isSubmission(l) {
			sub = true
		}
	}
	inbound := c.value(nil, "mydestination") != "" || c.value(nil, "virtual_mailbox_domains") != "" ||
		c.value(nil, "virtual_alias_domains") != "" || c.value(nil, "relay_domains") != ""
	relayhost := c.value(nil, "relayhost") != ""
	if mx && inbound {
		roles = append(roles, RoleMX)
	}
	if sub {
		roles = append(roles, RoleSubmission)
	}
	if relayhost {
		roles = append(roles, RoleSmarthostClient)
		if c.value(nil, "mydestination") == "" && !exposedAny {
			roles = append(roles, RoleNullClient)
		}
	}
	if !exposedAny && !relayhost {
		roles = append(roles, RoleSendOnly)
	}
	if !mx && !sub && exposedAny && !slices.Contains(roles, RoleMX) {
		// An exposed smtpd on another port (a relay hub, a filter): treat
		// as an MX for the rules that care about inbound exposure.
		roles = append(roles, RoleMX)
	}
	return roles
}

// Host roles a site policy can name (and InferRoles guesses).
const (
	RoleMX              = "mx"
	RoleSubmission      = "submission"
	RoleSmarthostClient = "smarthost-client"
	RoleNullClient      = "null-client"
	RoleSendOnly        = "send-only"
)

// AllRoles lists the valid roles.
var AllRoles = []string{RoleMX, RoleSubmission, RoleSmarthostClient, RoleNullClient, RoleSendOnly}

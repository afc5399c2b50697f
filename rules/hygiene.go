package rules

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
	"github.com/pfaudit/pfaudit/postconf/diag"
	rlist "github.com/pfaudit/pfaudit/postconf/restriction"
)

// Hygiene family: settings that are legal but wrong, mistyped or silently
// ignored (postconf(1) warnings, COMPATIBILITY_README, postconf(5)).

func checkCompatibilityLevel(c *Context) []Finding {
	p := c.param(nil, "compatibility_level")
	lvl := strings.TrimSpace(p.Value)
	var msg string
	switch {
	case !p.isSet():
		msg = "compatibility_level is not set, so Postfix runs with the defaults of level 0: an empty smtpd_relay_restrictions (no relay safety net), mynetworks_style = subnet (trusting neighbours) and relay_domains = $mydestination"
	default:
		l, err := defaults.ParseLevel(lvl)
		if err != nil || l.Compare(defaults.MustParseLevel("2")) >= 0 {
			return nil
		}
		msg = fmt.Sprintf("compatibility_level = %s keeps the pre-2.x defaults: mynetworks_style = subnet (trusting neighbours) and relay_domains = $mydestination", lvl)
	}
	want := "3.6"
	if v, ok := c.Cfg.Raw(nil, "mail_version"); ok {
		if l, err := defaults.ParseLevel(v.Raw); err == nil && l.Compare(defaults.MustParseLevel("3.6")) < 0 {
			want = "2"
		}
	}
	msg += fmt.Sprintf("; review COMPATIBILITY_README (postfix logs \"using backwards-compatible default setting\" for each setting that relies on the old defaults), then set compatibility_level = %s", want)
	f := at(Finding{Parameter: p.Name, Message: msg}, c.pos(p))
	f.Remediation = []string{c.mainSet(p.Name, want)}
	return []Finding{f}
}

var unusedRE = lazyRegexp(`^unused parameter: ([A-Za-z0-9_]+)=`)

// builtinNames are the candidates for "did you mean".
func (c *Context) builtinNames() []string {
	if c.Cfg.Defaults == nil {
		return nil
	}
	return c.Cfg.Defaults.Names()
}

func checkUnusedParameter(c *Context) []Finding {
	var out []Finding
	for _, w := range c.Cfg.Warnings {
		m := unusedRE().FindStringSubmatch(w.Msg)
		if m == nil {
			continue
		}
		name := m[1]
		p, ok := c.Cfg.Main.Params[name]
		if !ok {
			continue
		}
		f := at(Finding{Parameter: name}, p.Pos)
		sugg := Suggest(name, c.builtinNames())
		if sugg != "" {
			f.Message = fmt.Sprintf("postconf: unused parameter %s = %s: Postfix does not know %s and ignores it; did you mean %s?", name, diag.Shorten(p.Value), name, sugg)
			f.Remediation = []string{c.mainUnset(name)}
			if _, set := c.Cfg.Main.Params[sugg]; !set {
				f.Remediation = []string{c.mainSet(sugg, p.Value), c.mainUnset(name)}
			} else {
				f.Message += fmt.Sprintf(" (%s is already set; remove the misspelt line)", sugg)
			}
		} else {
			f.Message = fmt.Sprintf("postconf: unused parameter %s = %s: no Postfix parameter of that name, and nothing references it; Postfix ignores it", name, diag.Shorten(p.Value))
			f.Remediation = []string{c.mainUnset(name)}
		}
		out = append(out, f)
	}
	return out
}

func checkUnknownOverride(c *Context) []Finding {
	var out []Finding
	for _, s := range c.Cfg.Master.Services {
		local := map[string]bool{}
		for _, o := range s.Overrides {
			_ = postconf.ScanNames(o.Value, func(n string) { local[n] = true })
		}
		for n := range c.scopeFor(s).classes {
			local[n] = true
		}
		seen := map[string]bool{}
		for _, o := range s.Overrides {
			if c.Cfg.Known(o.Name) || local[o.Name] || seen[o.Name] {
				continue
			}
			seen[o.Name] = true
			f := at(Finding{Service: s.Key(), Parameter: o.Name}, o.Pos)
			sugg := Suggest(o.Name, c.builtinNames())
			f.Remediation = []string{c.svcUnset(s, o.Name)}
			if sugg != "" {
				f.Message = fmt.Sprintf("%s: -o %s=%s names no Postfix parameter and is ignored; did you mean %s?", s.Key(), o.Name, diag.Shorten(o.Value), sugg)
				if _, set := s.Override(sugg); !set {
					f.Remediation = []string{c.svcSet(s, sugg, o.Value), c.svcUnset(s, o.Name)}
				}
			} else {
				f.Message = fmt.Sprintf("%s: -o %s=%s names no Postfix parameter and is ignored", s.Key(), o.Name, diag.Shorten(o.Value))
			}
			out = append(out, f)
		}
	}
	return out
}

// checkUnknownRestriction reports list elements smtpd 3.7 answers with 451
// 4.3.5 when a list reaches them: names that are neither built in
// (postconf/restriction) nor a restriction class, and bare type:table
// elements in the data and end-of-data lists, where smtpd has no
// check_*_access to apply them with. A bare table anywhere else is that
// list's check_*_access and stays as it is.
func checkUnknownRestriction(c *Context) []Finding {
	var out []Finding
	known := rlist.Names()
	for _, s := range c.restrictionScopes() {
		ls := c.scopeFor(s.P.Svc)
		rs := parseRestrictions(s.P.Value)
		list, isList := rlist.ListOf(s.P.Name)
		var bad []restriction
		var bare []string
		for _, r := range rs {
			switch {
			case r.Table:
				if isList && list.BareTable() == "" {
					bare = append(bare, r.Name)
				}
			case rlist.Known(r.Name), ls.isClass(r.Name):
			default:
				bad = append(bad, r)
			}
		}
		if len(bad) == 0 && len(bare) == 0 {
			continue
		}
		replace := map[int]string{}
		var parts []string
		for _, r := range bad {
			sugg := Suggest(r.Key, known)
			if rlist.Known(r.Key) {
				// Only the built-in class reject_sender_login_mismatch
				// is looked up case-sensitively (htable_find).
				sugg = r.Key
			}
			// smtpd keeps the braces of a {...} element, so "{ name }"
			// in a name position is no restriction; the name inside is
			// what was meant.
			if in := strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(r.Name, "{"), "}")); in != r.Name && (rlist.Known(in) || ls.isClass(in)) {
				sugg = in
			}
			replace[r.Index] = sugg
			if sugg != "" {
				parts = append(parts, fmt.Sprintf("%q (did you mean %s?)", r.Name, sugg))
			} else {
				parts = append(parts, fmt.Sprintf("%q", r.Name))
			}
		}
		var msg string
		if len(bad) > 0 {
			msg = fmt.Sprintf("%s (%s) contains unknown restriction %s: smtpd logs \"unknown smtpd restriction\" and answers 451 4.3.5 Server configuration error whenever the list reaches it", s.P.Name, scopeName(s.Key), strings.Join(parts, ", "))
		}
		if len(bare) > 0 {
			if msg != "" {
				msg += "; it also"
			} else {
				msg = fmt.Sprintf("%s (%s)", s.P.Name, scopeName(s.Key))
			}
			msg += fmt.Sprintf(" names the bare table %s: in the DATA and end-of-data lists smtpd has no default check_*_access for a table and answers 451 4.3.5 (\"specify one of (check_client_access, ...) before %s restriction\"); put check_client_access, check_sender_access or check_recipient_access before it", strings.Join(bare, ", "), map[rlist.List]string{rlist.Data: "Data command", rlist.EndOfData: "End-of-data"}[list])
		}
		f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, c.pos(s.P))
		if len(bare) == 0 {
			// Only names are replaced or dropped: every table, bare or
			// not, stays where it is.
			var items []string
			for _, r := range rs {
				if sugg, ok := replace[r.Index]; ok {
					if sugg == "" {
						continue
					}
					r.Name = sugg
				}
				t := r.Text()
				if r.Warn {
					t = "warn_if_reject " + t
				}
				items = append(items, t)
			}
			f.Remediation = c.setList(s.P, items)
		}
		out = append(out, f)
	}
	return out
}

func checkRelayRecipientMaps(c *Context) []Finding {
	rd := c.param(nil, "relay_domains")
	if strings.Contains(rd.Raw.Raw, "$mydestination") && !rd.isSet() {
		return nil // the level < 2 default: the domains are local ones
	}
	dest := map[string]bool{}
	for _, d := range splitList(c.value(nil, "mydestination")) {
		dest[strings.ToLower(d)] = true
	}
	everything := map[string]bool{}
	for _, t := range c.relayDomainsEverything(rd.Value) {
		everything[t] = true // PFA-RELAY-020's problem, not a backscatter one
	}
	var extra []string
	for _, d := range splitList(rd.Value) {
		if !dest[strings.ToLower(d)] && !everything[d] && !defaults.IsSymbolic(d) && !strings.HasPrefix(d, "<") {
			extra = append(extra, d)
		}
	}
	if len(extra) == 0 || strings.TrimSpace(c.value(nil, "relay_recipient_maps")) != "" {
		return nil
	}
	msg := fmt.Sprintf("relay_domains (%s) has no relay_recipient_maps: this host accepts mail for any address in those domains and bounces what the next hop rejects, sending backscatter to forged senders; list the valid recipients in relay_recipient_maps", strings.Join(extra, " "))
	f := at(Finding{Parameter: "relay_recipient_maps", Message: msg}, c.pos(rd))
	return []Finding{f}
}

func checkUnlistedRecipient(c *Context) []Finding {
	var out []Finding
	for _, l := range c.exposedListeners() {
		if !isPort25(l) {
			continue
		}
		p := c.param(l.Service, "smtpd_reject_unlisted_recipient")
		if strings.ToLower(strings.TrimSpace(p.Value)) != "no" {
			continue
		}
		msg := fmt.Sprintf("smtpd_reject_unlisted_recipient = no on %s (the MX port): mail for addresses that do not exist is accepted and bounced later (backscatter, queue load); only submission listeners need no", l.Key)
		f := at(Finding{Service: scope(l, p), Parameter: p.Name, Message: msg}, c.pos(p))
		f.Remediation = c.unset(p)
		out = append(out, f)
	}
	return out
}

func checkSoftBounce(c *Context) []Finding {
	var out []Finding
	for _, s := range c.netScopes("soft_bounce") {
		if strings.ToLower(strings.TrimSpace(s.P.Value)) != "yes" {
			continue
		}
		msg := fmt.Sprintf("soft_bounce = yes (%s): every 5xx refusal, including \"Relay access denied\", becomes a 4xx, so refused clients retry, the queue keeps undeliverable mail, and a relay test cannot tell closed from broken; it is meant only for testing", scopeName(s.Key))
		f := at(Finding{Service: s.Key, Parameter: s.P.Name, Message: msg}, c.pos(s.P))
		f.Remediation = c.unset(s.P)
		out = append(out, f)
	}
	return out
}

var commentRE = lazyRegexp(`(^|[ \t])#`)

// commentFree are parameters whose values legitimately contain '#'.
var commentFree = map[string]bool{"smtpd_expansion_filter": true, "smtpd_reject_footer": true, "default_rbl_reply": true}

func checkCommentInValue(c *Context) []Finding {
	var out []Finding
	check := func(key string, p param) {
		if commentFree[p.Name] || !commentRE().MatchString(p.Raw.Raw) {
			return
		}
		loc := commentRE().FindStringIndex(p.Raw.Raw)
		before := strings.TrimSpace(p.Raw.Raw[:loc[0]])
		shown := strings.Join(strings.Fields(p.Raw.Raw), " ")
		comment := strings.Join(strings.Fields(p.Raw.Raw[loc[0]:]), " ")
		msg := fmt.Sprintf("%s = %s: only lines that start with '#' are comments in Postfix configuration files; %q is part of the value", p.Name, diag.Shorten(shown), comment)
		msg += " (postconf shows it; list parameters log \"comment at end of line is not supported\" on every use and older Postfix versions match its words as patterns; other parameters use it literally)"
		f := at(Finding{Service: key, Parameter: p.Name, Message: msg}, c.pos(p))
		if p.Name == "mynetworks" {
			f.Remediation = c.mynetworksFix(p)
		} else {
			f.Remediation = []string{c.set(p, before)}
		}
		out = append(out, f)
	}
	// The raw text decides; only a value with a comment is expanded.
	hasComment := func(name, raw string) bool {
		return !commentFree[name] && strings.IndexByte(raw, '#') >= 0 && commentRE().MatchString(raw)
	}
	for _, n := range c.Cfg.Main.Names() {
		if hasComment(n, c.Cfg.Main.Params[n].Value) {
			check("", c.param(nil, n))
		}
	}
	for _, s := range c.Cfg.Master.Services {
		for _, o := range s.EffectiveOverrides() {
			if hasComment(o.Name, o.Value) {
				check(s.Key(), c.param(s, o.Name))
			}
		}
	}
	return out
}

func checkDuplicateAssignment(c *Context) []Finding {
	var out []Finding
	for _, n := range c.Cfg.Main.Names() {
		p := c.Cfg.Main.Params[n]
		if len(p.Earlier) == 0 {
			continue
		}
		var prev []string
		for _, e := range p.Earlier {
			prev = append(prev, fmt.Sprintf("%s (%s)", e.Pos, diag.Shorten(e.Value)))
		}
		msg := fmt.Sprintf("%s is set %d times; the last assignment wins (%s = %s), earlier ones at %s are ignored and mislead readers", n, len(p.Earlier)+1, n, diag.Shorten(p.Value), strings.Join(prev, ", "))
		out = append(out, at(Finding{Parameter: n, Message: msg}, p.Pos))
	}
	return out
}

var undefinedRE = lazyRegexp(`^undefined parameter: ([A-Za-z0-9_]+)$`)

func checkUndefinedReference(c *Context) []Finding {
	warns, _ := c.Cfg.Check()
	var out []Finding
	for _, w := range warns {
		m := undefinedRE().FindStringSubmatch(w.Msg)
		if m == nil {
			continue
		}
		name := m[1]
		sugg := Suggest(name, c.builtinNames())
		for _, n := range c.Cfg.Main.Names() {
			p := c.Cfg.Main.Params[n]
			refs := false
			_ = postconf.ScanNames(p.Value, func(x string) {
				if x == name {
					refs = true
				}
			})
			if !refs {
				continue
			}
			msg := fmt.Sprintf("%s refers to $%s, which is not defined: it expands to nothing", n, name)
			f := at(Finding{Parameter: n}, p.Pos)
			if sugg != "" {
				msg += fmt.Sprintf("; did you mean $%s?", sugg)
				fixed := replaceRef(p.Value, name, sugg)
				f.Remediation = []string{c.mainSet(n, fixed)}
			}
			f.Message = msg
			out = append(out, f)
		}
	}
	return out
}

// replaceRef renames $old, ${old} and $(old) references in a raw value.
func replaceRef(v, old, repl string) string {
	re := regexp.MustCompile(`\$(\{|\()?` + regexp.QuoteMeta(old) + `\b`)
	return re.ReplaceAllStringFunc(v, func(m string) string {
		return strings.Replace(m, old, repl, 1)
	})
}

func checkIgnoredStyle(c *Context) []Finding {
	st, ok1 := c.Cfg.Main.Params["mynetworks_style"]
	nw, ok2 := c.Cfg.Main.Params["mynetworks"]
	if !ok1 || !ok2 {
		return nil
	}
	msg := fmt.Sprintf("mynetworks_style = %s is ignored because mynetworks is set (%s): readers may believe the style limits who is trusted", st.Value, nw.Pos)
	f := at(Finding{Parameter: "mynetworks_style", Message: msg}, st.Pos)
	f.Remediation = []string{c.mainUnset("mynetworks_style")}
	return []Finding{f}
}

// checkRelayAfterRecipient: with smtpd_relay_before_recipient_restrictions
// = no, the recipient list answers relay attempts first.
func checkRelayAfterRecipient(c *Context) []Finding {
	order := c.param(nil, "smtpd_relay_before_recipient_restrictions")
	if c.value(nil, "smtpd_relay_before_recipient_restrictions") != "no" {
		return nil
	}
	rcpt := c.param(nil, "smtpd_recipient_restrictions")
	if strings.TrimSpace(rcpt.Value) == "" {
		return nil
	}
	where := "by compatibility_level < 3.6"
	if order.Raw.Source == postconf.SourceMainCF {
		where = "in main.cf"
	}
	msg := fmt.Sprintf("smtpd_relay_before_recipient_restrictions = no (%s): smtpd_recipient_restrictions (%s) answers relay attempts before the relay check, possibly with a 4xx that invites retries", where, rcpt.Value)
	pos := order.Raw.Pos
	if pos.IsZero() {
		pos = rcpt.Raw.Pos
	}
	f := at(Finding{Parameter: "smtpd_relay_before_recipient_restrictions", Message: msg}, pos)
	f.Remediation = []string{c.mainSet("smtpd_relay_before_recipient_restrictions", "yes")}
	return []Finding{f}
}

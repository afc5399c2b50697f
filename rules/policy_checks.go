package rules

import (
	"fmt"
	"strings"

	"github.com/pfaudit/pfaudit/internal/safefile"
	"github.com/pfaudit/pfaudit/postconf"
)

// Policy family: the site policy's own requirements (policy.go).

func checkPolicyNetworks(c *Context) []Finding {
	if c.Policy == nil || len(c.Policy.AllowedNetworks) == 0 {
		return nil
	}
	var allowed []string
	for _, a := range c.Policy.AllowedNetworks {
		allowed = append(allowed, formatPrefix(a))
	}
	var out []Finding
	for _, s := range c.mynetworksEntries() {
		r := c.entryReport(s.netScope)
		for _, e := range s.Entries {
			var why string
			switch e.Kind {
			case netPrefix, netUnbracketed:
				if e.Neg || e.HostBits || c.allowedNet(e.Prefix) {
					continue
				}
				why = "lies outside"
			case netHostname, netTable:
				if e.Neg {
					continue
				}
				why = "is a name or table pfaudit cannot check against"
			case netFile:
				if e.Neg || !e.Unchecked {
					continue // its entries follow
				}
				why = fmt.Sprintf("is a file larger than %s, whose networks pfaudit did not check against", safefile.Size(maxNetFileSize))
			default:
				continue
			}
			r.add(e, func() string {
				return fmt.Sprintf("mynetworks entry %s (%s) %s the networks the site policy allows (%s)", e.Text, scopeName(s.Key), why, strings.Join(allowed, " "))
			})
		}
		out = append(out, r.findings()...)
	}
	return out
}

func checkPolicyExpectations(c *Context) []Finding {
	if c.Policy == nil {
		return nil
	}
	var out []Finding
	for _, x := range c.Policy.Expect {
		out = append(out, c.expectation(x)...)
	}
	return out
}

func (c *Context) expectation(x Expectation) []Finding {
	where := fmt.Sprintf("site policy %s", x.Pos)
	subject := x.Parameter
	var svc *postconf.Service
	if x.Service != "" {
		subject = x.Service + " " + x.Parameter
		svc = c.Cfg.Master.Lookup(x.Service)
		if svc == nil {
			f := Finding{Service: x.Service, Parameter: x.Parameter, File: c.Cfg.Master.File,
				Message: fmt.Sprintf("%s expects %s, but master.cf has no service %s", where, subject, x.Service)}
			return []Finding{x.mark(f)}
		}
		// Behind postscreen, smtpd runs with the pass service's settings.
		for _, l := range c.listeners() {
			if l.Front == svc && l.Service != nil {
				svc = l.Service
			}
		}
	}
	p := c.param(svc, x.Parameter)
	items := splitList(p.Value)
	var problems []string
	want := items
	if x.Equals != nil {
		exp := splitList(*x.Equals)
		if !equalFold(items, exp) {
			problems = append(problems, fmt.Sprintf("= %q", strings.Join(exp, ", ")))
			want = exp
		}
	}
	for _, it := range x.Contains {
		if !containsFold(want, it) {
			problems = append(problems, fmt.Sprintf("to contain %s", it))
			want = append(want, it)
		}
	}
	for _, it := range x.Excludes {
		if containsFold(want, it) {
			problems = append(problems, fmt.Sprintf("not to contain %s", it))
			var keep []string
			for _, w := range want {
				if !strings.EqualFold(w, it) {
					keep = append(keep, w)
				}
			}
			want = keep
		}
	}
	if len(x.Within) > 0 {
		var outside []string
		for _, e := range c.netEntries(p.Value, c.pos(p)) {
			if e.Neg || e.Kind == netComment {
				continue
			}
			ok := false
			if e.Kind == netPrefix || e.Kind == netUnbracketed {
				for _, w := range x.Within {
					if within(norm(e.Prefix), norm(w)) {
						ok = true
					}
				}
			}
			if e.Kind == netFile && !e.Unchecked {
				continue // its entries follow
			}
			if !ok {
				outside = append(outside, e.Text)
			}
		}
		if len(outside) > 0 {
			var ws []string
			for _, w := range x.Within {
				ws = append(ws, formatPrefix(w))
			}
			problems = append(problems, fmt.Sprintf("to lie within %s (%s does not)", strings.Join(ws, " "), strings.Join(outside, " ")))
			var keep []string
			for _, w := range want {
				if !containsFold(outside, w) {
					keep = append(keep, w)
				}
			}
			want = keep
		}
	}
	if len(problems) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s expects %s %s; it is %q", where, subject, strings.Join(problems, ", "), strings.TrimSpace(p.Value))
	if x.Reason != "" {
		msg += " (" + x.Reason + ")"
	}
	key := x.Service
	f := at(Finding{Service: key, Parameter: x.Parameter, Message: msg}, c.pos(p))
	target := p
	if svc != nil && p.Svc == nil {
		target.Svc = svc // the expectation is about that listener: set it there
	}
	if svc == nil && p.Svc != nil {
		target.Svc = nil
	}
	f.Remediation = c.setList(target, want)
	return []Finding{x.mark(f)}
}

// mark applies the expectation's own severity.
func (x Expectation) mark(f Finding) Finding {
	if x.HasSeverity {
		f.Severity, f.severitySet = x.Severity, true
	}
	return f
}

func equalFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

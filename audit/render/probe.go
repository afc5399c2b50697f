package render

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pfaudit/pfaudit/audit/probe"
	"github.com/pfaudit/pfaudit/rules"
)

// AttachProbe adds what the live probe saw to the listeners that already
// carry its verdict (ListenerReport.Probe, set by audit.Probe): the
// address probed, the banner received and the count of relay attempts by
// outcome, so that every finding of a probed listener can say what the
// probe exercised. services maps a probed host:port to the listener's
// service name (audit.ProbeTargets).
func AttachProbe(r *Report, pr *probe.Report, services map[string]string) {
	if r == nil || pr == nil {
		return
	}
	for i := range pr.Targets {
		t := &pr.Targets[i]
		svc, ok := services[t.Address]
		if !ok {
			continue
		}
		for j := range r.Listeners {
			l := &r.Listeners[j]
			if l.Service != svc || l.Probe == nil {
				continue
			}
			l.Probe.Address, l.Probe.Banner = t.Address, t.Banner
			for _, v := range t.Vantages {
				if v.Vantage != l.Probe.Vantage {
					continue
				}
				l.Probe.Attempts = len(v.Attempts)
				l.Probe.Outcomes = map[string]int{}
				for _, a := range v.Attempts {
					l.Probe.Outcomes[a.Outcome]++
				}
			}
		}
	}
}

// probeSeen is one line on what the probe exercised on a listener:
// "xclient as 203.0.113.5: closed; banner "220 mx ESMTP"; 33 attempts: 33 refused".
func probeSeen(p *ProbeEvidence) string {
	s := p.Vantage
	if p.Client != "" {
		s += " as " + p.Client
	}
	s += ": " + p.Verdict
	if p.Banner != "" {
		s += fmt.Sprintf("; banner %q", p.Banner)
	}
	if p.Attempts > 0 {
		s += fmt.Sprintf("; %d relay attempts", p.Attempts)
		var ks []string
		for k := range p.Outcomes {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		var parts []string
		for _, k := range ks {
			parts = append(parts, fmt.Sprintf("%d %s", p.Outcomes[k], k))
		}
		if len(parts) > 0 {
			s += ": " + strings.Join(parts, ", ")
		}
	}
	return s
}

// listenerProbe finds the probe evidence of a finding's listener.
func (r *Report) listenerProbe(service string) *ProbeEvidence {
	for i := range r.Listeners {
		if r.Listeners[i].Service == service {
			return r.Listeners[i].Probe
		}
	}
	return nil
}

// findingProbe says what the probe made of a finding: its judgement and
// evidence when it judged it; for a finding it could not judge, what it
// exercised on the finding's listener; "" for a static audit.
func (r *Report) findingProbe(f rules.Finding) string {
	switch f.Status {
	case "", rules.StatusStatic:
		return ""
	}
	st := string(f.Status)
	if f.Evidence != "" {
		return st + ": " + f.Evidence
	}
	if p := r.listenerProbe(f.Service); p != nil {
		return st + " by the relay attempts; the probe saw " + f.Service + " from " + probeSeen(p)
	}
	if f.Service == "" {
		// A main.cf-wide finding: name the listeners the probe reached.
		var seen []string
		for _, l := range r.Listeners {
			if l.Probe == nil {
				continue
			}
			s := l.Service + " (" + l.Probe.Vantage + ": " + l.Probe.Verdict
			if l.Probe.Banner != "" {
				s += fmt.Sprintf("; banner %q", l.Probe.Banner)
			}
			seen = append(seen, s+")")
		}
		if len(seen) > 0 {
			return st + " by the relay attempts; the probe reached " + strings.Join(seen, ", ")
		}
	}
	return st
}

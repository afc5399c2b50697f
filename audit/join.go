package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/pfaudit/pfaudit/audit/probe"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/rules"
)

// ProbeOptions tune the live probe of an audit.
type ProbeOptions struct {
	// Probe carries the probe settings (timeouts, domains, vantage);
	// targets, limits and host name are filled from the configuration.
	Probe probe.Options
}

// DriftID is the finding for live behaviour the configuration does not
// explain.
const DriftID = "PFA-PROBE-001"

// Findings whose prediction the probe can test directly.
const (
	idOpen    = "PFA-RELAY-001"
	idBroken  = "PFA-RELAY-002"
	idExposed = "PFA-RELAY-003"
	idUnknown = "PFA-RELAY-004"
)

// Probe runs the live probe against this host's listeners of cfg and joins
// its evidence to rep: each listener gets the untrusted vantage's verdict
// (loopback's when no untrusted vantage exists), each finding a status
// (confirmed, refuted, not-tested), and a live outcome the configuration
// does not explain becomes a drift finding.
//
// A probe cut short (ctx cancelled, its timeout passed) returns the
// partial report and an error wrapping probe.ErrInterrupted and the
// context's error: the caller must fail the run, never report it clean.
func Probe(ctx context.Context, cfg *postconf.Config, analyses []*relay.Analysis, rep *render.Report, o ProbeOptions) (*probe.Report, error) {
	var ls []relay.Listener
	for _, a := range analyses {
		ls = append(ls, a.Listener)
	}
	targets := ProbeTargets(cfg, ls)
	if len(targets) == 0 {
		markNotTested(rep)
		rep.Warnings = append(rep.Warnings, "probe: no smtpd listener of this configuration is reachable on this host; findings are not tested")
		return nil, nil
	}
	popt := o.Probe
	if popt.Vantage == "" {
		popt.Vantage = probe.VantageLoopback + "," + probe.VantageAuto
	}
	popt.Targets = nil
	byAddr := map[string]string{}
	for _, t := range targets {
		popt.Targets = append(popt.Targets, t.Address)
		byAddr[t.Address] = t.Service
	}
	if popt.Hostname == "" {
		popt.Hostname, _ = cfg.Expand(nil, "myhostname")
	}
	if len(analyses) > 0 && popt.Limits == (probe.Limits{}) {
		popt.Limits = ProbeLimits(cfg, analyses[0].Listener.Service)
	}
	// Each listener is probed with the test domain its own scope makes
	// foreign (the relay model's choice), its myhostname and limits.
	popt.PerTarget = ProbeTargetOptions(cfg, targets, ls, analyses)
	pr, err := probe.Run(ctx, popt)
	if err != nil {
		return nil, err
	}
	// An interrupted probe still lends rep what it saw (an acceptance is
	// an acceptance), but the audit must fail: below, the error.
	interrupted := pr.Err()
	seen := map[string]*probe.TargetReport{}
	for i := range pr.Targets {
		t := &pr.Targets[i]
		if svc, ok := byAddr[t.Address]; ok {
			seen[svc] = t
		}
	}
	tested := map[string]bool{}
	for i := range rep.Listeners {
		lr := &rep.Listeners[i]
		t := seen[lr.Service]
		if t == nil {
			continue
		}
		untrusted, local := pickVantages(t)
		ev := untrusted
		if ev == nil {
			ev = local
		}
		if ev != nil {
			note := ev.Note
			if ev.Reason != "" {
				note = ev.Reason + "; " + note
			}
			if ev.Qualifier != "" {
				note = ev.Qualifier + ": " + note
			}
			lr.Probe = &render.ProbeEvidence{Vantage: ev.Vantage, Verdict: ev.Verdict, Client: ev.Client, Note: strings.TrimSuffix(note, "; ")}
		}
		tested[lr.Service] = true
		for j := range rep.Findings {
			f := &rep.Findings[j]
			if f.Service != lr.Service {
				continue
			}
			judge(f, untrusted, local)
		}
		if d, ok := drift(lr, untrusted, t.Address); ok {
			rep.Findings = append(rep.Findings, d)
		}
	}
	for j := range rep.Findings {
		if rep.Findings[j].Status == rules.StatusStatic || rep.Findings[j].Status == "" {
			rep.Findings[j].Status = rules.StatusNotTested
		}
	}
	rules.SortFindings(rep.Findings)
	if interrupted != nil {
		rep.Warnings = append(rep.Warnings, "probe: "+interrupted.Error()+": the live evidence is incomplete")
		return pr, interrupted
	}
	return pr, nil
}

func markNotTested(rep *render.Report) {
	for j := range rep.Findings {
		rep.Findings[j].Status = rules.StatusNotTested
	}
}

// pickVantages returns the untrusted vantage that produced a verdict
// (xclient, netns or remote) and the loopback vantage.
func pickVantages(t *probe.TargetReport) (untrusted, local *probe.VantageReport) {
	for i := range t.Vantages {
		v := &t.Vantages[i]
		switch v.Vantage {
		case probe.VantageLoopback:
			local = v
		case probe.VantageXClient, probe.VantageNetns, probe.VantageRemote:
			if untrusted == nil || untrusted.Verdict == probe.VerdictError {
				untrusted = v
			}
		}
	}
	return untrusted, local
}

func evidence(v *probe.VantageReport) string {
	s := fmt.Sprintf("%s vantage: %s", v.Vantage, v.Verdict)
	if v.Qualifier != "" {
		s += " (" + v.Qualifier + ")"
	}
	if v.Reason != "" {
		return s + ": " + v.Reason
	}
	if v.Note != "" {
		s += " (" + v.Note + ")"
	}
	return s
}

// judge sets a finding's status from what the vantages saw.
func judge(f *rules.Finding, untrusted, local *probe.VantageReport) {
	switch f.ID {
	case idOpen, idUnknown, idExposed:
		// For a loopback-only listener (idExposed) the impersonated
		// outsider (XCLIENT) shows what it would do if it were exposed;
		// loopback clients are usually trusted.
		if untrusted == nil || untrusted.Verdict == probe.VerdictError || untrusted.Verdict == probe.VerdictUnknown || untrusted.Verdict == probe.VerdictBroken {
			f.Status = rules.StatusNotTested
			return
		}
		f.Evidence = evidence(untrusted)
		if untrusted.Verdict == probe.VerdictOpen {
			f.Status = rules.StatusConfirmed
		} else {
			f.Status = rules.StatusRefuted
		}
	case idBroken:
		v := untrusted
		if v == nil {
			v = local
		}
		if v == nil {
			f.Status = rules.StatusNotTested
			return
		}
		f.Evidence = evidence(v)
		switch {
		case v.Verdict == probe.VerdictBroken || v.Verdict == probe.VerdictError || allServerErrors(v):
			f.Status = rules.StatusConfirmed
		case v.Verdict == probe.VerdictOpen || v.Verdict == probe.VerdictClosed:
			f.Status = rules.StatusRefuted
		default:
			f.Status = rules.StatusNotTested
		}
	default:
		f.Status = rules.StatusNotTested
	}
}

// allServerErrors reports whether every RCPT got a 4.3.x server error, the
// live face of a listener whose every RCPT fails.
func allServerErrors(v *probe.VantageReport) bool {
	n := 0
	for _, a := range v.Attempts {
		if a.Stage != "rcpt" {
			continue
		}
		n++
		if !strings.HasPrefix(a.EnhancedCode, "4.3.") && a.Code != 451 {
			return false
		}
	}
	return n > 0
}

// drift compares the configuration's verdict for untrusted clients with
// the untrusted vantage's.
func drift(lr *render.ListenerReport, untrusted *probe.VantageReport, addr string) (rules.Finding, bool) {
	if untrusted == nil {
		return rules.Finding{}, false
	}
	live := untrusted.Verdict
	predicted := string(lr.Verdict)
	if lr.LoopbackOnly && lr.WouldBe != "" {
		// The untrusted vantage reached a loopback-only listener through
		// XCLIENT: compare with what it would do if exposed.
		predicted = string(lr.WouldBe)
	}
	if live != probe.VerdictOpen && live != probe.VerdictClosed {
		return rules.Finding{}, false
	}
	if predicted == live || predicted == string(relay.Unknown) {
		return rules.Finding{}, false
	}
	sev := rules.Medium
	if live == probe.VerdictOpen {
		sev = rules.Critical
	}
	msg := fmt.Sprintf("%s at %s: the configuration predicts %q for untrusted clients, the live server is %q. Likely causes: main.cf or master.cf changed without `postfix reload`; the running Postfix uses another configuration directory (multi-instance, -c); NAT or a proxy in front makes clients look trusted or untrusted; postscreen, a milter or a policy service decides differently",
		lr.Service, addr, predicted, live)
	return rules.Finding{
		ID: DriftID, Title: "Live relay behaviour differs from the configuration", Severity: sev,
		Service: lr.Service, Message: msg, Remediation: []string{}, Status: rules.StatusDrift,
		Evidence: evidence(untrusted),
	}, true
}

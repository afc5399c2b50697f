// Package audit joins pfaudit's parts: the relay analysis of every smtpd
// listener (audit/relay) and the rule catalogue's findings (rules) become
// one report (audit/render.Report) that renderers print and the CLI turns
// into an exit code. Probe evidence (audit/probe) attaches to the same
// report.
package audit

import (
	"context"
	"net"
	"net/netip"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/rules"
)

// Options tune an audit.
type Options struct {
	// Live says the configuration is this host's own: host-derived
	// defaults (mynetworks, inet_interfaces = all) are computed from this
	// host's interfaces. False for collected dumps.
	Live bool
	// Policy is the site policy (nil: none).
	Policy *rules.Policy
	// Version names the pfaudit build in the report.
	Version string
}

// Run analyses cfg and runs the rules. The analyses are returned too, for
// the probe join. A done ctx stops it within a fraction of a second; the
// report is then partial (see ctx.Err()).
func Run(ctx context.Context, cfg *postconf.Config, o Options) (*render.Report, []*relay.Analysis) {
	// The context reaches the analysis and the rules through the options,
	// so that their signatures stay as every caller knows them. When it is
	// done, Run returns early with a partial report: callers check
	// ctx.Err() before they use it.
	ropt := relay.Options{Context: ctx}
	if o.Live {
		// An unset mynetworks is already computed for this host by
		// postconf.Config (LiveDefaults); inet_interfaces = all needs the
		// addresses too.
		ropt.LocalAddrs = localAddrs()
	}
	analyses := relay.Analyze(cfg, ropt)
	rctx := &rules.Context{Cfg: cfg, Analyses: analyses, Policy: o.Policy, Relay: ropt}
	rep := &render.Report{
		Tool: "pfaudit", Version: o.Version,
		ConfigDir:   cfg.Dir,
		Defaults:    cfg.DefaultsSource,
		LineNumbers: !cfg.Main.NoLines,
		Roles:       rctx.Roles(),
		Listeners:   render.FromAnalyses(analyses),
		Findings:    rules.Run(rctx),
	}
	for _, w := range cfg.Warnings {
		rep.Warnings = append(rep.Warnings, w.String())
	}
	return rep, analyses
}

func localAddrs() []netip.Addr {
	var out []netip.Addr
	ifs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	for _, a := range ifs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

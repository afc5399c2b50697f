// Package audit joins pfaudit's parts: the relay analysis of every smtpd
// listener (audit/relay) and the rule catalogue's findings (rules) become
// one report (audit/render.Report) that renderers print and the CLI turns
// into an exit code. Probe evidence (audit/probe) attaches to the same
// report.
package audit

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/audit/render"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/table"
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
	// noShare: every model computes everything itself (the reference
	// TestShareSound compares the shared analyses with).
	noShare bool
}

// Run analyses cfg and runs the rules. The analyses are returned too, for
// the probe join. A done ctx stops it within a fraction of a second; the
// report is then partial (see ctx.Err()).
func Run(ctx context.Context, cfg *postconf.Config, o Options) (*render.Report, []*relay.Analysis) {
	// The context reaches the analysis and the rules through the options,
	// so that their signatures stay as every caller knows them. When it is
	// done, Run returns early with a partial report: callers check
	// ctx.Err() before they use it.
	// One Share for the audit's analyses: the listeners and the patched
	// copies fix verification analyses (rules.Run) mostly agree on the
	// address classes and lists.
	ropt := relay.Options{Tables: table.ForFiles(cfg.Files.Root, cfg.Files.Offline), Context: ctx}
	if !o.noShare {
		ropt.Share = relay.NewShare()
	}
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
	// The server's own name and the Postfix release whose defaults were
	// used (postconf -d's mail_version, or the built-in table's): what a
	// report read later, or beside other hosts' reports, must say.
	rep.Host, _ = cfg.Expand(nil, "myhostname")
	rep.PostfixVersion, _ = cfg.Expand(nil, "mail_version")
	for _, w := range cfg.Warnings {
		rep.Warnings = append(rep.Warnings, w.String())
	}
	if cfg.Files.Offline {
		if files := namedFiles(cfg); len(files) > 0 {
			rep.Warnings = append(rep.Warnings, fmt.Sprintf(
				"the dump names files (%s): offline they are unknown, not read from this host; give --files-root DIR holding copies of the server's files", strings.Join(files, ", ")))
		}
	}
	return rep, analyses
}

// filePattern finds absolute file names in a parameter value: a /file
// list element or the name of a type:/file table.
var filePattern = lazyRegexp(`(?:^|[\s,:{=])(/[^\s,{}]+)`)

// namedFiles lists the absolute file names main.cf values and master.cf
// overrides mention, at most eight.
func namedFiles(cfg *postconf.Config) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		for _, m := range filePattern().FindAllStringSubmatch(v, -1) {
			if !seen[m[1]] && len(out) < 8 {
				seen[m[1]] = true
				out = append(out, m[1])
			}
		}
	}
	for _, n := range cfg.Main.Names() {
		add(cfg.Main.Params[n].Value)
	}
	for _, s := range cfg.Master.Services {
		for _, o := range s.Overrides {
			add(o.Value)
		}
	}
	return out
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

// Package audit joins pfaudit's parts: it reads the relay analysis of every
// smtpd listener (audit/relay) into one report that renderers print and the
// CLI turns into an exit code. Probe evidence (audit/probe) and the rule
// catalogue (rules/) attach to the same report.
package audit

import (
	"context"
	"net"
	"net/netip"
	"strconv"

	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
	"github.com/pfaudit/pfaudit/postconf/defaults"
)

// SchemaVersion versions the JSON report; it changes only on incompatible
// changes.
const SchemaVersion = 1

// Options tune an audit.
type Options struct {
	// Live says the configuration is this host's own: host-derived
	// defaults (mynetworks, inet_interfaces = all) are computed from this
	// host's interfaces. False for collected dumps.
	Live bool
}

// ListenerReport is one smtpd listener in the report.
type ListenerReport struct {
	Service    string         `json:"service"`
	Verdict    relay.Verdict  `json:"verdict"`
	WouldBe    relay.Verdict  `json:"would_be,omitempty"`
	Local      relay.Verdict  `json:"local_verdict"`
	Reason     string         `json:"reason"`
	Postscreen bool           `json:"postscreen"`
	LoopOnly   bool           `json:"loopback_only"`
	Trace      []relay.Step   `json:"trace"`
	Deciding   *relay.Request `json:"deciding_request,omitempty"`
	Reply      string         `json:"deciding_reply,omitempty"`
}

// Report is the result of an audit.
type Report struct {
	Schema          int               `json:"schema_version"`
	ConfigDirectory string            `json:"config_directory,omitempty"`
	DefaultsSource  string            `json:"defaults_source"`
	Listeners       []ListenerReport  `json:"listeners"`
	Analyses        []*relay.Analysis `json:"-"`
}

// Run analyses cfg.
func Run(ctx context.Context, cfg *postconf.Config, o Options) *Report {
	ropt := relay.Options{}
	if o.Live {
		ropt.LocalAddrs = localAddrs()
		if v, _ := cfg.Raw(nil, "mynetworks"); v.Source == postconf.SourceDefault {
			d := defaults.Builtin()
			if mn, err := d.Live(ctx, "mynetworks", func(name string) (string, bool) {
				r, ok := cfg.Raw(nil, name)
				if !ok || r.Source == postconf.SourceDefault {
					return "", false
				}
				x, err := cfg.Expand(nil, name)
				return x, err == nil
			}); err == nil {
				ropt.Mynetworks = mn
			}
		}
	}
	rep := &Report{Schema: SchemaVersion, ConfigDirectory: cfg.Dir, DefaultsSource: cfg.DefaultsSource, Listeners: []ListenerReport{}}
	rep.Analyses = relay.Analyze(cfg, ropt)
	for _, a := range rep.Analyses {
		lr := ListenerReport{Service: a.Listener.Key, Verdict: a.Verdict, WouldBe: a.WouldBe, Local: a.Local,
			Reason: a.Reason, Postscreen: a.Listener.Postscreen, LoopOnly: a.Listener.LoopbackOnly, Trace: []relay.Step{}}
		if a.Deciding != nil {
			req := a.Deciding.Request
			lr.Deciding = &req
			lr.Trace = a.Deciding.Decision.Trace
			d := a.Deciding.Decision
			if d.Code != 0 {
				lr.Reply = joinReply(d.Code, d.Enhanced, d.Text)
			}
		}
		rep.Listeners = append(rep.Listeners, lr)
	}
	return rep
}

func joinReply(code int, enh, text string) string {
	s := strconv.Itoa(code)
	if enh != "" {
		s += " " + enh
	}
	if text != "" {
		s += " " + text
	}
	return s
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

package audit

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pfaudit/pfaudit/audit/probe"
	"github.com/pfaudit/pfaudit/audit/relay"
	"github.com/pfaudit/pfaudit/postconf"
)

// Target is an smtpd listener of the configuration as a probe target.
type Target struct {
	Service string // postconf -M name of the listener, "smtp/inet"
	Address string // host:port to connect to
}

// wellKnownPorts resolves master.cf's symbolic inet service names without
// depending on /etc/services being present.
var wellKnownPorts = map[string]int{"smtp": 25, "submission": 587, "smtps": 465, "submissions": 465}

// ProbeTargets lists where this host's smtpd listeners can be reached: a
// listener bound to one address is probed there, one bound to every
// inet_interfaces address is probed on loopback when it listens there
// (inet_interfaces all, loopback-only or an explicit loopback address).
func ProbeTargets(cfg *postconf.Config, ls []relay.Listener) []Target {
	ifaces, _ := cfg.Expand(nil, "inet_interfaces")
	var out []Target
	for _, l := range ls {
		port, ok := wellKnownPorts[l.Port]
		if !ok {
			p, err := strconv.Atoi(l.Port)
			if err != nil {
				if p2, err := net.LookupPort("tcp", l.Port); err == nil {
					p = p2
				} else {
					continue
				}
			}
			port = p
		}
		host := l.Host
		if host == "" {
			host = loopbackOf(ifaces, l)
			if host == "" {
				continue
			}
		}
		if host == "localhost" {
			host = "127.0.0.1"
		}
		out = append(out, Target{Service: l.Key, Address: net.JoinHostPort(host, strconv.Itoa(port))})
	}
	return out
}

func loopbackOf(ifaces string, l relay.Listener) string {
	for _, it := range postconf.SplitList(ifaces) {
		switch it = strings.ToLower(strings.Trim(it, "[]")); it {
		case "all", "loopback-only", "localhost", "127.0.0.1":
			if l.IPv4 {
				return "127.0.0.1"
			}
			return "::1"
		case "::1":
			return "::1"
		}
	}
	return ""
}

// ProbeTargetOptions returns each target's probe settings from its
// listener's scope: the third-party test and sender domains the relay
// model chose to be foreign to that listener's address classes
// ((*relay.Model).PickDomains: not in mydestination, virtual or relay
// domains, parent_domain_matches_subdomains included), its myhostname and
// its error limits. Keys are the targets' addresses, as probe.Run expects
// in Options.PerTarget. Analyses supply the domains when given (audit);
// otherwise the model is built here (probe -c).
func ProbeTargetOptions(cfg *postconf.Config, targets []Target, ls []relay.Listener, analyses []*relay.Analysis) map[string]probe.TargetOptions {
	byKey := map[string]relay.Listener{}
	for _, l := range ls {
		byKey[l.Key] = l
	}
	byAnalysis := map[string]*relay.Analysis{}
	for _, a := range analyses {
		byAnalysis[a.Listener.Key] = a
	}
	out := map[string]probe.TargetOptions{}
	for _, t := range targets {
		l, ok := byKey[t.Service]
		if !ok {
			continue
		}
		to := probe.TargetOptions{Limits: ProbeLimits(cfg, l.Service)}
		to.Hostname, _ = cfg.Expand(l.Service, "myhostname")
		if a := byAnalysis[t.Service]; a != nil && a.TestDomain != "" {
			to.TestDomain, to.SenderDomain, to.TestDomainNote = a.TestDomain, a.SenderDomain, a.TestDomainNote
		} else {
			d := relay.NewModel(cfg, l.Service, relay.Options{}).PickDomains()
			to.TestDomain, to.SenderDomain, to.TestDomainNote = d.Test, d.Sender, d.Note
		}
		if to.TestDomainNote != "" {
			to.TestDomainNote = "from the configuration: " + to.TestDomainNote
		}
		out[t.Address] = to
	}
	return out
}

// ProbeLimits reads the error limits a probe plans its sessions from
// (postconf(5) smtpd_soft_error_limit, smtpd_hard_error_limit,
// smtpd_error_sleep_time) in the listener's scope.
func ProbeLimits(cfg *postconf.Config, svc *postconf.Service) probe.Limits {
	lim := probe.Limits{}
	if v, err := cfg.Expand(svc, "smtpd_soft_error_limit"); err == nil {
		lim.SoftErrorLimit, _ = strconv.Atoi(strings.TrimSpace(v))
	}
	if v, err := cfg.Expand(svc, "smtpd_hard_error_limit"); err == nil {
		lim.HardErrorLimit, _ = strconv.Atoi(strings.TrimSpace(v))
	}
	if v, err := cfg.Expand(svc, "smtpd_error_sleep_time"); err == nil {
		lim.ErrorSleep = postfixDuration(v)
	}
	return lim
}

// postfixDuration parses a Postfix time value ("1s", "10", "2m"); a bare
// number is seconds (postconf(5) "time units").
func postfixDuration(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	unit := time.Second
	switch v[len(v)-1] {
	case 's':
		v = v[:len(v)-1]
	case 'm':
		unit, v = time.Minute, v[:len(v)-1]
	case 'h':
		unit, v = time.Hour, v[:len(v)-1]
	case 'd':
		unit, v = 24*time.Hour, v[:len(v)-1]
	case 'w':
		unit, v = 7*24*time.Hour, v[:len(v)-1]
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return time.Duration(n) * unit
}

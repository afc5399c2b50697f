package relay

import (
	"net/netip"
	"strings"

	"github.com/pfaudit/pfaudit/postconf"
)

// Listeners finds the smtpd listeners of a configuration (master(5)): inet
// entries whose command is smtpd, and postscreen entries, which hand
// clients to the `smtpd pass` service behind them (POSTSCREEN_README); that
// pass service's -o settings then govern relay.
func Listeners(cfg *postconf.Config) []Listener {
	var out []Listener
	var pass *postconf.Service
	for _, s := range cfg.Master.Services {
		if s.Type == "pass" && s.Command == "smtpd" {
			pass = s
			break
		}
	}
	inetIfaces, _ := cfg.Expand(nil, "inet_interfaces")
	protocols, _ := cfg.Expand(nil, "inet_protocols")
	for _, s := range cfg.Master.Services {
		if s.Type != "inet" {
			continue
		}
		l := Listener{Key: s.Key(), Front: s, Service: s}
		switch s.Command {
		case "smtpd":
		case "postscreen":
			l.Postscreen = true
			if pass != nil {
				l.Service = pass
			}
		default:
			continue
		}
		l.Host, l.Port = splitHostPort(s.Name)
		l.IPv4, l.IPv6 = families(protocols, l.Host)
		if l.Host != "" {
			l.LoopbackOnly = isLoopbackHost(l.Host)
		} else {
			l.LoopbackOnly = loopbackOnlyInterfaces(inetIfaces)
		}
		out = append(out, l)
	}
	return out
}

// splitHostPort splits a master.cf inet service name: "port", "host:port"
// or "[v6addr]:port".
func splitHostPort(name string) (host, port string) {
	if strings.HasPrefix(name, "[") {
		if i := strings.Index(name, "]:"); i > 0 {
			return name[1:i], name[i+2:]
		}
	}
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return "", name
}

func families(protocols, host string) (v4, v6 bool) {
	switch p := strings.ToLower(strings.Join(postconf.SplitList(protocols), ",")); {
	case p == "" || strings.Contains(p, "all"):
		v4, v6 = true, true
	default:
		v4 = strings.Contains(p, "ipv4")
		v6 = strings.Contains(p, "ipv6")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Is4() && v4, a.Is6() && v6
	}
	return v4, v6
}

func isLoopbackHost(h string) bool {
	h = strings.Trim(strings.ToLower(h), "[]")
	if h == "localhost" || strings.HasPrefix(h, "localhost.") {
		return true
	}
	if a, err := netip.ParseAddr(h); err == nil {
		return a.Unmap().IsLoopback()
	}
	return false
}

// loopbackOnlyInterfaces reports whether inet_interfaces names only
// loopback addresses (postconf(5) inet_interfaces: "loopback-only",
// "localhost", "127.0.0.1", "[::1]").
func loopbackOnlyInterfaces(v string) bool {
	items := postconf.SplitList(v)
	if len(items) == 0 {
		return false
	}
	for _, it := range items {
		it = strings.ToLower(it)
		if it == "loopback-only" {
			continue
		}
		if it == "all" || !isLoopbackHost(it) {
			return false
		}
	}
	return true
}

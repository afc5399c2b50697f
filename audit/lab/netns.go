package lab

import (
	"net"
	"net/netip"
	"sync"
	"time"
)

// NetnsOptions configure a namespace pair.
type NetnsOptions struct {
	// Subnet is the pair's network (default 10.213.0.0/24). It must be a
	// private (RFC 1918) IPv4 prefix between /8 and /30. The server gets
	// its first host address, the client the second.
	Subnet netip.Prefix
	// PointToPoint gives each side a /32 with the other as its peer
	// ("ip addr add A peer B/32") instead of addresses in Subnet: a server
	// with mynetworks_style = subnet then does not trust the client.
	PointToPoint bool
}

// Netns is a pair of network namespaces joined by a veth pair, both with lo
// up and no default route: nothing in them reaches anything else.
type Netns struct {
	Server, Client         string     // namespace names (ip netns)
	ServerAddr, ClientAddr netip.Addr // the veth addresses
	Subnet                 netip.Prefix
	PointToPoint           bool
}

// ipBin is the ip(8) command, found once.
var ipBin = sync.OnceValue(func() string {
	if p, err := lookSbin("ip"); err == nil {
		return p
	}
	return "ip"
})

// Dial connects from the client namespace (see DialFrom).
func (n *Netns) Dial(network, addr string, timeout time.Duration) (net.Conn, error) {
	return DialFrom(n.Client, network, addr, timeout)
}

//go:build !linux

package defaults

import (
	"fmt"
	"net"
	"net/netip"
)

// localAddrs approximates getifaddrs(3) with the net package: interfaces in
// index order, addresses of those that are up. The netlink version for
// Linux reproduces the kernel's order exactly.
func localAddrs(fams []family) ([]netip.Prefix, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("inet_addr_local: %w", err)
	}
	byFamily := map[family][]netip.Prefix{}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 {
			continue
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return nil, fmt.Errorf("inet_addr_local: %s: %w", ifi.Name, err)
		}
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			ones, _ := n.Mask.Size()
			if ip.IsUnspecified() {
				continue
			}
			f := familyIPv6
			if ip.Is4() {
				f = familyIPv4
			}
			byFamily[f] = append(byFamily[f], netip.PrefixFrom(ip, ones))
		}
	}
	var out []netip.Prefix
	for _, f := range fams {
		out = append(out, byFamily[f]...)
	}
	return out, nil
}

// ipv6Available assumes IPv6 where the Linux probe is not implemented.
func ipv6Available() bool { return true }

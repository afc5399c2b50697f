//go:build linux

package defaults

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// localAddrs lists interface addresses the way glibc's getifaddrs(3) does,
// which Postfix's inet_addr_local() calls once per family: one netlink
// RTM_GETADDR dump in kernel order, the local address (IFA_LOCAL, else
// IFA_ADDRESS) of interfaces whose link is administratively up (IFF_UP), the
// wildcard addresses skipped. Order matters: mynetworks keeps it.
func localAddrs(fams []family) ([]netip.Prefix, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("inet_addr_local: %w", err)
	}
	up := make(map[int32]bool, len(ifs))
	for _, ifi := range ifs {
		up[int32(ifi.Index)] = ifi.Flags&net.FlagUp != 0
	}
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETADDR, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("inet_addr_local: netlink: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("inet_addr_local: netlink: %w", err)
	}
	byFamily := map[family][]netip.Prefix{}
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWADDR {
			continue
		}
		if len(m.Data) < syscall.SizeofIfAddrmsg {
			return nil, errors.New("inet_addr_local: short netlink address message")
		}
		fam, plen := m.Data[0], int(m.Data[1])
		index := int32(binary.NativeEndian.Uint32(m.Data[4:8]))
		if !up[index] {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(m)
		if err != nil {
			return nil, fmt.Errorf("inet_addr_local: netlink: %w", err)
		}
		var addr, local []byte
		for _, a := range attrs {
			switch a.Attr.Type {
			case syscall.IFA_ADDRESS:
				addr = a.Value
			case syscall.IFA_LOCAL:
				local = a.Value
			}
		}
		if local != nil {
			addr = local
		}
		var f family
		var ip netip.Addr
		switch {
		case fam == syscall.AF_INET && len(addr) == 4:
			f, ip = familyIPv4, netip.AddrFrom4([4]byte(addr))
		case fam == syscall.AF_INET6 && len(addr) == 16:
			f, ip = familyIPv6, netip.AddrFrom16([16]byte(addr))
		default:
			continue
		}
		if ip.IsUnspecified() || plen > ip.BitLen() {
			continue
		}
		byFamily[f] = append(byFamily[f], netip.PrefixFrom(ip, plen))
	}
	var out []netip.Prefix
	for _, f := range fams {
		out = append(out, byFamily[f]...)
	}
	return out, nil
}

// ipv6Available is the probe of inet_proto_init(): can an IPv6 socket be
// made?
func ipv6Available() bool {
	fd, err := syscall.Socket(syscall.AF_INET6, syscall.SOCK_STREAM, 0)
	if err != nil {
		return !errors.Is(err, syscall.EAFNOSUPPORT)
	}
	syscall.Close(fd)
	return true
}

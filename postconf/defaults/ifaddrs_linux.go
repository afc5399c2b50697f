//go:build linux

package defaults

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// localAddrs lists interface addresses the way glibc's getifaddrs(3) does,
// which Postfix's inet_addr_local() calls once per family: one netlink
// RTM_GETADDR dump in kernel order, the local address (IFA_LOCAL, else
// IFA_ADDRESS) of interfaces whose link is administratively up (IFF_UP), the
// wildcard addresses skipped. Order matters: mynetworks keeps it.
func localAddrs(fams []family) ([]netip.Prefix, error) {
	up, err := linksUp()
	if err != nil {
		return nil, err
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
		var addr, local []byte
		err := walkAttrs(m.Data[syscall.SizeofIfAddrmsg:], func(typ uint16, value []byte) {
			switch typ {
			case syscall.IFA_ADDRESS:
				addr = value
			case syscall.IFA_LOCAL:
				local = value
			}
		})
		if err != nil {
			return nil, err
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

// linksUp maps interface indexes to IFF_UP from one RTM_GETLINK dump: the
// flags of the fixed ifinfomsg header are all getifaddrs needs here
// (net.Interfaces would decode every link's attributes too).
func linksUp() (map[int32]bool, error) {
	rib, err := syscall.NetlinkRIB(syscall.RTM_GETLINK, syscall.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("inet_addr_local: netlink: %w", err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("inet_addr_local: netlink: %w", err)
	}
	up := make(map[int32]bool, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Type != syscall.RTM_NEWLINK {
			continue
		}
		if len(m.Data) < syscall.SizeofIfInfomsg {
			return nil, errors.New("inet_addr_local: short netlink link message")
		}
		index := int32(binary.NativeEndian.Uint32(m.Data[4:8]))
		flags := binary.NativeEndian.Uint32(m.Data[8:12])
		up[index] = flags&syscall.IFF_UP != 0
	}
	return up, nil
}

// walkAttrs calls fn for each route attribute (struct rtattr: length,
// type, value padded to 4 bytes) in b.
func walkAttrs(b []byte, fn func(typ uint16, value []byte)) error {
	for len(b) >= syscall.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4])
		if l < syscall.SizeofRtAttr || l > len(b) {
			return errors.New("inet_addr_local: malformed netlink attribute")
		}
		fn(typ, b[syscall.SizeofRtAttr:l])
		l = (l + syscall.RTA_ALIGNTO - 1) &^ (syscall.RTA_ALIGNTO - 1)
		if l >= len(b) {
			break
		}
		b = b[l:]
	}
	return nil
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

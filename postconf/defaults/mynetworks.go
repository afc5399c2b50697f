package defaults

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// NetworkOptions are the settings the default mynetworks is computed from,
// as expanded values.
type NetworkOptions struct {
	// Style is mynetworks_style: exactly one of "host", "subnet", "class".
	Style string
	// InetInterfaces is inet_interfaces: "all", "loopback-only", or a list
	// of addresses and host names whose netmasks come from the local
	// interfaces.
	InetInterfaces string
	// InetProtocols is inet_protocols: "all", "ipv4", "ipv6" (or a list);
	// empty disables both, and with them mynetworks.
	InetProtocols string
}

// Address families in the order Postfix scans them (inet_proto.c: IPv4
// first for "all").
type family int

const (
	familyIPv4 family = 4
	familyIPv6 family = 6
)

// netEnv is what Mynetworks needs from the system; tests replace it.
type netEnv struct {
	// local returns the addresses of the interfaces that are up, with their
	// netmask as prefix length, family by family in fams order, each family
	// in the kernel's order (what getifaddrs(3) returns).
	local func(fams []family) ([]netip.Prefix, error)
	// resolve looks up a host name ("ip4", "ip6" or "ip").
	resolve func(ctx context.Context, network, host string) ([]netip.Addr, error)
	// ipv6 reports whether the kernel supports IPv6 sockets.
	ipv6 func() bool
}

var systemNet = netEnv{
	local: localAddrs,
	resolve: func(ctx context.Context, network, host string) ([]netip.Addr, error) {
		return net.DefaultResolver.LookupNetIP(ctx, network, host)
	},
	ipv6: ipv6Available,
}

// Mynetworks computes the default mynetworks for this host as Postfix's
// mynetworks.c and own_inet_addr.c do:
//
//   - the addresses come from inet_interfaces: every address of every
//     interface that is up ("all"), only 127.0.0.0/8 and ::1
//     ("loopback-only"), or the listed hosts, resolved, sorted, without
//     duplicates, each with the netmask of the local interface that has it;
//   - limited to the families of inet_protocols (none: empty result);
//   - host style gives /32 and /128, subnet the interface's prefix, class
//     the classful A/B/C/D network for IPv4 (IPv6 has no classes: subnet).
//
// The result is printed as postconf prints it: "127.0.0.0/8 [::1]/128".
// Errors are the conditions Postfix dies of, with its message.
func Mynetworks(ctx context.Context, opts NetworkOptions) (string, error) {
	return mynetworksWith(ctx, opts, systemNet)
}

// Mask styles (mynetworks.c).
const (
	styleClass = 1 << iota
	styleSubnet
	styleHost
)

func mynetworksWith(ctx context.Context, opts NetworkOptions, env netEnv) (string, error) {
	fams, err := parseProtocols(opts.InetProtocols, env)
	if err != nil {
		return "", err
	}
	// mynetworks_core: with every protocol disabled there is nothing to
	// look up, and the style is not even checked.
	if len(fams) == 0 {
		return "", nil
	}
	style, err := parseStyle(opts.Style)
	if err != nil {
		return "", err
	}
	own, err := ownAddrs(ctx, opts.InetInterfaces, fams, env)
	if err != nil {
		return "", err
	}
	return formatNetworks(style, own)
}

// macDelims are the separators of name_mask() lists (CHARS_COMMA_SP).
const macDelims = ", \t\r\n"

func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(macDelims, r) })
}

// parseProtocols is inet_proto_init(): names are case-sensitive; "all"
// quietly drops IPv6 when the kernel lacks it, "ipv6" alone then is fatal.
func parseProtocols(v string, env netEnv) ([]family, error) {
	var v4, v6 bool
	for _, f := range fields(v) {
		switch f {
		case "all":
			v4, v6 = true, true
		case "ipv4":
			v4 = true
		case "ipv6":
			v6 = true
		default:
			return nil, fmt.Errorf("unknown inet_protocols value %q in %q", f, v)
		}
	}
	switch {
	case v4 && v6:
		if env.ipv6() {
			return []family{familyIPv4, familyIPv6}, nil
		}
		return []family{familyIPv4}, nil
	case v6:
		if !env.ipv6() {
			return nil, errors.New("inet_protocols: IPv6 support is disabled")
		}
		return []family{familyIPv6}, nil
	case v4:
		return []family{familyIPv4}, nil
	}
	return nil, nil
}

func parseStyle(v string) (int, error) {
	mask := 0
	for _, f := range fields(v) {
		switch f {
		case "class":
			mask |= styleClass
		case "subnet":
			mask |= styleSubnet
		case "host":
			mask |= styleHost
		default:
			return 0, fmt.Errorf("unknown mynetworks mask style value %q in %q", f, v)
		}
	}
	if bits.OnesCount(uint(mask)) != 1 {
		return 0, fmt.Errorf("bad mynetworks_style value: %s; specify exactly one value", v)
	}
	return mask, nil
}

func hasFamily(fams []family, a netip.Addr) bool {
	for _, f := range fams {
		if (f == familyIPv4) == a.Is4() {
			return true
		}
	}
	return false
}

// ownAddrs is own_inet_addr_init(): the addresses this instance listens on,
// with netmasks.
func ownAddrs(ctx context.Context, interfaces string, fams []family, env netEnv) ([]netip.Prefix, error) {
	local, err := env.local(fams)
	if err != nil {
		return nil, err
	}
	noLocal := errors.New("could not find any active network interfaces")
	switch interfaces {
	case "all":
		if len(local) == 0 {
			return nil, noLocal
		}
		return local, nil
	case "loopback-only":
		if len(local) == 0 {
			return nil, noLocal
		}
		var own []netip.Prefix
		for _, p := range local {
			if isLoopback(p.Addr()) {
				own = append(own, p)
			}
		}
		return own, nil
	}
	var addrs []netip.Addr
	for _, host := range strings.FieldsFunc(interfaces, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' }) {
		found, err := hostAddrs(ctx, host, fams, env)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, found...)
	}
	addrs = sortUniq(addrs)
	if len(local) == 0 {
		return nil, noLocal
	}
	own := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		i := -1
		for j, p := range local {
			if p.Addr().WithZone("") == a {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("parameter inet_interfaces: no local interface found for %s", formatAddr(a))
		}
		own = append(own, netip.PrefixFrom(a, local[i].Bits()))
	}
	return own, nil
}

// isLoopback is sock_addr_in_loopback(): 127.0.0.0/8 and ::1 only.
func isLoopback(a netip.Addr) bool {
	if a.Is4() {
		return a.As4()[0] == 127
	}
	return a.WithZone("") == netip.IPv6Loopback()
}

// hostAddrs is inet_addr_host(): "[addr]" loses its brackets, numeric
// addresses are taken as they are, names are resolved, and addresses of
// disabled families are skipped; nothing left is fatal.
func hostAddrs(ctx context.Context, host string, fams []family, env netEnv) ([]netip.Addr, error) {
	name := host
	if len(name) >= 2 && name[0] == '[' && name[len(name)-1] == ']' {
		name = name[1 : len(name)-1]
	}
	var found []netip.Addr
	if a, err := netip.ParseAddr(name); err == nil {
		found = []netip.Addr{a}
	} else {
		network := "ip"
		if len(fams) == 1 {
			network = "ip" + strconv.Itoa(int(fams[0]))
		}
		found, _ = env.resolve(ctx, network, name)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	var out []netip.Addr
	for _, a := range found {
		a = a.Unmap().WithZone("")
		if hasFamily(fams, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("config variable inet_interfaces: host not found: %s", host)
	}
	return out, nil
}

// cmpAddr is sock_addr_cmp_addr() on a little-endian host: IPv4 before
// IPv6; IPv4 addresses compare by the difference of their network-order
// words read as native integers, truncated to int, so 2.0.0.1 sorts before
// 1.0.0.2; IPv6 addresses compare bytewise.
func cmpAddr(a, b netip.Addr) int {
	if a.Is4() != b.Is4() {
		if a.Is4() {
			return -1
		}
		return 1
	}
	if a.Is4() {
		x, y := a.As4(), b.As4()
		return int(int32(binary.LittleEndian.Uint32(x[:]) - binary.LittleEndian.Uint32(y[:])))
	}
	x, y := a.As16(), b.As16()
	return bytes.Compare(x[:], y[:])
}

// sortUniq is inet_addr_list_uniq(): qsort with cmpAddr, then drop
// neighbours that compare equal. Because cmpAddr is not transitive for
// IPv4, the order depends on the sorting algorithm; this is glibc 2.36's
// qsort (Debian 12), a top-down merge sort.
func sortUniq(addrs []netip.Addr) []netip.Addr {
	if len(addrs) < 2 {
		return addrs
	}
	tmp := make([]netip.Addr, len(addrs))
	mergeSort(addrs, tmp)
	out := addrs[:1]
	for _, a := range addrs[1:] {
		if cmpAddr(out[len(out)-1], a) != 0 {
			out = append(out, a)
		}
	}
	return out
}

// mergeSort follows glibc msort_with_tmp: split n/2 | n-n/2, sort both
// halves, merge taking from the left while it compares <= the right.
func mergeSort(b, tmp []netip.Addr) {
	n := len(b)
	if n <= 1 {
		return
	}
	n1 := n / 2
	b1, b2 := b[:n1], b[n1:]
	mergeSort(b1, tmp)
	mergeSort(b2, tmp)
	i, j, k := 0, 0, 0
	for i < len(b1) && j < len(b2) {
		if cmpAddr(b1[i], b2[j]) <= 0 {
			tmp[k] = b1[i]
			i++
		} else {
			tmp[k] = b2[j]
			j++
		}
		k++
	}
	k += copy(tmp[k:], b1[i:])
	copy(b, tmp[:k])
}

// formatNetworks is mynetworks_core(): one pattern per address, duplicates
// dropped, original order kept.
func formatNetworks(style int, own []netip.Prefix) (string, error) {
	seen := make(map[string]bool, len(own))
	out := make([]string, 0, len(own))
	for _, p := range own {
		a := p.Addr().WithZone("")
		var s string
		if a.Is4() {
			v := binary.BigEndian.Uint32(a.AsSlice())
			var prefix int
			switch style {
			case styleClass:
				switch {
				case v&0x80000000 == 0:
					prefix = 8
				case v&0xc0000000 == 0x80000000:
					prefix = 16
				case v&0xe0000000 == 0xc0000000:
					prefix = 24
				case v&0xf0000000 == 0xe0000000:
					prefix = 4
				default:
					return "", fmt.Errorf("mynetworks_core: unknown address class: %s", a)
				}
			case styleSubnet:
				prefix = p.Bits()
			case styleHost:
				prefix = 32
			}
			net := netip.PrefixFrom(a, prefix).Masked()
			s = net.Addr().String() + "/" + strconv.Itoa(prefix)
		} else {
			prefix := p.Bits()
			if style == styleHost {
				prefix = 128
			}
			net := netip.PrefixFrom(a, prefix).Masked()
			s = "[" + formatAddr(net.Addr()) + "]/" + strconv.Itoa(prefix)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, " "), nil
}

// formatAddr prints an address as glibc's inet_ntop does. It differs from
// netip only for IPv4-compatible IPv6 addresses (first 96 bits zero, not
// ::/ ::1 style), which glibc prints as "::1.2.3.4".
func formatAddr(a netip.Addr) string {
	a = a.WithZone("")
	if a.Is6() && !a.Is4In6() {
		b := a.As16()
		var zero [12]byte
		if bytes.Equal(b[:12], zero[:]) && (b[12] != 0 || b[13] != 0) {
			return "::" + netip.AddrFrom4([4]byte(b[12:])).String()
		}
	}
	return a.String()
}

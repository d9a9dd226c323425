// Package netaddr stands in for inet.af/netaddr, which the Go module proxy here refuses at every
// version (403 Forbidden), so gomplate (v3.10+, v4) can be built. It has only what gomplate uses:
// its deprecated net.ParseIP / net.ParseIPPrefix / net.ParseIPRange template functions, on top of
// net/netip and go4.org/netipx (netaddr's successors, by the same authors). Dex's configs do not
// call those functions; everything else gomplate does is its own code.
package netaddr

import (
	"net"
	"net/netip"

	"go4.org/netipx"
)

// IP is an IP address.
type IP struct{ netip.Addr }

// ParseIP parses s as an IPv4 or IPv6 address.
func ParseIP(s string) (IP, error) {
	a, err := netip.ParseAddr(s)
	return IP{a}, err
}

// IPPrefix is an IP address prefix (CIDR).
type IPPrefix struct{ netip.Prefix }

// ParseIPPrefix parses s as a CIDR, e.g. "192.168.0.0/16".
func ParseIPPrefix(s string) (IPPrefix, error) {
	p, err := netip.ParsePrefix(s)
	return IPPrefix{p}, err
}

// Masked returns p with the host bits cleared.
func (p IPPrefix) Masked() IPPrefix { return IPPrefix{p.Prefix.Masked()} }

// IPNet returns p as a *net.IPNet.
func (p IPPrefix) IPNet() *net.IPNet { return netipx.PrefixIPNet(p.Prefix) }

// IPRange is an inclusive range of IP addresses.
type IPRange struct{ netipx.IPRange }

// ParseIPRange parses a range such as "192.168.0.1-192.168.0.10".
func ParseIPRange(s string) (IPRange, error) {
	r, err := netipx.ParseIPRange(s)
	return IPRange{r}, err
}

// Package egresstest holds stand-ins that keep tests of outbound requests
// on the machine: a resolver answering from a table, never DNS, and a
// dialer that connects only to loopback and fails the test when asked to
// connect anywhere else.
package egresstest

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
)

// Resolver answers from a table of names; a name not in it is not found.
type Resolver map[string][]string

// LookupNetIP returns the table's addresses of host of the given family.
func (r Resolver) LookupNetIP(_ context.Context, network, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, s := range r[host] {
		a := netip.MustParseAddr(s)
		if network == "ip4" && !a.Unmap().Is4() || network == "ip6" && a.Unmap().Is4() {
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

// Dialer connects to loopback addresses only. Asked for any other address
// it fails the test and refuses, so a test proves a refusal without ever
// sending a packet off the machine.
type Dialer struct {
	T      testing.TB
	mu     sync.Mutex
	dialed []string
}

// DialContext connects to addr if it is a loopback address.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.dialed = append(d.dialed, addr)
	d.mu.Unlock()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || !ap.Addr().Unmap().IsLoopback() {
		d.T.Errorf("egresstest: asked to connect to %s over %s; tests connect to loopback only", addr, network)
		return nil, fmt.Errorf("egresstest: refused to connect to %s", addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// Dialed lists every address the dialer was asked to connect to.
func (d *Dialer) Dialed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

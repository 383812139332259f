// Package egresstest holds stand-ins that keep tests of outbound requests
// on the machine: a resolver answering from a table, never DNS, and a
// dialer that connects only to loopback and fails the test when asked to
// connect anywhere else.
package egresstest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"sync"
	"sync/atomic"
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

// Server is a loopback HTTP server that answers "ok", or redirects to the
// URL in its `to` query parameter, and counts the requests it received.
type Server struct {
	*httptest.Server
	hits atomic.Int32
}

// NewServer starts a Server; the test's cleanup closes it.
func NewServer(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

// Hits returns how many requests the server received.
func (s *Server) Hits() int32 { return s.hits.Load() }

// ResetHits sets the count back to zero.
func (s *Server) ResetHits() { s.hits.Store(0) }

// Port is the server's port.
func (s *Server) Port() string {
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	return port
}

// RedirectTo is a URL of the server that redirects to `to`.
func (s *Server) RedirectTo(to string) string { return s.URL + "/?to=" + url.QueryEscape(to) }

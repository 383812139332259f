// Package egress decides where outbound requests built from runbooks,
// experiments and alerts may go. A Policy holds allow and deny entries
// (host names, *.suffix wildcards, IP addresses, CIDRs) on top of built-in
// denials of link-local, cloud metadata and unspecified addresses. It is
// checked on the URL before a request is made, on every redirect, and on
// every address a name resolves to before connecting, so a name that
// resolves (or later rebinds) to a metadata address is refused too.
//
// With no allow entries every address is allowed except the denied ones;
// with allow entries only those are (allow-list mode). Deny entries always
// win over allow entries. A built-in denial is lifted only by an allow
// entry at least as specific as it (169.254.169.254/32 lifts the metadata
// denial; 0.0.0.0/0 does not). Loopback is allowed unless denied.
package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Rule names of the built-in denials, as errors show them.
const (
	RuleLinkLocal   = "link-local (default)"
	RuleMetadata    = "cloud metadata (default)"
	RuleUnspecified = "unspecified address (default)"
	// RuleNotAllowed refuses, in allow-list mode, what no allow entry names.
	RuleNotAllowed = "not in egress.allow"
)

// builtin are the denials every policy starts with. The longest prefix
// that matches names the rule.
var builtin = []rule{
	{name: RuleLinkLocal, prefix: netip.MustParsePrefix("169.254.0.0/16")},
	{name: RuleLinkLocal, prefix: netip.MustParsePrefix("fe80::/10")},
	// AWS, GCP, Azure, Oracle and DigitalOcean instance metadata, and
	// the ECS task metadata endpoint.
	{name: RuleMetadata, prefix: netip.MustParsePrefix("169.254.169.254/32")},
	{name: RuleMetadata, prefix: netip.MustParsePrefix("169.254.170.2/32")},
	// Alibaba Cloud.
	{name: RuleMetadata, prefix: netip.MustParsePrefix("100.100.100.200/32")},
	// AWS over IPv6.
	{name: RuleMetadata, prefix: netip.MustParsePrefix("fd00:ec2::254/128")},
	// Azure's WireServer.
	{name: RuleMetadata, prefix: netip.MustParsePrefix("168.63.129.16/32")},
	{name: RuleMetadata, host: "metadata.google.internal"},
	// "This network": connecting to 0.0.0.0 reaches the local host.
	{name: RuleUnspecified, prefix: netip.MustParsePrefix("0.0.0.0/8")},
	{name: RuleUnspecified, prefix: netip.MustParsePrefix("::/128")},
}

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4
// address in their last 32 bits, which is checked too.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// rule is one entry: an address prefix, an exact host name, or a wildcard
// matching every subdomain of host.
type rule struct {
	name     string
	prefix   netip.Prefix
	host     string
	wildcard bool
}

func (r rule) matchesHost(host string) bool {
	switch {
	case r.host == "":
		return false
	case r.wildcard:
		return strings.HasSuffix(host, "."+r.host)
	}
	return host == r.host
}

// Resolver looks up the addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc connects to an address, as net.Dialer.DialContext does.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Policy decides which hosts and addresses requests may reach. The zero
// value is not usable; build one with New or Default.
type Policy struct {
	allow, deny []rule
	// Resolver resolves host names before connecting; nil means
	// net.DefaultResolver. Tests set one that never leaves the process.
	Resolver Resolver
	// Dial connects to an address the policy has already allowed (always
	// an IP literal and a port); nil means a net.Dialer whose Control
	// checks the address once more just before the connection is made.
	Dial DialFunc
}

// DeniedError says which rule refused a host or an address.
type DeniedError struct {
	// Host is the name asked for; empty for an address literal.
	Host string
	// Addr is the address refused; invalid when the name itself was.
	Addr netip.Addr
	// Rule names the entry that refused it, for example
	// "link-local (default)" or "egress.deny: 10.0.0.0/8".
	Rule string
}

func (e *DeniedError) Error() string {
	switch {
	case !e.Addr.IsValid():
		return fmt.Sprintf("egress: %s denied by rule %q", e.Host, e.Rule)
	case e.Host == "":
		return fmt.Sprintf("egress: %s denied by rule %q", e.Addr, e.Rule)
	}
	return fmt.Sprintf("egress: %s (%s) denied by rule %q", e.Host, e.Addr, e.Rule)
}

// Default is the policy with only the built-in denials.
func Default() *Policy {
	p, _ := New(nil, nil)
	return p
}

// New builds a policy from allow and deny entries; see ParseEntry.
func New(allow, deny []string) (*Policy, error) {
	p := &Policy{}
	for _, list := range []struct {
		key     string
		entries []string
		into    *[]rule
	}{{"egress.allow", allow, &p.allow}, {"egress.deny", deny, &p.deny}} {
		for i, e := range list.entries {
			r, err := parse(e)
			if err != nil {
				return nil, fmt.Errorf("%s[%d]: %w", list.key, i, err)
			}
			r.name = list.key + ": " + strings.TrimSpace(e)
			*list.into = append(*list.into, r)
		}
	}
	return p, nil
}

// ParseEntry reports whether s is a valid allow or deny entry: a host name
// ("api.example.com"), a wildcard for every subdomain ("*.example.com"),
// an IP address or a CIDR ("10.0.0.0/8").
func ParseEntry(s string) error {
	_, err := parse(s)
	return err
}

func parse(s string) (rule, error) {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "://") {
		return rule{}, fmt.Errorf("%q is a URL: give its host name", s)
	}
	if strings.Contains(t, "/") {
		pfx, err := netip.ParsePrefix(t)
		if err != nil {
			return rule{}, fmt.Errorf("%q is not a CIDR", s)
		}
		return rule{prefix: pfx.Masked()}, nil
	}
	if a, err := netip.ParseAddr(strings.Trim(t, "[]")); err == nil {
		a = a.WithZone("").Unmap()
		return rule{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
	}
	host, wildcard := strings.CutPrefix(normalHost(t), "*.")
	if !validHost(host) {
		return rule{}, fmt.Errorf("%q is not a host name, *.domain, IP address or CIDR", s)
	}
	return rule{host: host, wildcard: wildcard}, nil
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// normalHost lower-cases a host name and drops a trailing dot, so
// "Metadata.Google.Internal." is the name the rules know.
func normalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// allowList reports whether only allowed hosts and addresses may be
// reached.
func (p *Policy) allowList() bool { return len(p.allow) > 0 }

// checkName refuses a host name (not an address literal) by its name
// alone, before it is resolved. A built-in denial of a name is lifted only
// by an allow entry naming exactly that host.
func (p *Policy) checkName(host string) error {
	for _, r := range p.deny {
		if r.matchesHost(host) {
			return &DeniedError{Host: host, Rule: r.name}
		}
	}
	for _, r := range builtin {
		if r.matchesHost(host) && !p.allowsExactly(host) {
			return &DeniedError{Host: host, Rule: r.name}
		}
	}
	// With only names allowed, an unlisted name is refused before it is
	// looked up, so not even its DNS query leaves.
	if p.allowList() && !p.nameAllowed(host) && !p.allowsAddrs() {
		return &DeniedError{Host: host, Rule: RuleNotAllowed}
	}
	return nil
}

func (p *Policy) allowsAddrs() bool {
	for _, r := range p.allow {
		if r.prefix.IsValid() {
			return true
		}
	}
	return false
}

func (p *Policy) allowsExactly(host string) bool {
	for _, r := range p.allow {
		if !r.wildcard && r.host == host {
			return true
		}
	}
	return false
}

// nameAllowed reports whether an allow entry names host.
func (p *Policy) nameAllowed(host string) bool {
	for _, r := range p.allow {
		if r.matchesHost(host) {
			return true
		}
	}
	return false
}

// checkAddr decides whether a may be reached; host is the name it was
// resolved from, empty for an address literal.
func (p *Policy) checkAddr(host string, a netip.Addr) error {
	a = a.WithZone("").Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		if err := p.checkAddr(host, netip.AddrFrom4([4]byte(b[12:]))); err != nil {
			return err
		}
	}
	if r, ok := longest(p.deny, a); ok {
		return &DeniedError{Host: host, Addr: a, Rule: r.name}
	}
	allowed, allowedByAddr := longest(p.allow, a)
	if r, ok := longest(builtin, a); ok && (!allowedByAddr || allowed.prefix.Bits() < r.prefix.Bits()) {
		return &DeniedError{Host: host, Addr: a, Rule: r.name}
	}
	if p.allowList() && !allowedByAddr && (host == "" || !p.nameAllowed(host)) {
		return &DeniedError{Host: host, Addr: a, Rule: RuleNotAllowed}
	}
	return nil
}

// longest returns the address rule with the longest prefix containing a.
func longest(rules []rule, a netip.Addr) (rule, bool) {
	var best rule
	found := false
	for _, r := range rules {
		if r.prefix.IsValid() && r.prefix.Contains(a) && (!found || r.prefix.Bits() > best.prefix.Bits()) {
			best, found = r, true
		}
	}
	return best, found
}

// checkStatic checks what can be checked without resolving: a name's own
// rules, or an address literal.
func (p *Policy) checkStatic(host string) error {
	if a, err := netip.ParseAddr(host); err == nil {
		return p.checkAddr("", a)
	}
	return p.checkName(normalHost(host))
}

// Check decides whether host (a name or an address literal, as in a URL)
// may be reached: by its name, then by every address it resolves to. It
// resolves names but never connects. A *DeniedError says which rule
// refused it; other errors are lookup failures.
func (p *Policy) Check(ctx context.Context, host string) error {
	_, err := p.resolve(ctx, "ip", strings.Trim(host, "[]"))
	return err
}

// CheckURL is Check on the URL's host.
func (p *Policy) CheckURL(ctx context.Context, u *url.URL) error {
	return p.Check(ctx, u.Hostname())
}

// resolve checks host and returns the addresses to connect to: all of
// them, or an error if any is refused.
func (p *Policy) resolve(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if err := p.checkAddr("", a); err != nil {
			return nil, err
		}
		return []netip.Addr{a}, nil
	}
	host = normalHost(host)
	if err := p.checkName(host); err != nil {
		return nil, err
	}
	var res Resolver = net.DefaultResolver
	if p.Resolver != nil {
		res = p.Resolver
	}
	addrs, err := res.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	for _, a := range addrs {
		if err := p.checkAddr(host, a); err != nil {
			return nil, err
		}
	}
	return addrs, nil
}

// DialContext connects to addr ("host:port") if the policy allows it:
// the name is checked, resolved, every answer checked, and only then is an
// answer dialled, by address, so the address connected to is one that was
// checked.
func (p *Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ipNet := "ip"
	switch network {
	case "tcp4", "udp4":
		ipNet = "ip4"
	case "tcp6", "udp6":
		ipNet = "ip6"
	}
	addrs, err := p.resolve(ctx, ipNet, host)
	if err != nil {
		return nil, err
	}
	dial := p.Dial
	if dial == nil {
		dial = p.dialer(normalHost(host)).DialContext
	}
	var first error
	for _, a := range addrs {
		conn, err := dial(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// dialer is the default dialer: its Control checks the address the
// socket is about to connect to, a last check that holds even if an
// address reached it unchecked.
func (p *Policy) dialer(host string) *net.Dialer {
	if _, err := netip.ParseAddr(host); err == nil {
		host = ""
	}
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.control(host)}
}

func (p *Policy) control(host string) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("egress: cannot check address %q: %w", address, err)
		}
		return p.checkAddr(host, ap.Addr())
	}
}

// maxRedirects is how many redirects a request follows, as net/http's
// default does.
const maxRedirects = 10

// CheckRedirect refuses a redirect to a scheme other than http or https
// or to a host the policy refuses by name or address; the addresses a
// redirect's name resolves to are checked when it is dialled.
func (p *Policy) CheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("egress: redirect to %s URL refused", req.URL.Scheme)
	}
	return p.checkStatic(req.URL.Hostname())
}

// Client returns an HTTP client that only reaches what the policy allows:
// it dials through DialContext, re-checks every redirect, and ignores
// HTTP_PROXY and HTTPS_PROXY, since a proxy would connect on its behalf
// where the policy cannot see.
func (p *Policy) Client(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = p.DialContext
	return &http.Client{Transport: t, CheckRedirect: p.CheckRedirect, Timeout: timeout}
}

// IsDenied reports whether err is, or wraps, a refusal by a policy.
func IsDenied(err error) bool {
	var d *DeniedError
	return errors.As(err, &d)
}

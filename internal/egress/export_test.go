package egress

import "syscall"

// Control exposes the default dialer's Control for tests, which must not
// connect anywhere but loopback.
func Control(p *Policy, host string) func(network, address string, c syscall.RawConn) error {
	return p.control(host)
}

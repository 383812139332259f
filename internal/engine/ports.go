package engine

import (
	"fmt"
	"net"
	"strconv"
)

// portSet holds every TCP port the embedded server and UI listen on.
type portSet struct {
	frontend int
	ui       int // 0 = UI disabled
	history  int
	matching int
	worker   int
	// membership (ringpop) ports of frontend, history, matching and worker.
	membership [4]int
}

// allocatePorts checks that the requested frontend and UI ports are free and
// picks free ports for everything else. Frontend and UI are checked on
// cfg.Host (where they bind); internal services use internalHost.
//
// Ports are found by listening on port 0. All listeners are held until every
// port has been picked, so no port is handed out twice; they are closed on
// return and the server binds them moments later.
func allocatePorts(cfg Config, internalHost string) (portSet, error) {
	var (
		ps        portSet
		listeners []net.Listener
	)
	defer func() {
		for _, l := range listeners {
			_ = l.Close()
		}
	}()
	listen := func(host string, port int) (int, error) {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return 0, err
		}
		listeners = append(listeners, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}

	var err error
	if ps.frontend, err = listen(cfg.Host, cfg.Port); err != nil {
		if cfg.Port != 0 {
			return ps, fmt.Errorf("temporal port %d is already in use: %w", cfg.Port, err)
		}
		return ps, fmt.Errorf("finding a free temporal port: %w", err)
	}
	switch {
	case cfg.UIPort > 0:
		if ps.ui, err = listen(cfg.Host, cfg.UIPort); err != nil {
			return ps, fmt.Errorf("temporal UI port %d is already in use: %w", cfg.UIPort, err)
		}
	case cfg.UIPort == -1:
		if ps.ui, err = listen(cfg.Host, 0); err != nil {
			return ps, fmt.Errorf("finding a free temporal UI port: %w", err)
		}
	}
	internal := []*int{&ps.history, &ps.matching, &ps.worker}
	for i := range ps.membership {
		internal = append(internal, &ps.membership[i])
	}
	for _, p := range internal {
		if *p, err = listen(internalHost, 0); err != nil {
			return ps, fmt.Errorf("finding a free port for temporal services: %w", err)
		}
	}
	return ps, nil
}

// checkPortFree reports an error if nothing can listen on host:port right
// now. The UI server exits the process when it cannot listen, so this is
// checked again right before it starts.
func checkPortFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

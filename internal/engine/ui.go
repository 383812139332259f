package engine

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uioptions "github.com/temporalio/ui-server/v2/server/server_options"
)

// startUI starts the Temporal Web UI on bindHost:port in the background and
// waits until it accepts connections. The UI assets are embedded in the
// ui-server module, so nothing is fetched from the internet.
// codecEndpoint, when set, is where the UI's browser decodes encrypted
// payloads.
func (e *Engine) startUI(ctx context.Context, bindHost, connectHost string, port int, codecEndpoint string) error {
	// uiserver.Server.Start exits the process (echo's Logger.Fatal) when it
	// cannot listen, so make sure the port is still free right before.
	if err := checkPortFree(bindHost, port); err != nil {
		return fmt.Errorf("temporal UI port %d is already in use: %w", port, err)
	}
	cfg := &uiconfig.Config{
		TemporalGRPCAddress: e.frontend,
		Host:                bindHost,
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    e.namespace,
		// The UI is served over plain HTTP on localhost; a Secure CSRF
		// cookie would never be sent back and every write would fail.
		CORS: uiconfig.CORS{CookieInsecure: true},
		// No request logging or startup banner on stdout.
		HideLogs: true,
		// Do not fetch news or check for new versions over the internet.
		DisableNewsFetch:   true,
		NotifyOnNewVersion: false,
		// RefreshInterval stays 0: a refresh loop would log via the
		// standard library logger on every reload.
	}
	if codecEndpoint != "" {
		// The browser calls Firebreak's codec endpoint itself, with its
		// cookies (credentials) so a signed-in session is recognized.
		cfg.Codec.Endpoint = codecEndpoint
		cfg.Codec.IncludeCredentials = true
		cfg.Codec.DefaultErrorMessage = "Firebreak could not decrypt this payload: is the Firebreak API running, and may you read histories (histories.read)?"
	}
	ui, err := newUIServer(cfg)
	if err != nil {
		return err
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := ui.Start(); err != nil {
			e.logger.Error("temporal UI server failed", "error", err)
		}
	}()
	e.ui, e.uiDone = ui, done

	addr := net.JoinHostPort(connectHost, strconv.Itoa(port))
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = conn.Close()
			e.uiAddress = "http://" + addr
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("temporal UI server on %s exited: %w", addr, err)
		default:
		}
		if perr := pause(ctx); perr != nil {
			return fmt.Errorf("temporal UI server on %s did not start: %w (last error: %v)", addr, perr, err)
		}
	}
}

// newUIServer wraps uiserver.NewServer, which panics on configuration errors.
func newUIServer(cfg *uiconfig.Config) (srv *uiserver.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("creating temporal UI server: %v", r)
		}
	}()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("creating temporal UI server: %w", err)
	}
	return uiserver.NewServer(uioptions.WithConfigProvider(cfg)), nil
}

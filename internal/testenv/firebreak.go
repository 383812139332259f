// Package testenv starts the real components Firebreak's tests run
// against — the embedded Temporal server, a Firebreak worker and API,
// Prometheus — on free loopback ports, and stops them when the test ends.
package testenv

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/codec"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/engine"
	"github.com/firebreak-ops/firebreak/runbooks"
)

// Logger returns a logger for tests: quiet unless FIREBREAK_TEST_LOG is set.
func Logger(t testing.TB) *slog.Logger {
	if os.Getenv("FIREBREAK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// Engine starts the embedded Temporal server on dataDir.
func Engine(t testing.TB, dataDir string) *engine.Engine {
	t.Helper()
	return EngineOn(t, dataDir, 0)
}

// EngineOn is Engine on a fixed frontend port (0: any), so a test can stop
// the server and start it again where clients expect it.
func EngineOn(t testing.TB, dataDir string, port int) *engine.Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e, err := engine.Start(ctx, engine.Config{
		DataDir:          dataDir,
		Port:             port,
		SearchAttributes: app.SearchAttributes(),
		Logger:           Logger(t),
	})
	if err != nil {
		t.Fatalf("starting embedded Temporal: %v", err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	if dir := os.Getenv(CaptureEnv); dir != "" {
		// Cleanups run last-in first-out: this one before the stop.
		t.Cleanup(func() { captureHistories(t, e, dir) })
	}
	return e
}

// Client dials the engine, encrypting payloads with Keyring.
func Client(t testing.TB, e *engine.Engine) client.Client {
	t.Helper()
	return ClientWith(t, e, Keyring(t))
}

// ClientWith dials the engine with a keyring of the test's choosing (nil:
// payloads in clear).
func ClientWith(t testing.TB, e *engine.Engine, k *codec.Keyring) client.Client {
	t.Helper()
	opts := client.Options{
		HostPort: e.FrontendAddress(), Namespace: e.Namespace(),
		Logger: sdklog.NewStructuredLogger(Logger(t)),
	}
	if err := codec.Apply(&opts, k); err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(opts)
	if err != nil {
		t.Fatalf("dialing Temporal: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Firebreak is a running worker and API.
type Firebreak struct {
	URL    string
	Client client.Client
	stop   context.CancelFunc
	done   chan error
}

// Stop stops the worker and API and waits for them.
func (f *Firebreak) Stop() {
	if f.stop == nil {
		return
	}
	f.stop()
	<-f.done
	f.stop = nil
}

// Options tweak StartFirebreak.
type Options struct {
	Config  *config.Config
	Catalog *runbooks.Catalog
	// Experiments is the chaos catalog (default: the built-in one).
	Experiments *experiments.Catalog
	Role        string
	// Logger receives the worker's and API's logs (default: Logger(t)).
	Logger *slog.Logger
	// Plain stores payloads in clear; by default they are encrypted with
	// Keyring (or Keys), as `firebreak dev` and `serve` do.
	Plain bool
	Keys  *codec.Keyring
}

// StartFirebreak runs a worker and the API against the engine.
func StartFirebreak(t testing.TB, e *engine.Engine, o Options) *Firebreak {
	t.Helper()
	if o.Config == nil {
		o.Config = &config.Config{}
	}
	if o.Config.Incidents.PostmortemDir == "" {
		// Postmortems of a test's incidents stay in the test's own dir.
		o.Config.Incidents.PostmortemDir = filepath.Join(t.TempDir(), "postmortems")
	}
	if o.Catalog == nil {
		cat, err := runbooks.Builtin()
		if err != nil {
			t.Fatal(err)
		}
		o.Catalog = cat
	}
	keys := o.Keys
	if keys == nil {
		keys = Keyring(t)
	}
	if o.Plain {
		keys = nil
	}
	c := ClientWith(t, e, keys)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger := o.Logger
	if logger == nil {
		logger = Logger(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Firebreak{URL: "http://" + ln.Addr().String(), Client: c, stop: cancel, done: make(chan error, 1)}
	ready := make(chan struct{})
	go func() {
		f.done <- app.Run(ctx, app.Options{
			Role: o.Role, Client: c, Namespace: e.Namespace(), Catalog: o.Catalog, Experiments: o.Experiments, Config: o.Config,
			Listener: ln, Logger: logger, UIURL: e.UIAddress(),
			Codec: keys, CodecOrigins: []string{e.UIAddress()},
			// Like `firebreak dev` on loopback: open when no token or
			// principal is configured.
			Open:  o.Config.APIToken == "" && len(o.Config.Principals) == 0,
			Ready: func(string) { close(ready) },
		})
	}()
	select {
	case <-ready:
	case err := <-f.done:
		t.Fatalf("firebreak did not start: %v", err)
	}
	t.Cleanup(f.Stop)
	return f
}

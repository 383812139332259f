// Package engine runs an embedded Temporal server for `firebreak dev` and tests.
//
// The server keeps its state in a single SQLite file, so workflows survive
// restarts of the process, and optionally serves the Temporal Web UI.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/temporal"
)

// Config configures an embedded engine.
type Config struct {
	DataDir          string                              // directory of DataDir/temporal.db and DataDir/visibility.db (created 0o750 if missing)
	Host             string                              // bind/broadcast IP, default "127.0.0.1"
	Port             int                                 // frontend gRPC port; 0 = pick a free port
	UIPort           int                                 // Temporal Web UI port; 0 = UI disabled; -1 = pick a free port (for tests)
	Namespace        string                              // default "default"
	SearchAttributes map[string]enumspb.IndexedValueType // custom search attributes to register
	Logger           *slog.Logger                        // where server logs go; nil = discard
	// LogLevel is the minimum level forwarded from the Temporal server. Its
	// zero value (which equals slog.LevelInfo) means the default,
	// slog.LevelWarn, because the server is chatty; to forward Info records
	// pass any level below Info, e.g. slog.LevelInfo-1 or slog.LevelDebug.
	LogLevel slog.Level
	// TemporalDefaults keeps SQLite at the settings Temporal's own dev
	// server uses (no WAL, synchronous=FULL), for benchmarks that compare.
	// Use a fresh DataDir: WAL mode, once set, stays in the file.
	TemporalDefaults bool
	// CodecEndpoint is the codec endpoint the Web UI decodes encrypted
	// payloads with (Firebreak's /v1/codec); empty: none.
	CodecEndpoint string
}

// Engine is a running embedded Temporal server.
type Engine struct {
	server    temporal.Server
	ui        *uiserver.Server
	uiDone    chan struct{}
	frontend  string
	namespace string
	uiAddress string
	logger    *slog.Logger
	srvLogger *serverLogger

	stopOnce sync.Once
	stopErr  error
}

const (
	// dbFileName is the SQLite file inside Config.DataDir that holds
	// workflow state and histories.
	dbFileName = "temporal.db"
	// visibilityFileName is the SQLite file inside Config.DataDir that
	// holds the visibility records (what list queries read).
	visibilityFileName = "visibility.db"
	// startTimeout bounds how long Start waits for the server to answer.
	startTimeout = 60 * time.Second
	// uiStopTimeout bounds how long Stop waits for the UI server to exit.
	uiStopTimeout = 5 * time.Second
)

// Start starts an embedded Temporal server as described by cfg and returns
// once its frontend answers requests for the namespace. It gives up after
// 60 seconds or when ctx is done, whichever comes first.
func Start(ctx context.Context, cfg Config) (*Engine, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	connectHost := cfg.Host
	if ip := net.ParseIP(cfg.Host); ip.IsUnspecified() {
		// Bound to all interfaces: talk to it (and advertise it) via loopback.
		connectHost = "127.0.0.1"
	}

	ports, err := allocatePorts(cfg, connectHost)
	if err != nil {
		return nil, err
	}
	frontend := net.JoinHostPort(connectHost, strconv.Itoa(ports.frontend))

	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("resolving data directory: %w", err)
	}
	sqlCfg := sqliteConfig(filepath.Join(dataDir, dbFileName), cfg.TemporalDefaults)
	visCfg := sqlCfg
	if !cfg.TemporalDefaults && splitVisibility(dataDir) {
		visCfg = sqliteConfig(filepath.Join(dataDir, visibilityFileName), false)
	}
	if err := prepareDatabase(sqlCfg, cfg.Namespace, cfg.SearchAttributes); err != nil {
		return nil, err
	}
	if visCfg != sqlCfg {
		if err := ensureSchema(visCfg); err != nil {
			return nil, err
		}
	}

	srvLogger := newServerLogger(cfg.Logger, cfg.LogLevel)
	srvCfg := serverConfig(cfg, connectHost, ports, sqlCfg, visCfg)
	srv, err := newServer(srvCfg, srvLogger)
	if err != nil {
		return nil, err
	}
	if err := startServer(ctx, srv); err != nil {
		return nil, err
	}

	e := &Engine{
		server:    srv,
		frontend:  frontend,
		namespace: cfg.Namespace,
		logger:    cfg.Logger,
		srvLogger: srvLogger,
	}
	clientLogger := slog.New(minLevelHandler{min: cfg.LogLevel, h: cfg.Logger.Handler()})
	if err := waitReady(ctx, frontend, cfg.Namespace, cfg.SearchAttributes, clientLogger); err != nil {
		_ = e.Stop()
		return nil, err
	}

	if ports.ui != 0 {
		if err := e.startUI(ctx, cfg.Host, connectHost, ports.ui, cfg.CodecEndpoint); err != nil {
			_ = e.Stop()
			return nil, err
		}
	}
	return e, nil
}

// splitVisibility reports whether visibility records go to their own file,
// visibility.db, rather than into temporal.db.
//
// With one SQLite file, the server's single connection to it carries both
// the history shard's writes and the visibility upserts, and the upserts
// (an INSERT OR REPLACE over a table with generated columns, prepared anew
// each time) took about 40% of that connection's time under load: new
// workflow starts queued behind them. Two files give visibility its own
// connection and lock. A data directory created before the split keeps its
// visibility in temporal.db, where its list history lives.
func splitVisibility(dataDir string) bool {
	if _, err := os.Stat(filepath.Join(dataDir, visibilityFileName)); err == nil {
		return true
	}
	_, err := os.Stat(filepath.Join(dataDir, dbFileName))
	return errors.Is(err, fs.ErrNotExist)
}

// FrontendAddress returns the host:port of the frontend gRPC service, e.g.
// "127.0.0.1:7233".
func (e *Engine) FrontendAddress() string { return e.frontend }

// Namespace returns the namespace the engine created and checked on start.
func (e *Engine) Namespace() string { return e.namespace }

// UIAddress returns the base URL of the Web UI, e.g.
// "http://127.0.0.1:8233", or "" when the UI is disabled.
func (e *Engine) UIAddress() string { return e.uiAddress }

// Stop stops the Web UI and then the Temporal server. Calling it again
// returns the result of the first call.
func (e *Engine) Stop() error {
	e.stopOnce.Do(func() {
		if e.srvLogger != nil {
			e.srvLogger.stopping.Store(true)
		}
		if e.ui != nil {
			e.ui.Stop()
			select {
			case <-e.uiDone:
			case <-time.After(uiStopTimeout):
				e.logger.Warn("temporal UI server did not stop in time")
			}
		}
		e.stopErr = e.server.Stop()
	})
	return e.stopErr
}

// normalize validates cfg and fills in defaults.
func (cfg Config) normalize() (Config, error) {
	if cfg.DataDir == "" {
		return cfg, errors.New("engine: DataDir is required")
	}
	switch cfg.Host {
	case "":
		cfg.Host = "127.0.0.1"
	case "localhost":
		// The server needs an IP for binding and broadcasting.
		cfg.Host = "127.0.0.1"
	}
	if net.ParseIP(cfg.Host) == nil {
		return cfg, fmt.Errorf("engine: Host %q is not an IP address", cfg.Host)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return cfg, fmt.Errorf("engine: invalid temporal port %d", cfg.Port)
	}
	if cfg.UIPort < -1 || cfg.UIPort > 65535 {
		return cfg, fmt.Errorf("engine: invalid temporal UI port %d", cfg.UIPort)
	}
	if cfg.Namespace == "" {
		cfg.Namespace = "default"
	}
	if err := validateSearchAttributes(cfg.SearchAttributes); err != nil {
		return cfg, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LogLevel == 0 {
		cfg.LogLevel = slog.LevelWarn
	}
	return cfg, nil
}

// newServer builds (but does not start) the Temporal server. Construction
// runs the server's dependency injection, so a panic in there is turned into
// an error instead of taking the process down.
func newServer(cfg *config.Config, logger *serverLogger) (srv temporal.Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("creating temporal server: panic: %v", r)
		}
	}()
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("creating temporal authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("creating temporal claim mapper: %w", err)
	}
	srv, err = temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("creating temporal server: %w", err)
	}
	return srv, nil
}

// startServer runs srv.Start, which does not take a context, while honoring
// ctx. If ctx ends first, the server is stopped once Start returns.
func startServer(ctx context.Context, srv temporal.Server) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("panic: %v", r)
			}
		}()
		done <- srv.Start()
	}()
	select {
	case err := <-done:
		if err != nil {
			// A failed fx start has already rolled back what it started.
			return fmt.Errorf("starting temporal server: %w", err)
		}
		return nil
	case <-ctx.Done():
		go func() {
			if err := <-done; err == nil {
				_ = srv.Stop()
			}
		}()
		return fmt.Errorf("starting temporal server: %w", context.Cause(ctx))
	}
}

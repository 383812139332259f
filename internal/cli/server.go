package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/codec"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/engine"
	"github.com/firebreak-ops/firebreak/internal/ingress/codecserver"
	"github.com/firebreak-ops/firebreak/runbooks"
)

type serverFlags struct {
	configPath string
	listen     string
	runbooks   []string
	exps       []string
	logLevel   string
	insecure   bool
	// plain turns payload encryption off (--no-payload-encryption).
	plain bool
}

// open decides whether the API runs without authentication: only when no
// token or principal is configured, and then only on loopback under dev
// (loopback is true) or with --insecure-no-auth. Anything else without
// authentication is refused, naming the settings.
func (f *serverFlags) open(cfg *config.Config, loopbackOK bool, logger *slog.Logger) (bool, error) {
	if cfg.APIToken != "" || len(cfg.Principals) > 0 {
		if f.insecure {
			logger.Warn("--insecure-no-auth is ignored: authentication is configured")
		}
		return false, nil
	}
	if f.insecure {
		logger.Warn("authentication is OFF (--insecure-no-auth): anyone who reaches the API may run runbooks, approve, halt and resume", "listen", f.listen)
		return true, nil
	}
	if loopbackOK && isLoopback(f.listen) {
		return true, nil
	}
	return false, app.CheckAuth(cfg, false)
}

// isLoopback reports whether a listen address binds loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (f *serverFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.configPath, "config", "", "firebreak.yaml (FIREBREAK_* environment variables override it)")
	cmd.Flags().StringVar(&f.listen, "listen", "127.0.0.1:8080", "HTTP API address; with serve --role worker, where /healthz and /readyz are served (only when given)")
	cmd.Flags().StringArrayVar(&f.runbooks, "runbooks", nil, "extra runbook directory or file (repeatable), added to the built-in catalog")
	cmd.Flags().StringArrayVar(&f.exps, "experiments", nil, "extra chaos experiment or game day directory or file (repeatable), added to the built-in catalog")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().BoolVar(&f.insecure, "insecure-no-auth", false, "serve the API without authentication (never in production; logs a warning and says so on /readyz)")
	cmd.Flags().BoolVar(&f.plain, "no-payload-encryption", false, "store workflow inputs, results and memos in Temporal in clear (default: encrypted with encryption.keyFile)")
}

// secure resolves the configuration's secret references and loads the
// payload keys (devDir: where dev keeps its own). It returns the keyring
// (nil: encryption off) and the client options' codec.
func (f *serverFlags) secure(ctx context.Context, cfg *config.Config, devDir string, logger *slog.Logger) (*codec.Keyring, error) {
	store := app.SecretStore(cfg)
	if err := cfg.ResolveSecrets(ctx, store); err != nil {
		return nil, err
	}
	if f.plain {
		cfg.Encryption.Disabled = true
	}
	keys, created, err := app.PayloadKeys(ctx, cfg, store, devDir)
	if err != nil {
		return nil, err
	}
	switch {
	case keys == nil:
		logger.Warn("payload encryption is OFF: workflow inputs, results and memos are stored in Temporal in clear")
	case created:
		logger.Info("created a payload key file; back it up, histories cannot be read without it", "file", filepath.Join(devDir, app.DevKeyFile), "key", keys.Active())
	default:
		logger.Debug("payloads encrypted", "activeKey", keys.Active(), "keys", len(keys.IDs()))
	}
	return keys, nil
}

// browserURL is how a browser on this machine reaches an API listening
// on addr.
func browserURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// uiOrigins are the origins the embedded Web UI's pages have.
func uiOrigins(uiURL string) []string {
	if uiURL == "" {
		return nil
	}
	out := []string{uiURL}
	if u, err := url.Parse(uiURL); err == nil && u.Hostname() == "127.0.0.1" {
		out = append(out, "http://"+net.JoinHostPort("localhost", u.Port()))
	}
	return out
}

// loadCatalog returns the built-in catalog plus extra paths; any invalid
// runbook stops start-up with every error listed.
func loadCatalog(extra []string) (*runbooks.Catalog, error) {
	cat, err := runbooks.Builtin()
	if err != nil {
		return nil, fmt.Errorf("built-in catalog is invalid:\n%w", err)
	}
	for _, p := range extra {
		if err := cat.LoadPath(p); err != nil {
			return nil, fmt.Errorf("invalid runbooks, not starting:\n%w", err)
		}
	}
	return cat, nil
}

// loadExperiments returns the built-in chaos catalog plus extra paths.
func loadExperiments(extra []string) (*experiments.Catalog, error) {
	cat, err := experiments.Builtin()
	if err != nil {
		return nil, fmt.Errorf("built-in experiments are invalid:\n%w", err)
	}
	for _, p := range extra {
		if err := cat.LoadPath(p); err != nil {
			return nil, fmt.Errorf("invalid experiments, not starting:\n%w", err)
		}
	}
	if err := cat.Check(); err != nil {
		return nil, fmt.Errorf("invalid game days, not starting:\n%w", err)
	}
	return cat, nil
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func sdkLogger(l *slog.Logger) sdklog.Logger {
	return sdklog.NewStructuredLogger(l.With("component", "temporal-sdk"))
}

func newDevCmd(g *globals) *cobra.Command {
	var f serverFlags
	var dataDir string
	var temporalPort, uiPort int
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything on this machine: embedded Temporal (SQLite), Web UI, worker and API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			began := time.Now()
			logger, err := newLogger(g.errOut, f.logLevel)
			if err != nil {
				return err
			}
			cfg, err := config.Load(f.configPath, nil)
			if err != nil {
				return err
			}
			open, err := f.open(cfg, true, logger)
			if err != nil {
				return fmt.Errorf("dev listens on %s, beyond loopback: %w", f.listen, err)
			}
			cat, err := loadCatalog(append(cfg.Runbooks, f.runbooks...))
			if err != nil {
				return err
			}
			exps, err := loadExperiments(append(cfg.Experiments, f.exps...))
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			if err := os.MkdirAll(dataDir, 0o750); err != nil {
				return err
			}
			keys, err := f.secure(ctx, cfg, dataDir, logger)
			if err != nil {
				return err
			}
			codecEndpoint := ""
			if keys != nil {
				codecEndpoint = browserURL(f.listen) + codecserver.Path
			}
			eng, err := engine.Start(ctx, engine.Config{
				DataDir:          dataDir,
				Port:             temporalPort,
				UIPort:           uiPort,
				Namespace:        "default",
				SearchAttributes: app.SearchAttributes(),
				Logger:           logger.With("component", "temporal"),
				CodecEndpoint:    codecEndpoint,
			})
			if err != nil {
				return err
			}
			defer func() {
				if err := eng.Stop(); err != nil {
					logger.Warn("stopping Temporal", "err", err)
				}
			}()
			copts := client.Options{HostPort: eng.FrontendAddress(), Namespace: eng.Namespace(), Logger: sdkLogger(logger)}
			if err := codec.Apply(&copts, keys); err != nil {
				return err
			}
			c, err := client.Dial(copts)
			if err != nil {
				return fmt.Errorf("connecting to the embedded Temporal: %w", err)
			}
			defer c.Close()
			if cfg.ConsoleURL == "" {
				// Slack messages link the console where this browser finds it.
				cfg.ConsoleURL = browserURL(f.listen)
			}
			err = app.Run(ctx, app.Options{
				Role: app.RoleAll, Client: c, Namespace: eng.Namespace(), Catalog: cat, Experiments: exps, Config: cfg,
				Listen: f.listen, Logger: logger, UIURL: eng.UIAddress(), DataDir: dataDir, Open: open,
				Codec: keys, CodecOrigins: uiOrigins(eng.UIAddress()),
				Ready: func(addr string) {
					logger.Info("firebreak dev is ready",
						"api", "http://"+addr, "console", cfg.ConsoleURL, "temporal", eng.FrontendAddress(), "ui", eng.UIAddress(),
						"dataDir", dataDir, "runbooks", cat.Len(), "experiments", exps.Len(), "startup", time.Since(began).Round(time.Millisecond).String())
				},
			})
			logger.Info("shutting down")
			return err
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&dataDir, "data-dir", ".firebreak", "where the SQLite database and other state live")
	cmd.Flags().IntVar(&temporalPort, "temporal-port", 7233, "Temporal frontend gRPC port")
	cmd.Flags().IntVar(&uiPort, "ui-port", 8233, "Temporal Web UI port (0 disables the UI)")
	return cmd
}

func newServeCmd(g *globals) *cobra.Command {
	var f serverFlags
	var role string
	var t config.Temporal
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the worker and/or API against an external Temporal cluster",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(g.errOut, f.logLevel)
			if err != nil {
				return err
			}
			cfg, err := config.Load(f.configPath, nil)
			if err != nil {
				return err
			}
			// Flags given on the command line win over file and environment.
			fl := cmd.Flags()
			if fl.Changed("temporal-address") {
				cfg.Temporal.Address = t.Address
			}
			if fl.Changed("namespace") {
				cfg.Temporal.Namespace = t.Namespace
			}
			if fl.Changed("api-key") {
				cfg.Temporal.APIKey = t.APIKey
			}
			for name, dst := range map[string]*string{"tls-ca": &cfg.Temporal.TLS.CAFile, "tls-cert": &cfg.Temporal.TLS.CertFile,
				"tls-key": &cfg.Temporal.TLS.KeyFile, "tls-server-name": &cfg.Temporal.TLS.ServerName} {
				if fl.Changed(name) {
					v, _ := fl.GetString(name)
					*dst = v
				}
			}
			if fl.Changed("tls") {
				cfg.Temporal.TLS.Enabled = t.TLS.Enabled
			}
			if cfg.Temporal.Address == "" {
				cfg.Temporal.Address = "127.0.0.1:7233"
			}
			if cfg.Temporal.Namespace == "" {
				cfg.Temporal.Namespace = "default"
			}
			open := false
			if role != app.RoleWorker {
				if open, err = f.open(cfg, false, logger); err != nil {
					return fmt.Errorf("serve: %w", err)
				}
			}
			cat, err := loadCatalog(append(cfg.Runbooks, f.runbooks...))
			if err != nil {
				return err
			}
			exps, err := loadExperiments(append(cfg.Experiments, f.exps...))
			if err != nil {
				return err
			}
			opts, err := clientOptions(cfg.Temporal)
			if err != nil {
				return err
			}
			opts.Logger = sdkLogger(logger)
			ctx, stop := signalContext()
			defer stop()
			keys, err := f.secure(ctx, cfg, "", logger)
			if err != nil {
				return fmt.Errorf("serve: %w", err)
			}
			if err := codec.Apply(&opts, keys); err != nil {
				return err
			}
			c, err := client.DialContext(ctx, opts)
			if err != nil {
				return fmt.Errorf("connecting to Temporal at %s: %w", cfg.Temporal.Address, err)
			}
			defer c.Close()
			if err := app.EnsureSearchAttributes(ctx, c, cfg.Temporal.Namespace); err != nil {
				return err
			}
			listen := f.listen
			if role == app.RoleWorker && !fl.Changed("listen") {
				// A worker serves its probes only where it is told to, so
				// it never takes the API's default port on the same host.
				listen = ""
			}
			return app.Run(ctx, app.Options{
				Role: role, Client: c, Namespace: cfg.Temporal.Namespace, Catalog: cat, Experiments: exps, Config: cfg,
				Listen: listen, Logger: logger, Open: open,
				Codec: keys, CodecOrigins: cfg.Encryption.UIOrigins,
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&role, "role", app.RoleAll, "api, worker or all")
	cmd.Flags().StringVar(&t.Address, "temporal-address", "", "Temporal frontend host:port (default 127.0.0.1:7233; $FIREBREAK_TEMPORAL_ADDRESS)")
	cmd.Flags().StringVar(&t.Namespace, "namespace", "", "Temporal namespace (default \"default\"; $FIREBREAK_TEMPORAL_NAMESPACE)")
	cmd.Flags().StringVar(&t.APIKey, "api-key", "", "Temporal API key (prefer $FIREBREAK_TEMPORAL_API_KEY: flags show in ps)")
	cmd.Flags().BoolVar(&t.TLS.Enabled, "tls", false, "connect with TLS")
	cmd.Flags().String("tls-ca", "", "CA certificate file to verify the server")
	cmd.Flags().String("tls-cert", "", "client certificate file (mTLS)")
	cmd.Flags().String("tls-key", "", "client key file (mTLS)")
	cmd.Flags().String("tls-server-name", "", "server name to verify")
	return cmd
}

// clientOptions builds Temporal client options from the config.
func clientOptions(t config.Temporal) (client.Options, error) {
	opts := client.Options{HostPort: t.Address, Namespace: t.Namespace}
	useTLS := t.TLS.Enabled || t.TLS.CAFile != "" || t.TLS.CertFile != "" || t.APIKey != ""
	if useTLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.TLS.ServerName}
		if t.TLS.CAFile != "" {
			pem, err := os.ReadFile(t.TLS.CAFile)
			if err != nil {
				return opts, fmt.Errorf("temporal.tls.caFile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return opts, fmt.Errorf("temporal.tls.caFile %s: no PEM certificates", t.TLS.CAFile)
			}
			tc.RootCAs = pool
		}
		if (t.TLS.CertFile == "") != (t.TLS.KeyFile == "") {
			return opts, fmt.Errorf("temporal.tls.certFile and keyFile go together")
		}
		if t.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(t.TLS.CertFile, t.TLS.KeyFile)
			if err != nil {
				return opts, fmt.Errorf("temporal.tls client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts.ConnectionOptions.TLS = tc
	}
	if t.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	return opts, nil
}

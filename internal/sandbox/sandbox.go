// Package sandbox runs a local playground for Firebreak on this machine,
// built from the test harness (internal/testenv): a real Kubernetes control
// plane with kwok nodes, Chaos Mesh's real controller, Prometheus with
// rules for the catalog's alerts, Alertmanager delivering to Firebreak, and
// the workloads the shipped catalog targets, with metrics Prometheus
// scrapes for them. `make sandbox` runs it until Ctrl-C.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/firebreak-ops/firebreak/internal/testenv"
)

// Workload is a Deployment the sandbox runs, with the metrics it exports
// for it.
type Workload struct {
	Namespace, Name string
	Replicas        int32
}

// Workloads are what the shipped runbooks and experiments target.
var Workloads = []Workload{
	{"prod", "checkout", 3},
	{"prod", "cart", 3},
	{"staging", "checkout", 2},
}

// Options configure Start.
type Options struct {
	// FirebreakURL is where Alertmanager delivers: Firebreak's API
	// (default http://127.0.0.1:8080, `firebreak dev`'s).
	FirebreakURL string
	// ConfigDir receives firebreak.yaml, a config pointing Firebreak at
	// the sandbox, and the kubeconfig; Stop removes it. Default: a
	// temporary directory.
	ConfigDir string
	// Log receives progress lines; nil discards them.
	Log func(format string, args ...any)
}

// Sandbox is a running playground. Stop stops it and removes everything
// it wrote.
type Sandbox struct {
	Kube      *testenv.KubeEnv
	ChaosMesh *testenv.ChaosMesh
	// Kubeconfig is a copy of the cluster's kubeconfig in ConfigDir.
	Kubeconfig      string
	PrometheusURL   string
	AlertmanagerURL string
	// ControlURL is the sandbox's own endpoint: its metrics and the
	// switches that break workloads (see Metrics).
	ControlURL string
	// Config is a firebreak.yaml pointing Firebreak at the sandbox.
	Config string
	// AlertToken is the bearer token Alertmanager sends to Firebreak;
	// Config sets it as alertmanager.token.
	AlertToken string

	dir, configDir string
	createdDir     string // the outermost directory of configDir Start made
	metrics        *Metrics
	srv            *http.Server
	services       []*testenv.Service
}

// Start brings the sandbox up and returns once everything is ready. On
// error nothing is left running.
func Start(ctx context.Context, opts Options) (s *Sandbox, err error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if opts.FirebreakURL == "" {
		opts.FirebreakURL = "http://127.0.0.1:8080"
	}
	s = &Sandbox{}
	defer func() {
		if err != nil {
			s.Stop()
			s = nil
		}
	}()
	if s.dir, err = os.MkdirTemp("", "firebreak-sandbox-"); err != nil {
		return s, err
	}
	s.configDir = opts.ConfigDir
	if s.configDir == "" {
		s.configDir = filepath.Join(s.dir, "config")
	}
	// Absolute: the paths it prints and writes are used from anywhere.
	if s.configDir, err = filepath.Abs(s.configDir); err != nil {
		return s, err
	}
	// Stop removes the outermost directory Start created, no more.
	for d := s.configDir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) || d == filepath.Dir(d) {
			break
		}
		s.createdDir = d
	}
	if err = os.MkdirAll(s.configDir, 0o700); err != nil {
		return s, err
	}

	began := time.Now()
	logf("starting etcd, kube-apiserver, kube-controller-manager and kwok")
	if s.Kube, err = testenv.StartKube(); err != nil {
		return s, err
	}
	logf("starting Chaos Mesh's controller-manager (and its CRDs)")
	if s.ChaosMesh, err = testenv.StartChaosMesh(s.Kube); err != nil {
		return s, err
	}
	logf("creating the catalog's workloads")
	for _, w := range Workloads {
		if _, err = s.Kube.CreateDeployment(ctx, w.Namespace, w.Name, w.Replicas); err != nil {
			return s, err
		}
	}

	s.metrics = NewMetrics(s.Kube.Clientset, Workloads)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return s, err
	}
	s.ControlURL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.metrics.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	s.metrics.Start()

	tok := make([]byte, 16)
	if _, err = rand.Read(tok); err != nil {
		return s, err
	}
	s.AlertToken = hex.EncodeToString(tok)
	logf("starting Alertmanager (receiver: %s/v1/alerts/alertmanager)", strings.TrimRight(opts.FirebreakURL, "/"))
	amDir := filepath.Join(s.dir, "alertmanager")
	if err = os.MkdirAll(amDir, 0o700); err != nil {
		return s, err
	}
	am, err := testenv.RunAlertmanager(amDir, strings.TrimRight(opts.FirebreakURL, "/")+"/v1/alerts/alertmanager", s.AlertToken, 2*time.Second)
	if err != nil {
		return s, err
	}
	s.services = append(s.services, am)
	s.AlertmanagerURL = am.URL

	logf("starting Prometheus (rules for the catalog's alerts)")
	promDir := filepath.Join(s.dir, "prometheus")
	if err = os.MkdirAll(promDir, 0o700); err != nil {
		return s, err
	}
	prom, err := testenv.RunPrometheus(testenv.PrometheusConfig{
		Dir:          promDir,
		Targets:      []string{strings.TrimPrefix(s.ControlURL, "http://")},
		Rules:        Rules,
		Alertmanager: strings.TrimPrefix(am.URL, "http://"),
	})
	if err != nil {
		return s, err
	}
	s.services = append(s.services, prom)
	s.PrometheusURL = prom.URL

	s.Kubeconfig = filepath.Join(s.configDir, "kubeconfig")
	kc, err := os.ReadFile(s.Kube.Kubeconfig)
	if err != nil {
		return s, err
	}
	if err = os.WriteFile(s.Kubeconfig, kc, 0o600); err != nil {
		return s, err
	}
	s.Config = filepath.Join(s.configDir, "firebreak.yaml")
	cfg := fmt.Sprintf(`# Written by the Firebreak sandbox; removed when it stops.
kubernetes:
  kubeconfig: %s
prometheus:
  url: %s
alertmanager:
  token: %s
`, s.Kubeconfig, s.PrometheusURL, s.AlertToken)
	if err = os.WriteFile(s.Config, []byte(cfg), 0o600); err != nil {
		return s, err
	}
	logf("ready in %s", time.Since(began).Round(100*time.Millisecond))
	return s, nil
}

// Metrics returns the sandbox's exporter, whose switches break workloads.
func (s *Sandbox) Metrics() *Metrics { return s.metrics }

// Stop stops every process and removes every file the sandbox wrote. It
// is safe to call more than once and on a partly started sandbox.
func (s *Sandbox) Stop() {
	for i := len(s.services) - 1; i >= 0; i-- {
		s.services[i].Stop()
	}
	s.services = nil
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
	if s.metrics != nil {
		s.metrics.Stop()
	}
	if s.Kube != nil {
		s.Kube.Stop() // stops the Chaos Mesh controller too
	}
	if s.Config != "" {
		_ = os.Remove(s.Config)
	}
	if s.Kubeconfig != "" {
		_ = os.Remove(s.Kubeconfig)
	}
	if s.createdDir != "" {
		_ = os.RemoveAll(s.createdDir)
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

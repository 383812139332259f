package testenv

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// PrometheusBinary is Debian's prometheus, installed by `make test-deps`.
const PrometheusBinary = "/usr/bin/prometheus"

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := kubeFreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Prometheus starts a real Prometheus that scrapes itself and the given
// extra targets every second, and waits until its first scrape landed.
func Prometheus(t testing.TB, targets ...string) string {
	t.Helper()
	p, err := RunPrometheus(PrometheusConfig{Dir: t.TempDir(), Targets: targets})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p.URL
}

// PrometheusConfig is what RunPrometheus runs.
type PrometheusConfig struct {
	// Dir holds the configuration, the data and the log.
	Dir string
	// Targets are host:port scrape targets, besides Prometheus itself.
	Targets []string
	// Rules is a rule file (YAML), or empty.
	Rules string
	// Alertmanager is the host:port alerts go to, or empty.
	Alertmanager string
	// Addr is the listen address; empty picks a free loopback port.
	Addr string
}

// Service is a server the harness runs outside a KubeEnv (Prometheus,
// Alertmanager).
type Service struct {
	URL  string
	Log  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Stop kills the server and waits for it. It is safe to call more than
// once.
func (s *Service) Stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
}

// startService starts bin in its own process group (dying with the
// caller), logging to log.
func startService(bin, log string, args ...string) (*Service, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", filepath.Base(bin), err)
	}
	s := &Service{Log: log, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		f.Close()
		close(s.done)
	}()
	return s, nil
}

// waitHTTP polls url until check accepts its body, the server exits, or
// timeout.
func (s *Service) waitHTTP(what, url string, timeout time.Duration, check func(status int, body string) bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("%s exited; its log:\n%s", what, kubeTail(s.Log, 40))
		default:
		}
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
			if check(resp.StatusCode, string(b)) {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.Stop()
	return fmt.Errorf("%s at %s not ready within %s; its log:\n%s", what, s.URL, timeout, kubeTail(s.Log, 40))
}

// RunPrometheus starts a real Prometheus scraping itself and cfg.Targets
// every second (evaluating rules every second too) and waits until its
// first scrape landed. The caller must Stop it.
func RunPrometheus(cfg PrometheusConfig) (*Service, error) {
	bin := PrometheusBinary
	if p := os.Getenv("FIREBREAK_PROMETHEUS_BIN"); p != "" {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s not found: run `make test-deps` (installs Debian's prometheus)", bin)
	}
	addr := cfg.Addr
	if addr == "" {
		port, err := kubeFreePort()
		if err != nil {
			return nil, err
		}
		addr = fmt.Sprintf("127.0.0.1:%d", port)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: [%q]
`, addr)
	for i, tg := range cfg.Targets {
		conf += fmt.Sprintf("  - job_name: target%d\n    static_configs:\n      - targets: [%q]\n", i, tg)
	}
	if cfg.Rules != "" {
		rules := filepath.Join(cfg.Dir, "rules.yml")
		if err := os.WriteFile(rules, []byte(cfg.Rules), 0o600); err != nil {
			return nil, err
		}
		conf += fmt.Sprintf("rule_files: [%q]\n", rules)
	}
	if cfg.Alertmanager != "" {
		conf += fmt.Sprintf("alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [%q]\n", cfg.Alertmanager)
	}
	cfgPath := filepath.Join(cfg.Dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	s, err := startService(bin, filepath.Join(cfg.Dir, "prometheus.log"),
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(cfg.Dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + addr
	if err := s.waitHTTP("prometheus", s.URL+`/api/v1/query?query=up{job="prometheus"}`, 30*time.Second, func(status int, body string) bool {
		return status == 200 && containsValue(body)
	}); err != nil {
		return nil, err
	}
	return s, nil
}

func containsValue(body string) bool {
	return strings.Contains(body, `"value":[`)
}

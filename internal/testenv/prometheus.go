package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// PrometheusBinary is Debian's prometheus, installed by `make test-deps`.
const PrometheusBinary = "/usr/bin/prometheus"

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Prometheus starts a real Prometheus that scrapes itself and the given
// extra targets every second, and waits until its first scrape landed.
func Prometheus(t testing.TB, targets ...string) string {
	t.Helper()
	bin := PrometheusBinary
	if p := os.Getenv("FIREBREAK_PROMETHEUS_BIN"); p != "" {
		bin = p
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s not found: run `make test-deps` (installs Debian's prometheus)", bin)
	}
	dir := t.TempDir()
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: [%q]
`, addr)
	for i, tg := range targets {
		cfg += fmt.Sprintf("  - job_name: target%d\n    static_configs:\n      - targets: [%q]\n", i, tg)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	logFile, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + `/api/v1/query?query=up{job="prometheus"}`)
		if err == nil {
			body := make([]byte, 4096)
			n, _ := resp.Body.Read(body)
			resp.Body.Close()
			if resp.StatusCode == 200 && containsValue(string(body[:n])) {
				return url
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
	t.Fatalf("prometheus at %s never scraped itself; its log:\n%s", url, log)
	return ""
}

func containsValue(body string) bool {
	return strings.Contains(body, `"value":[`)
}

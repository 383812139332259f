package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// AlertmanagerBinary is Debian's prometheus-alertmanager.
const AlertmanagerBinary = "/usr/bin/prometheus-alertmanager"

// Alertmanager is a running Alertmanager whose only receiver is a webhook.
type Alertmanager struct {
	URL string
	t   testing.TB
}

// StartAlertmanager runs a real Alertmanager that groups by alertname and
// target and delivers to webhookURL with the bearer token, flushing groups
// after groupWait.
func StartAlertmanager(t testing.TB, webhookURL, token string, groupWait time.Duration) *Alertmanager {
	t.Helper()
	bin := AlertmanagerBinary
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s not found: run `make test-deps` (installs Debian's prometheus-alertmanager)", bin)
	}
	dir := t.TempDir()
	port, cluster := FreePort(t), FreePort(t)
	cfg := fmt.Sprintf(`route:
  receiver: firebreak
  group_by: [alertname, namespace, deployment, node]
  group_wait: %s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: firebreak
    webhook_configs:
      - url: %q
        send_resolved: true
        max_alerts: 0
        http_config:
          authorization:
            type: Bearer
            credentials: %q
`, groupWait, webhookURL, token)
	cfgPath := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		fmt.Sprintf("--cluster.listen-address=127.0.0.1:%d", cluster),
		"--cluster.advertise-address="+fmt.Sprintf("127.0.0.1:%d", cluster),
		"--log.level=warn",
	)
	logPath := filepath.Join(dir, "alertmanager.log")
	logFile, _ := os.Create(logPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting alertmanager: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("alertmanager log:\n%s", b)
		}
	})
	am := &Alertmanager{URL: "http://" + addr, t: t}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(am.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return am
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("alertmanager at %s never became ready", am.URL)
	return nil
}

// PostAlert is an alert as Alertmanager's API v2 takes it.
type PostAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt,omitempty"`
	EndsAt      time.Time         `json:"endsAt,omitempty"`
}

// Post sends alerts to Alertmanager's API, as Prometheus would.
func (a *Alertmanager) Post(alerts ...PostAlert) {
	a.t.Helper()
	b, _ := json.Marshal(alerts)
	resp, err := http.Post(a.URL+"/api/v2/alerts", "application/json", bytes.NewReader(b))
	if err != nil {
		a.t.Fatalf("posting alerts: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		a.t.Fatalf("posting alerts: HTTP %d", resp.StatusCode)
	}
}

package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
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
	s, err := RunAlertmanager(t.TempDir(), webhookURL, token, groupWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		if t.Failed() {
			b, _ := os.ReadFile(s.Log)
			t.Logf("alertmanager log:\n%s", b)
		}
	})
	return &Alertmanager{URL: s.URL, t: t}
}

// RunAlertmanager is StartAlertmanager outside a test, its files in dir.
// The caller must Stop it.
func RunAlertmanager(dir, webhookURL, token string, groupWait time.Duration) (*Service, error) {
	bin := AlertmanagerBinary
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s not found: run `make test-deps` (installs Debian's prometheus-alertmanager)", bin)
	}
	ports, err := kubeFreePorts(2)
	if err != nil {
		return nil, err
	}
	port, cluster := ports[0], ports[1]
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
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s, err := startService(bin, filepath.Join(dir, "alertmanager.log"),
		"--config.file="+cfgPath,
		"--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		fmt.Sprintf("--cluster.listen-address=127.0.0.1:%d", cluster),
		"--cluster.advertise-address="+fmt.Sprintf("127.0.0.1:%d", cluster),
		"--log.level=warn",
	)
	if err != nil {
		return nil, err
	}
	s.URL = "http://" + addr
	if err := s.waitHTTP("alertmanager", s.URL+"/-/ready", 20*time.Second, func(status int, _ string) bool { return status == 200 }); err != nil {
		return nil, err
	}
	return s, nil
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

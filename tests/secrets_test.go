package tests

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const secretRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: calls-api}
spec:
  params:
    - {name: target, type: string, required: true}
  steps:
    - name: call
      action: http.request
      with:
        url: "${{ params.target }}"
        headers: {Authorization: "Bearer downstream-s3cret-token", X-Api-Key: "downstream-api-key"}
    - name: fail
      action: http.request
      with: {url: "http://admin:url-password@127.0.0.1:1/"}
      retry: {attempts: 1}
`

// lockedBuffer collects logs written from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSecretsStayOut runs requests with every configured secret and a
// runbook that sends credentials, then looks for the secrets in the logs
// and in every API answer.
func TestSecretsStayOut(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok") }))
	defer target.Close()
	cfg := &config.Config{
		APIToken:     "api-s3cret-token",
		Principals:   []config.Principal{{Token: "alice-s3cret-token", Name: "alice"}},
		Slack:        config.Slack{SigningSecret: "slack-signing-s3cret", BotToken: "xoxb-s3cret"},
		PagerDuty:    config.PagerDuty{Token: "pd-s3cret-token", WebhookSecrets: []string{"pd-webhook-s3cret"}, RoutingKey: "pd-routing-s3cret"},
		Alertmanager: config.Alertmanager{Token: "am-s3cret-token"},
	}
	cat := runbooks.NewCatalog()
	p := filepath.Join(t.TempDir(), "calls.yaml")
	os.WriteFile(p, []byte(secretRunbook), 0o600)
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: cfg, Catalog: cat, Logger: logger})
	a := &api{t: t, base: fb.URL, token: "api-s3cret-token"}

	var answers strings.Builder
	record := func(method, path string, body any) {
		var out any
		a.do(method, path, body, &out)
		b, _ := jsonMarshal(out)
		answers.Write(b)
	}
	ref := a.start(runs.StartRequest{Runbook: "calls-api", Params: fmtParams("target", target.URL)})
	a.waitFor(ref.ID, "done", func(s *runwire.RunState) bool { return s.Done() })
	record("GET", runURL(ref.ID), nil)
	record("GET", "/v1/runs", nil)
	record("GET", "/v1/runbooks", nil)
	record("GET", "/v1/automation", nil)
	record("POST", "/v1/alerts/alertmanager", `{"version":"4","alerts":[]}`)
	resp, _ := http.Get(fb.URL + "/metrics")
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	secrets := append(cfg.Secrets(), "downstream-s3cret-token", "downstream-api-key", "url-password")
	for _, s := range secrets {
		for where, text := range map[string]string{"logs": logs.String(), "API answers": answers.String(), "metrics": string(metrics)} {
			if strings.Contains(text, s) {
				t.Errorf("secret %q appears in the %s", s, where)
			}
		}
	}
	if !strings.Contains(answers.String(), "[redacted]") {
		t.Error("the run record shows no redaction at all; did the test run the call?")
	}
}

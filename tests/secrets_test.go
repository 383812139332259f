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
	"time"

	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// secretRunbook sends credentials every way a runbook can: headers, a
// param named like a secret, a query string, a URL password, a list in a
// body; the target answers with a cookie and an echoed Authorization; the
// run posts its Slack message and reports into an incident.
const secretRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: calls-api}
spec:
  notify: {slack: {channel: "#ops"}}
  params:
    - {name: target, type: string, required: true}
    - {name: apiToken, type: string, required: true}
  steps:
    - name: call
      action: http.request
      with:
        url: "${{ params.target }}/v1?api_key=query-s3cret&page=2"
        headers: {Authorization: "Bearer downstream-s3cret-token", X-Api-Key: "downstream-api-key", X-Auth-Token: "${{ params.apiToken }}"}
        body: [{user: ops, password: "${{ params.apiToken }}"}]
    - name: check
      when: steps.call.output.status == 200 && params.apiToken != ""
      action: log
      with: {message: "called with routing_key=log-s3cret"}
    - name: fail
      action: http.request
      with: {url: "http://admin:url-password@127.0.0.1:1/?access_token=url-query-s3cret"}
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
// runbook that sends and receives credentials every way it can, for real
// and as a dry run, linked to an incident that is then resolved, and looks
// for the secrets everywhere a value can surface: run records, Slack
// messages (the run's and the pinned incident summary), the postmortem,
// the audit export, the logs, error answers, /metrics and /readyz.
func TestSecretsStayOut(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "session=resp-cookie-s3cret; HttpOnly")
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok": true, "echo": {"authorization": "`+r.Header.Get("Authorization")+`", "token": "resp-json-s3cret"}}`)
	}))
	defer target.Close()
	fake := slackfake.New(t)
	cfg := &config.Config{
		APIToken:     "api-s3cret-token",
		Principals:   []config.Principal{{Token: "alice-s3cret-token", Name: "alice"}},
		Slack:        config.Slack{SigningSecret: "slack-signing-s3cret", BotToken: "xoxb-s3cret", APIURL: fake.URL()},
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

	surfaces := map[string]*strings.Builder{}
	add := func(where, text string) {
		if surfaces[where] == nil {
			surfaces[where] = &strings.Builder{}
		}
		surfaces[where].WriteString(text + "\n")
	}
	record := func(where, method, path string, body any) {
		var out any
		a.do(method, path, body, &out)
		b, _ := jsonMarshal(out)
		add(where, string(b))
	}

	var inc incidentwire.Incident
	if code := a.do("POST", "/v1/incidents", map[string]any{"title": "calls-api errors", "severity": "sev3"}, &inc); code != http.StatusCreated {
		t.Fatalf("declare: HTTP %d", code)
	}
	if code := a.do("POST", incidentURL(inc.ID)+"/notes", map[string]any{"text": "tried the admin API with password=note-s3cret"}, nil); code != http.StatusOK {
		t.Fatalf("note: HTTP %d", code)
	}
	params := fmtParams("target", target.URL, "apiToken", "param-s3cret")
	ref := a.start(runs.StartRequest{Runbook: "calls-api", Params: params, Incident: inc.ID})
	dry := a.start(runs.StartRequest{Runbook: "calls-api", Params: params, DryRun: true})
	st := a.waitFor(ref.ID, "done", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusFailed || step(st, "check").Status != runwire.StepSucceeded {
		t.Fatalf("run %s, check %+v: the test did not run the calls", st.Status, step(st, "check"))
	}
	a.waitFor(dry.ID, "done", func(s *runwire.RunState) bool { return s.Done() })
	a.waitIncident(inc.ID, "heard the run end", func(i *incidentwire.Incident) bool {
		return hasEntry(i, incidentwire.TimelineRun, ref.ID+" failed")
	})
	record("run records", "GET", runURL(ref.ID), nil)
	record("run records", "GET", runURL(dry.ID), nil)
	record("API answers", "GET", "/v1/runs", nil)
	record("API answers", "GET", "/v1/runbooks", nil)
	record("API answers", "GET", "/v1/automation", nil)
	record("API answers", "POST", "/v1/alerts/alertmanager", `{"version":"4","alerts":[]}`)
	record("API answers", "GET", incidentURL(inc.ID), nil)
	record("error texts", "POST", "/v1/incidents", map[string]any{"title": "x", "severity": "sev3", "links": []map[string]any{{"url": "ftp://u:err-pass-s3cret@x/?api_key=err-s3cret"}}})
	record("error texts", "POST", "/v1/runs", map[string]any{"runbook": "calls-api", "params": map[string]any{"target": "x", "apiToken": "y", "password": "err-param-s3cret"}})
	record("error texts", "POST", incidentURL(inc.ID)+"/links", map[string]any{"url": "https://x/?token=err-link-s3cret|<!channel>"})

	if code := a.do("POST", incidentURL(inc.ID)+"/resolve", map[string]any{"summary": "fixed"}, nil); code != http.StatusOK {
		t.Fatalf("resolve: HTTP %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, md, _ := a.raw("GET", incidentURL(inc.ID)+"/postmortem")
		if code == http.StatusOK {
			add("the postmortem", md)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no postmortem: HTTP %d %s", code, md)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_, audit, _ := a.raw("GET", "/v1/audit?since=1h")
	add("the audit export", audit)
	fake.WaitFor(10*time.Second, "the run's Slack message", func() bool { return len(fake.Calls("chat.postMessage")) >= 2 })
	for _, c := range fake.Calls("") {
		add("Slack messages", c.Text+" "+slackfake.BlocksJSON(c.Blocks))
	}
	for _, path := range []string{"/metrics", "/readyz"} {
		resp, err := http.Get(fb.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		add(path, string(b))
	}
	add("logs", logs.String())

	secrets := append(cfg.Secrets(), "downstream-s3cret-token", "downstream-api-key", "url-password", "param-s3cret", "query-s3cret",
		"url-query-s3cret", "resp-cookie-s3cret", "resp-json-s3cret", "log-s3cret", "err-pass-s3cret", "err-s3cret", "err-param-s3cret", "err-link-s3cret", "note-s3cret")
	for _, s := range secrets {
		for where, text := range surfaces {
			if i := strings.Index(text.String(), s); i >= 0 {
				t.Errorf("secret %q appears in %s: %s", s, where, text.String()[max(0, i-300):i+50])
			}
		}
	}
	for _, where := range []string{"run records", "Slack messages", "the postmortem", "the audit export", "logs", "error texts", "/metrics", "/readyz"} {
		if surfaces[where] == nil || surfaces[where].Len() < 10 {
			t.Errorf("nothing gathered from %s", where)
		}
	}
	if !strings.Contains(surfaces["run records"].String(), "[redacted]") {
		t.Error("the run record shows no redaction at all; did the test run the call?")
	}
}

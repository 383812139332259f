package tests

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/config"
	pdin "github.com/firebreak-ops/firebreak/internal/ingress/pagerduty"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const pdRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: pd-test}
spec:
  params:
    - {name: incident, type: string, required: true}
  concurrency: params.incident
  triggers:
    - pagerduty:
        match: event.data.service.summary == "checkout"
        params: {incident: event.data.id}
  steps:
    - {name: note, action: log, with: {message: "incident ${{ params.incident }}: ${{ event.data.title }}"}}
    - name: until_resolved
      wait: {until: 'event.event_type == "incident.resolved"', every: 1s, timeout: 1m}
`

func sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

func pdEvent(typ, id string) []byte { return pdEventAt(typ, id, time.Now()) }

func pdEventAt(typ, id string, at time.Time) []byte {
	b, _ := json.Marshal(map[string]any{"event": map[string]any{
		"id": "EV" + typ + id, "event_type": typ, "resource_type": "incident", "occurred_at": at.UTC().Format(time.RFC3339Nano),
		"data": map[string]any{"id": id, "type": "incident", "title": "Checkout 5xx", "service": map[string]any{"id": "S1", "summary": "checkout"}},
	}})
	return b
}

func postPD(t *testing.T, url string, body []byte, sig string) (int, string) {
	req, _ := http.NewRequest("POST", url+pdin.Path, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if sig != "" {
		req.Header.Set("X-PagerDuty-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestPagerDutyWebhook(t *testing.T) {
	cat, _ := runbooks.Builtin()
	p := filepath.Join(t.TempDir(), "pd.yaml")
	os.WriteFile(p, []byte(pdRunbook), 0o600)
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: cat,
		Config: &config.Config{PagerDuty: config.PagerDuty{WebhookSecrets: []string{"old-secret", "new-secret"}}}})
	a := &api{t: t, base: fb.URL}

	triggered := pdEvent("incident.triggered", "PINC1")
	for _, tc := range []struct {
		name string
		body []byte
		sig  string
		code int
		want string
	}{
		{"unsigned", triggered, "", 401, "signature"},
		{"wrong secret", triggered, sign(triggered, "guess"), 401, "invalid webhook signature"},
		{"signature of other body", triggered, sign([]byte("x"), "new-secret"), 401, "invalid webhook signature"},
		{"signed but broken JSON", []byte(`{"event": `), sign([]byte(`{"event": `), "new-secret"), 400, "bad JSON body"},
		{"signed but no event", []byte(`{}`), sign([]byte(`{}`), "old-secret"), 400, "needs event.id"},
	} {
		if code, body := postPD(t, fb.URL, tc.body, tc.sig); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %s, want %d %q", tc.name, code, body, tc.code, tc.want)
		}
	}
	var listed []runs.Summary
	a.do("GET", "/v1/runs", nil, &listed)
	if len(listed) != 0 {
		t.Fatalf("rejected webhooks started runs: %+v", listed)
	}

	// Signed with the secret being rotated in.
	if code, body := postPD(t, fb.URL, triggered, sign(triggered, "new-secret")); code != 200 || !strings.Contains(body, `"result": "started"`) {
		t.Fatalf("signed: %d %s", code, body)
	}
	// The same delivery again (PagerDuty's retry, or someone replaying a
	// captured request: the signature is still good) is taken once.
	if code, body := postPD(t, fb.URL, triggered, sign(triggered, "new-secret")); code != 200 || !strings.Contains(body, `"duplicate": true`) {
		t.Fatalf("replayed: %d %s", code, body)
	}
	// An event older than what Firebreak remembers cannot be told from a
	// replay.
	old := pdEventAt("incident.triggered", "PINC9", time.Now().Add(-25*time.Hour))
	if code, body := postPD(t, fb.URL, old, sign(old, "new-secret")); code != 200 || !strings.Contains(body, `"ignored": "stale`) {
		t.Fatalf("stale: %d %s", code, body)
	}
	st := a.waitFor("runbook:pd-test:PINC1", "noted", func(s *runwire.RunState) bool { return step(s, "note").Status == runwire.StepSucceeded })
	if out := step(st, "note").Output.(map[string]any); out["message"] != "incident PINC1: Checkout 5xx" {
		t.Fatalf("note %v", out)
	}
	// The acknowledgement and the resolution reach the open run, which
	// then finishes and records all three.
	for _, typ := range []string{"incident.acknowledged", "incident.resolved"} {
		ev := pdEvent(typ, "PINC1")
		if code, body := postPD(t, fb.URL, ev, sign(ev, "old-secret")); code != 200 || !strings.Contains(body, `"result": "joined"`) {
			t.Fatalf("%s: %d %s", typ, code, body)
		}
	}
	st = a.waitFor("runbook:pd-test:PINC1", "done", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || len(st.Alerts) != 3 || st.Trigger != runwire.TriggerPagerDuty {
		t.Fatalf("run %+v", st)
	}
	// A resolution with no open run starts nothing.
	other := pdEvent("incident.resolved", "PINC2")
	if code, body := postPD(t, fb.URL, other, sign(other, "new-secret")); code != 200 || strings.Contains(body, `"result": "started"`) {
		t.Fatalf("stray resolve: %d %s", code, body)
	}
}

package tests

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/ingress/alertmanager"
	"github.com/firebreak-ops/firebreak/internal/router"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const alertRunbooks = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: restart-test}
spec:
  params:
    - {name: namespace, type: string, required: true}
    - {name: deployment, type: string, required: true}
  concurrency: params.namespace + "/" + params.deployment
  triggers:
    - alertmanager:
        match: alert.labels.alertname == "KubePodCrashLooping"
        params:
          namespace: alert.labels.namespace
          deployment: alert.labels.deployment
  steps:
    - name: act
      action: log
      with: {message: "restart ${{ params.namespace }}/${{ params.deployment }} for ${{ alert.labels.alertname }}"}
    - name: until_resolved
      wait: {until: 'alert.status == "resolved"', every: 1s, timeout: 2m}
---
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: limited-test}
spec:
  params:
    - {name: target, type: string, required: true}
  concurrency: params.target
  limits: {maxRunsPerHour: 1}
  triggers:
    - alertmanager:
        match: alert.labels.alertname == "Limited"
        params: {target: alert.labels.target}
  steps:
    - {name: act, action: log, with: {message: "acting on ${{ params.target }}"}}
---
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: failing-test}
spec:
  params:
    - {name: target, type: string, required: true}
  concurrency: params.target
  triggers:
    - alertmanager:
        match: alert.labels.alertname == "Broken"
        params: {target: alert.labels.target}
  steps:
    - name: call
      action: http.request
      with: {url: "http://127.0.0.1:1/"}
      retry: {attempts: 1}
`

// alertCatalog is hello-world plus the test runbooks above: the shipped
// remediation runbooks would answer the same alerts.
func alertCatalog(t *testing.T) *runbooks.Catalog {
	t.Helper()
	cat := runbooks.NewCatalog()
	if err := cat.LoadPath("../runbooks/catalog/hello-world.yaml"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "alerts.yaml")
	if err := os.WriteFile(p, []byte(alertRunbooks), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	return cat
}

func notification(status string, alerts ...alertmanager.Alert) alertmanager.Message {
	return alertmanager.Message{Version: "4", Status: status, Receiver: "firebreak", GroupKey: "{}:{}", Alerts: alerts}
}

func amAlert(status string, labels ...string) alertmanager.Alert {
	l := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return alertmanager.Alert{Status: status, Labels: l, StartsAt: time.Now().Add(-time.Minute), Fingerprint: strings.Join(labels, ",")}
}

func (a *api) notify(msg any) (int, alertmanager.Response) {
	a.t.Helper()
	var resp alertmanager.Response
	code := a.do("POST", alertmanager.Path, msg, &resp)
	return code, resp
}

func TestAlertmanagerWebhook(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{
		Config:  &config.Config{APIToken: "api-token", Automation: config.Automation{BreakerFailures: 2}},
		Catalog: alertCatalog(t),
	})
	a := &api{t: t, base: fb.URL, token: "api-token"}

	t.Run("bad input", func(t *testing.T) {
		anon := &api{t: t, base: fb.URL}
		expectError(t, anon, "POST", alertmanager.Path, notification("firing", amAlert("firing", "alertname", "X")), http.StatusUnauthorized, "credentials")
		expectError(t, a, "POST", alertmanager.Path, `{"version": "4", "alerts": [`, http.StatusBadRequest, "bad JSON body")
		expectError(t, a, "POST", alertmanager.Path, `{"version": "3", "alerts": []}`, http.StatusBadRequest, `unsupported Alertmanager webhook version "3"`)
		expectError(t, a, "POST", alertmanager.Path, `{"version": "4", "alerts": [{"status": "weird", "labels": {"a": "b"}}]}`, http.StatusBadRequest, "firing or resolved")
		big := `{"version": "4", "alerts": [{"status": "firing", "labels": {"x": "` + strings.Repeat("y", 10<<20) + `"}}]}`
		expectError(t, a, "POST", alertmanager.Path, big, http.StatusRequestEntityTooLarge, "larger than")
		req, _ := http.NewRequest("POST", fb.URL+alertmanager.Path, strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Authorization", "Bearer api-token")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("text/plain: %v %v", resp, err)
		}
		var listed []runs.Summary
		a.do("GET", "/v1/runs", nil, &listed)
		if len(listed) != 0 {
			t.Fatalf("bad input started runs: %+v", listed)
		}
	})

	t.Run("burst is one run per target", func(t *testing.T) {
		msg := notification("firing",
			amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "checkout", "pod", "a"),
			amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "checkout", "pod", "b"),
			amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "cart", "pod", "c"),
			amAlert("firing", "alertname", "Unrelated", "namespace", "prod"),
			amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod"), // no deployment label
		)
		var wg sync.WaitGroup
		for i := 0; i < 10; i++ { // as if Alertmanager retried or repeated the same group
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, _ := a.notify(msg); code != 200 {
					t.Errorf("notify: HTTP %d", code)
				}
			}()
		}
		wg.Wait()
		code, resp := a.notify(msg)
		if code != 200 || resp.Counts[router.Joined] != 3 || resp.Counts[router.Unmatched] != 1 || resp.Counts[router.Rejected] != 1 {
			t.Fatalf("repeat: %d %+v", code, resp)
		}
		var listed []runs.Summary
		deadline := time.Now().Add(10 * time.Second)
		for len(listed) != 2 && time.Now().Before(deadline) {
			a.do("GET", "/v1/runs?runbook=restart-test", nil, &listed)
			time.Sleep(100 * time.Millisecond)
		}
		if len(listed) != 2 {
			t.Fatalf("want 2 runs (checkout, cart), got %+v", listed)
		}
		st := a.waitFor("runbook:restart-test:prod/checkout", "waiting for resolve", func(s *runwire.RunState) bool {
			return step(s, "act").Status == runwire.StepSucceeded
		})
		if st.Trigger != runwire.TriggerAlertmanager || len(st.Alerts) != 2 {
			t.Fatalf("run record: trigger %s alerts %+v", st.Trigger, st.Alerts)
		}
		total := 0
		for _, al := range st.Alerts {
			total += al.Count
		}
		if total != 22 {
			t.Errorf("checkout run recorded %d deliveries of its 2 alerts, want 22 (11 notifications)", total)
		}
		if out := step(st, "act").Output.(map[string]any); out["message"] != "restart prod/checkout for KubePodCrashLooping" {
			t.Errorf("act output %v", out)
		}
		// Resolving both alerts of checkout ends that run's wait.
		code, resp = a.notify(notification("resolved",
			amAlert("resolved", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "checkout", "pod", "a")))
		if code != 200 || resp.Counts[router.Joined] != 1 {
			t.Fatalf("resolve: %d %+v", code, resp)
		}
		st = a.waitFor("runbook:restart-test:prod/checkout", "succeeded", func(s *runwire.RunState) bool { return s.Done() })
		if st.Status != runwire.StatusSucceeded {
			t.Fatalf("run %+v", st)
		}
		// A resolved alert with no open run starts nothing.
		code, resp = a.notify(notification("resolved",
			amAlert("resolved", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "checkout", "pod", "a")))
		if code != 200 || resp.Counts[router.Started] != 0 {
			t.Fatalf("late resolve: %d %+v", code, resp)
		}
	})

	t.Run("limits", func(t *testing.T) {
		msg := notification("firing", amAlert("firing", "alertname", "Limited", "target", "db-1"))
		if code, resp := a.notify(msg); code != 200 || resp.Counts[router.Started] != 1 {
			t.Fatalf("first: %d %+v", code, resp)
		}
		a.waitFor("runbook:limited-test:db-1", "done", func(s *runwire.RunState) bool { return s.Done() })
		var resp alertmanager.Response
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) { // visibility of the first run's start may lag a moment
			_, resp = a.notify(msg)
			if resp.Counts[router.Suppressed] == 1 {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		if resp.Counts[router.Suppressed] != 1 || !strings.Contains(resp.Outcomes[0].Reason, "maxRunsPerHour 1") {
			t.Fatalf("second: %+v", resp)
		}
		var auto automationwire.AutomationState
		a.do("GET", "/v1/automation", nil, &auto)
		if len(auto.Suppressed) == 0 || auto.Suppressed[len(auto.Suppressed)-1].Runbook != "limited-test" {
			t.Fatalf("suppression not recorded: %+v", auto)
		}
	})

	t.Run("kill switch", func(t *testing.T) {
		var auto automationwire.AutomationState
		if code := a.do("POST", "/v1/automation/pause", map[string]string{"by": "alice", "reason": "game day"}, &auto); code != 200 || !auto.Paused {
			t.Fatalf("pause: %d %+v", code, auto)
		}
		code, resp := a.notify(notification("firing", amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "search")))
		if code != 200 || resp.Counts[router.Suppressed] != 1 || !strings.Contains(resp.Outcomes[0].Reason, "automation paused by alice: game day") {
			t.Fatalf("paused: %d %+v", code, resp)
		}
		// Manual runs still work.
		a.start(runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "manual")})
		if code := a.do("POST", "/v1/automation/resume", map[string]string{"by": "alice"}, &auto); code != 200 || auto.Paused {
			t.Fatalf("resume: %d %+v", code, auto)
		}
		code, resp = a.notify(notification("firing", amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "search")))
		if code != 200 || resp.Counts[router.Started] != 1 {
			t.Fatalf("resumed: %d %+v", code, resp)
		}
	})

	t.Run("circuit breaker", func(t *testing.T) {
		for _, target := range []string{"t1", "t2"} {
			if code, resp := a.notify(notification("firing", amAlert("firing", "alertname", "Broken", "target", target))); code != 200 || resp.Counts[router.Started] != 1 {
				t.Fatalf("broken %s: %d %+v", target, code, resp)
			}
			a.waitFor("runbook:failing-test:"+target, "failed", func(s *runwire.RunState) bool { return s.Done() })
		}
		var auto automationwire.AutomationState
		deadline := time.Now().Add(10 * time.Second)
		for !auto.Circuit.Open && time.Now().Before(deadline) {
			a.do("GET", "/v1/automation", nil, &auto)
			time.Sleep(100 * time.Millisecond)
		}
		if !auto.Circuit.Open || auto.Failed < 2 {
			t.Fatalf("circuit not open: %+v", auto)
		}
		time.Sleep(300 * time.Millisecond) // past the kill-switch cache
		_, resp := a.notify(notification("firing", amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "payments")))
		if resp.Counts[router.Suppressed] != 1 || !strings.Contains(resp.Outcomes[0].Reason, "circuit open") {
			t.Fatalf("with circuit open: %+v", resp)
		}
		a.start(runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "still-manual")})
		if code := a.do("POST", "/v1/automation/resume", map[string]string{"by": "bob"}, &auto); code != 200 || auto.Circuit.Open {
			t.Fatalf("resume: %d %+v", code, auto)
		}
		_, resp = a.notify(notification("firing", amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "payments")))
		if resp.Counts[router.Started] != 1 {
			t.Fatalf("after resume: %+v", resp)
		}
	})
}

// TestThroughRealAlertmanager has Debian's Alertmanager deliver alerts to
// the webhook: a burst of identical alerts makes one run per target.
func TestThroughRealAlertmanager(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{
		Config:  &config.Config{Alertmanager: config.Alertmanager{Token: "am-token"}},
		Catalog: alertCatalog(t),
	})
	am := testenv.StartAlertmanager(t, fb.URL+alertmanager.Path, "am-token", time.Second)
	a := &api{t: t, base: fb.URL}
	for i := 0; i < 50; i++ {
		am.Post(testenv.PostAlert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "prod", "deployment": "checkout", "pod": fmt.Sprintf("checkout-%d", i%3)}})
	}
	am.Post(testenv.PostAlert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "prod", "deployment": "cart"}})
	var listed []runs.Summary
	deadline := time.Now().Add(20 * time.Second)
	for len(listed) < 2 && time.Now().Before(deadline) {
		a.do("GET", "/v1/runs?runbook=restart-test", nil, &listed)
		time.Sleep(200 * time.Millisecond)
	}
	if len(listed) != 2 {
		t.Fatalf("want 2 runs, got %+v", listed)
	}
	st := a.waitFor("runbook:restart-test:prod/checkout", "acted", func(s *runwire.RunState) bool { return step(s, "act").Status == runwire.StepSucceeded })
	if len(st.Alerts) != 3 {
		t.Fatalf("checkout run received %+v, want its 3 distinct alerts", st.Alerts)
	}
	// Alertmanager sends the resolution; the run's wait ends.
	now := time.Now()
	for i := 0; i < 3; i++ {
		am.Post(testenv.PostAlert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "prod", "deployment": "checkout", "pod": fmt.Sprintf("checkout-%d", i)},
			StartsAt: now.Add(-time.Minute), EndsAt: now})
	}
	st = a.waitFor("runbook:restart-test:prod/checkout", "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded {
		t.Fatalf("run %+v", st)
	}
	time.Sleep(2 * time.Second) // any late repeat must not start a second run
	a.do("GET", "/v1/runs?runbook=restart-test", nil, &listed)
	if len(listed) != 2 {
		t.Fatalf("runs after resolve: %+v", listed)
	}
}

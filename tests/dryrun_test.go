package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/router"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// dryRunbook's dry runs linger (their first step retries a query against
// a Prometheus that is not there), so a real alert arrives while one is
// open; real runs skip that step.
const dryRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: dry-test}
spec:
  params:
    - {name: target, type: string, required: true}
  concurrency: params.target
  limits: {maxRunsPerHour: 1, cooldown: 10m}
  triggers:
    - alertmanager:
        match: alert.labels.alertname == "DryTest"
        params: {target: alert.labels.target}
  steps:
    - name: linger
      when: run.dryRun
      action: prometheus.query
      with: {query: up}
      retry: {attempts: 60, backoff: 1s, maxBackoff: 1s}
    - {name: act, action: log, with: {message: "acting on ${{ params.target }}"}}
`

// TestDryRunsCannotInterfere: anyone may dry-run, so a dry run must never
// hold a real run back. A dry run open for db takes no lock (an alert for
// db starts the real run at once), receives none of db's alerts, and
// counts toward neither the cooldown nor maxRunsPerHour; a real run does.
func TestDryRunsCannotInterfere(t *testing.T) {
	cat := runbooks.NewCatalog()
	p := filepath.Join(t.TempDir(), "dry.yaml")
	if err := os.WriteFile(p, []byte(dryRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: cat,
		Config: &config.Config{Prometheus: config.Prometheus{URL: "http://127.0.0.1:1"}}})
	a := &api{t: t, base: fb.URL}
	params := map[string]any{"target": "db"}

	dry := a.start(runs.StartRequest{Runbook: "dry-test", Params: params, DryRun: true})
	if !strings.HasPrefix(dry.ID, "dryrun:dry-test:") || !dry.DryRun || dry.Key != "db" {
		t.Fatalf("dry run %+v", dry)
	}
	a.waitFor(dry.ID, "lingering", func(s *runwire.RunState) bool { return step(s, "linger").Status == runwire.StepRunning })

	alert := notification("firing", amAlert("firing", "alertname", "DryTest", "target", "db"))
	code, resp := a.notify(alert)
	if code != 200 || len(resp.Outcomes) != 1 || resp.Outcomes[0].Result != router.Started || resp.Outcomes[0].ID != names.RunWorkflowID("dry-test", "db") {
		t.Fatalf("alert while a dry run is open: %d %+v", code, resp)
	}
	real := a.waitFor(resp.Outcomes[0].ID, "done", func(s *runwire.RunState) bool { return s.Done() })
	if real.Status != runwire.StatusSucceeded || real.DryRun || len(real.Alerts) != 1 {
		t.Fatalf("real run %+v", real)
	}
	// A second dry run while the first is open, and the real run's alerts
	// never reach either.
	second := a.start(runs.StartRequest{Runbook: "dry-test", Params: params, DryRun: true})
	for _, id := range []string{dry.ID, second.ID} {
		var st runwire.RunState
		if code := a.do("GET", runURL(id), nil, &st); code != 200 || st.Done() || len(st.Alerts) != 0 {
			t.Errorf("dry run %s: %d, done %t, alerts %+v", id, code, st.Done(), st.Alerts)
		}
	}

	// The real run counts: the next alert for db is held back by it.
	code, resp = a.notify(notification("firing", amAlert("firing", "alertname", "DryTest", "target", "db", "pod", "2")))
	if code != 200 || len(resp.Outcomes) != 1 || resp.Outcomes[0].Result != router.Suppressed || !strings.Contains(resp.Outcomes[0].Reason, "cooldown") {
		t.Fatalf("alert after a real run: %d %+v", code, resp)
	}
	for _, id := range []string{dry.ID, second.ID} {
		if code := a.do("POST", runURL(id)+"/cancel", nil, nil); code != 202 {
			t.Errorf("cancel %s: %d", id, code)
		}
	}
}

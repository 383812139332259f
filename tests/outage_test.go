package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/ingress/alertmanager"
	"github.com/firebreak-ops/firebreak/internal/router"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// TestTemporalOutage: while Temporal is down the webhook answers 503 (so
// Alertmanager retries) and accepts nothing; once it is back, the retried
// notification starts the run.
func TestTemporalOutage(t *testing.T) {
	dir, port := t.TempDir(), testenv.FreePort(t)
	eng := testenv.EngineOn(t, dir, port)
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: alertCatalog(t), Config: &config.Config{}})
	a := &api{t: t, base: fb.URL}
	msg := notification("firing", amAlert("firing", "alertname", "KubePodCrashLooping", "namespace", "prod", "deployment", "outage"))

	if err := eng.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	var e errBody
	for time.Since(down) < 10*time.Second {
		began := time.Now()
		if code := a.do("POST", alertmanager.Path, msg, &e); code != http.StatusServiceUnavailable {
			t.Fatalf("with Temporal down: HTTP %d %q, want 503", code, e.Error)
		}
		if took := time.Since(began); took > 10*time.Second {
			t.Fatalf("the 503 took %s; Alertmanager would time out first", took)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("while down: %s", e.Error)

	testenv.EngineOn(t, dir, port)
	var resp alertmanager.Response
	deadline := time.Now().Add(60 * time.Second)
	for {
		code := a.do("POST", alertmanager.Path, msg, &resp)
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook still %d after Temporal came back", code)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if resp.Counts[router.Started] != 1 {
		t.Fatalf("after recovery: %+v", resp)
	}
	st := a.waitForLong("runbook:restart-test:prod/outage", 60*time.Second, func(s *runwire.RunState) bool {
		return step(s, "act").Status == runwire.StepSucceeded
	})
	if len(st.Alerts) != 1 {
		t.Fatalf("run record %+v", st.Alerts)
	}
}

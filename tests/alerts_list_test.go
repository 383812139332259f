package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// TestAlertsListWaitsForEveryAlert: the shipped disk-pressure runbook is
// fed two alerts for one node; it waits until both resolved, not only the
// latest (which is all `alert` shows).
func TestAlertsListWaitsForEveryAlert(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: &config.Config{APIToken: "api-token"}})
	a := &api{t: t, base: fb.URL, token: "api-token"}
	const id = "runbook:disk-pressure:disk/n1"
	root := []string{"alertname", "NodeFilesystemAlmostFull", "node", "n1", "mountpoint", "/"}
	data := []string{"alertname", "NodeFilesystemAlmostFull", "node", "n1", "mountpoint", "/var"}

	if code, resp := a.notify(notification("firing", amAlert("firing", root...), amAlert("firing", data...))); code != 200 {
		t.Fatalf("firing: HTTP %d %+v", code, resp)
	}
	// The first alert starts the run and the second is signalled to it, so
	// the report step may run before the second arrives; the wait sees both.
	st := a.waitFor(id, "waiting for all clear with both alerts", func(s *runwire.RunState) bool {
		return step(s, "all_clear").Status == runwire.StepRunning && len(s.Alerts) == 2
	})
	if msg, _ := step(st, "report").Output.(map[string]any)["message"].(string); !strings.Contains(msg, "filesystem alert(s) firing (/") {
		t.Fatalf("report said %q", msg)
	}

	// One resolves: the latest alert is resolved, but not every alert.
	if code, resp := a.notify(notification("resolved", amAlert("resolved", root...))); code != 200 {
		t.Fatalf("resolved /: HTTP %d %+v", code, resp)
	}
	a.waitFor(id, "the resolved alert recorded", func(s *runwire.RunState) bool {
		for _, r := range s.Alerts {
			if r.Status == "resolved" {
				return true
			}
		}
		return false
	})
	time.Sleep(time.Second)
	if st := a.waitFor(id, "read", func(*runwire.RunState) bool { return true }); st.Done() || step(st, "all_clear").Status != runwire.StepRunning {
		t.Fatalf("after one of two resolved: %s, all_clear %s", st.Status, step(st, "all_clear").Status)
	}

	// The other resolves: all clear.
	if code, resp := a.notify(notification("resolved", amAlert("resolved", data...))); code != 200 {
		t.Fatalf("resolved /var: HTTP %d %+v", code, resp)
	}
	st = a.waitFor(id, "finished", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded {
		t.Fatalf("run %s: %s", st.Status, st.Error)
	}
	if msg, _ := step(st, "resolved").Output.(map[string]any)["message"].(string); msg != "node n1: all 2 filesystem alert(s) resolved" {
		t.Fatalf("resolved said %q", msg)
	}
}

package tests

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const guardedRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: guarded-restart}
spec:
  params:
    - {name: target, type: string, required: true}
  concurrency: params.target
  access:
    run: [alice, "@sre"]
    approve: ["@sre"]
  steps:
    - name: ok
      approval: {separateApprover: true, timeout: 10m}
    - {name: act, action: log, with: {message: "acting on ${{ params.target }}"}}
`

// TestAccess maps API tokens to principals and checks spec.access: who may
// run for real, who may approve, and that a requester cannot approve their
// own high-risk step.
func TestAccess(t *testing.T) {
	cat := runbooks.NewCatalog()
	p := filepath.Join(t.TempDir(), "guarded.yaml")
	os.WriteFile(p, []byte(guardedRunbook), 0o600)
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: cat, Config: &config.Config{
		APIToken: "operator",
		Principals: []config.Principal{
			{Token: "tok-alice", Name: "alice"},
			{Token: "tok-bob", Name: "bob"},
			{Token: "tok-carol", Name: "carol", Groups: []string{"sre"}},
			{Token: "tok-dave", Name: "dave", Groups: []string{"sre"}},
		},
	}})
	as := func(tok string) *api { return &api{t: t, base: fb.URL, token: tok} }

	expectError(t, as("tok-bob"), "POST", "/v1/runs", runs.StartRequest{Runbook: "guarded-restart", Params: fmtParams("target", "db")}, http.StatusForbidden, "bob may not run guarded-restart for real")
	var ref runs.Ref
	if code := as("tok-bob").do("POST", "/v1/runs", runs.StartRequest{Runbook: "guarded-restart", DryRun: true, Params: fmtParams("target", "dry")}, &ref); code != http.StatusCreated {
		t.Fatalf("bob's dry run: %d", code)
	}
	// carol may run (group sre); she may not approve her own run.
	ref = as("tok-carol").start(runs.StartRequest{Runbook: "guarded-restart", Params: fmtParams("target", "db"), RequestedBy: "someone-else"})
	a := as("operator")
	a.waitFor(ref.ID, "waiting", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	expectError(t, as("tok-carol"), "POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "ok", "approve": true}, http.StatusForbidden, "carol requested this run")
	expectError(t, as("tok-alice"), "POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "ok", "approve": true, "by": "dave"}, http.StatusForbidden, "alice may not decide")
	var decided runwire.ApprovalState
	if code := as("tok-dave").do("POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "ok", "approve": true}, &decided); code != 200 || decided.By != "dave" {
		t.Fatalf("dave: %d %+v", code, decided)
	}
	st := a.waitFor(ref.ID, "done", func(s *runwire.RunState) bool { return s.Done() && len(s.Access) == 3 })
	if st.Status != runwire.StatusSucceeded || st.RequestedBy != "carol" {
		t.Fatalf("run %+v", st)
	}
	want := []struct {
		by      string
		allowed bool
	}{{"carol", false}, {"alice", false}, {"dave", true}}
	for i, w := range want {
		if d := st.Access[i]; d.By != w.by || d.Allowed != w.allowed {
			t.Errorf("access record %d: %+v, want %s allowed=%v", i, d, w.by, w.allowed)
		}
	}
	// Cancelling follows spec.access too.
	ref = as("tok-alice").start(runs.StartRequest{Runbook: "guarded-restart", Params: fmtParams("target", "cache")})
	a.waitFor(ref.ID, "waiting", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	expectError(t, as("tok-bob"), "POST", runURL(ref.ID)+"/cancel", "{}", http.StatusForbidden, "bob may not cancel")
	if code := as("tok-alice").do("POST", runURL(ref.ID)+"/cancel", "{}", nil); code != http.StatusAccepted {
		t.Fatalf("alice cancel: %d", code)
	}
}

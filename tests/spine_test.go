package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// TestSpine drives hello-world through the API on the embedded server:
// start, guard, approval, success; bad input; then a restart on the same
// data dir that keeps both a finished run and one waiting for approval.
func TestSpine(t *testing.T) {
	dir := t.TempDir()
	eng := testenv.Engine(t, dir)
	fb := testenv.StartFirebreak(t, eng, testenv.Options{})
	a := &api{t: t, base: fb.URL}

	var books []runbooks.Summary
	if code := a.do("GET", "/v1/runbooks", nil, &books); code != 200 || len(books) < 2 {
		t.Fatalf("runbooks: %d %v", code, books)
	}

	// A run that needs an approval (times > 3).
	ref := a.start(runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "ops", "times", 5), RequestedBy: "alice"})
	if ref.ID != "runbook:hello-world:ops" || ref.Status != runwire.StatusRunning {
		t.Fatalf("ref %+v", ref)
	}
	st := a.waitFor(ref.ID, "waiting for approval", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	if s := step(st, "shout"); s.Status != runwire.StepSucceeded || s.Decision == nil || !s.Decision.Result {
		t.Fatalf("shout %+v", s)
	}
	if s := step(st, "confirm"); s.Approval == nil || s.Approval.Message != "Greet ops more than three times?" {
		t.Fatalf("confirm %+v", s)
	}

	// One run per concurrency key.
	expectError(t, a, "POST", "/v1/runs", runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "ops")}, http.StatusConflict, "already has a run")
	// Listed while waiting.
	var listed []runs.Summary
	a.do("GET", "/v1/runs?status=waiting_approval", nil, &listed)
	if len(listed) != 1 || listed[0].ID != ref.ID {
		t.Fatalf("waiting runs %+v", listed)
	}

	// Approvals: wrong step, not an approval, then the real one, then again.
	expectError(t, a, "POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "nope", "approve": true, "by": "bob"}, http.StatusNotFound, `no step "nope"`)
	expectError(t, a, "POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "greet", "approve": true, "by": "bob"}, http.StatusBadRequest, "not an approval")
	var decided runwire.ApprovalState
	if code := a.do("POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "confirm", "approve": true, "by": "bob", "comment": "looks safe"}, &decided); code != 200 || decided.Decision != runwire.DecisionApproved {
		t.Fatalf("approve: %d %+v", code, decided)
	}
	expectError(t, a, "POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "confirm", "approve": false, "by": "carol"}, http.StatusConflict, "already decided")
	st = a.waitFor(ref.ID, "succeeded", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || step(st, "farewell").Status != runwire.StepSucceeded {
		t.Fatalf("final %+v", st)
	}
	if out := step(st, "farewell").Output.(map[string]any); out["message"] != "Goodbye, ops. The greeting step was succeeded." {
		t.Fatalf("farewell output %v", out)
	}

	// Bad input, each a 4xx naming what is wrong; nothing started.
	expectError(t, a, "POST", "/v1/runs", runs.StartRequest{Runbook: "nope"}, http.StatusBadRequest, `unknown runbook "nope"`)
	expectError(t, a, "POST", "/v1/runs", runs.StartRequest{Runbook: "hello-world"}, http.StatusBadRequest, "params.name: is required")
	expectError(t, a, "POST", "/v1/runs", runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "x", "times", "many")}, http.StatusBadRequest, `params.times: must be a whole number, not "many"`)
	expectError(t, a, "POST", "/v1/runs", `{"runbook": "hello-world", "param": {}}`, http.StatusBadRequest, `unknown field "param"`)
	expectError(t, a, "POST", "/v1/runs", `{"runbook": `, http.StatusBadRequest, "bad JSON body")
	expectError(t, a, "POST", "/v1/runs", `{"runbook": "`+strings.Repeat("x", 2<<20)+`"}`, http.StatusRequestEntityTooLarge, "larger than")
	expectError(t, a, "GET", runURL("runbook:hello-world:nobody"), nil, http.StatusNotFound, "no run")
	expectError(t, a, "GET", "/v1/runs?status=sleepy", nil, http.StatusBadRequest, "status must be one of")

	// A dry run, and a run left waiting for approval across the restart.
	dry := a.start(runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "dry", "times", 9), DryRun: true})
	st = a.waitFor(dry.ID, "done", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || !st.DryRun {
		t.Fatalf("dry run %+v", st)
	}
	pending := a.start(runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "later", "times", 4)})
	a.waitFor(pending.ID, "waiting", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })

	// Restart everything on the same data dir.
	fb.Stop()
	if err := eng.Stop(); err != nil {
		t.Fatal(err)
	}
	eng = testenv.Engine(t, dir)
	fb = testenv.StartFirebreak(t, eng, testenv.Options{})
	a = &api{t: t, base: fb.URL}
	st = a.waitFor(ref.ID, "found after restart", func(s *runwire.RunState) bool { return s.Status == runwire.StatusSucceeded })
	if step(st, "confirm").Approval.By != "bob" {
		t.Fatalf("approval lost across restart: %+v", step(st, "confirm"))
	}
	var all []runs.Summary
	a.do("GET", "/v1/runs?runbook=hello-world", nil, &all)
	if len(all) != 3 {
		t.Fatalf("after restart, %d runs listed: %+v", len(all), all)
	}
	if code := a.do("POST", runURL(pending.ID)+"/approvals", map[string]any{"step": "confirm", "approve": false, "by": "bob", "comment": "not now"}, nil); code != 200 {
		t.Fatalf("approval after restart: HTTP %d", code)
	}
	st = a.waitFor(pending.ID, "done", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusFailed || st.Steps[0].Status != runwire.StepRolledBack || len(st.Rollback) != 1 {
		t.Fatalf("denied run %+v", st)
	}

	// Cancel: a fresh run waiting for approval, cancelled, rolls back.
	c := a.start(runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "cancel-me", "times", 4)})
	a.waitFor(c.ID, "waiting", func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	if code := a.do("POST", runURL(c.ID)+"/cancel", "{}", nil); code != http.StatusAccepted {
		t.Fatalf("cancel: HTTP %d", code)
	}
	st = a.waitFor(c.ID, "cancelled", func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusCancelled || st.Steps[0].Status != runwire.StepRolledBack {
		t.Fatalf("cancelled run %+v", st)
	}
	expectError(t, a, "POST", runURL(c.ID)+"/cancel", "{}", http.StatusConflict, "already finished")
}

// TestAPIToken checks that every endpoint but health and metrics needs the
// token, and that /readyz sees the worker.
func TestAPIToken(t *testing.T) {
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: &config.Config{APIToken: "s3cret-token"}})
	anon := &api{t: t, base: fb.URL}
	for _, p := range []string{"/v1/runbooks", "/v1/runs"} {
		if code := anon.do("GET", p, nil, nil); code != http.StatusUnauthorized {
			t.Errorf("GET %s without token: %d", p, code)
		}
	}
	wrong := &api{t: t, base: fb.URL, token: "nope"}
	if code := wrong.do("GET", "/v1/runbooks", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("wrong token: %d", code)
	}
	for _, p := range []string{"/healthz", "/metrics"} {
		if code := anon.do("GET", p, nil, nil); code != 200 {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	// Ready once the worker's first poll reached Temporal.
	deadline := time.Now().Add(15 * time.Second)
	for anon.do("GET", "/readyz", nil, nil) != 200 {
		if time.Now().After(deadline) {
			t.Fatal("/readyz never became ready")
		}
		time.Sleep(100 * time.Millisecond)
	}
	ok := &api{t: t, base: fb.URL, token: "s3cret-token"}
	if code := ok.do("GET", "/v1/runbooks", nil, nil); code != 200 {
		t.Errorf("with token: %d", code)
	}
}

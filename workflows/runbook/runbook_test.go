package runbook_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"log/slog"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/runbooks"
	runbookwf "github.com/firebreak-ops/firebreak/workflows/runbook"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// recorder stands in for an outside system: it counts calls per step and
// fails the first failures calls. Dry-run calls do nothing and are counted
// apart.
type recorder struct {
	mu       sync.Mutex
	calls    []string
	dryCalls []string
	failures map[string]int
	delay    time.Duration
}

func (r *recorder) handler(ctx context.Context, req actions.Request) (any, error) {
	r.mu.Lock()
	if req.DryRun {
		r.dryCalls = append(r.dryCalls, req.Step)
		r.mu.Unlock()
		return map[string]any{"dryRun": true, "wouldRun": actions.HTTPRequest}, nil
	}
	r.calls = append(r.calls, req.Step)
	left := r.failures[req.Step]
	if left > 0 {
		r.failures[req.Step] = left - 1
	}
	r.mu.Unlock()
	if r.delay > 0 {
		select {
		case <-time.After(r.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if left > 0 {
		return nil, errors.New("upstream said 503")
	}
	return map[string]any{"status": 200, "step": req.Step}, nil
}

func (r *recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

// DryCalls lists the steps the recorder was called for with dryRun set.
func (r *recorder) DryCalls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.dryCalls...)
}

type harness struct {
	*testsuite.TestWorkflowEnvironment
	t   *testing.T
	rec *recorder
}

func newHarness(t *testing.T) *harness {
	return newHarnessDeps(t, activities.Deps{}, true)
}

// newHarnessDeps registers the actions built from deps; with record, the
// recorder stands in for http.request.
func newHarnessDeps(t *testing.T, deps activities.Deps, record bool) *harness {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.SetWorkerOptions(worker.Options{})
	rec := &recorder{failures: map[string]int{}}
	handlers := activities.Handlers(deps)
	if record {
		handlers[actions.HTTPRequest] = rec.handler
	}
	for name, h := range handlers {
		env.RegisterActivityWithOptions(activities.Wrap(h), activity.RegisterOptions{Name: name})
	}
	env.RegisterWorkflowWithOptions(runbookwf.RunbookWorkflow, workflowOpts())
	return &harness{TestWorkflowEnvironment: env, t: t, rec: rec}
}

func load(t *testing.T, yaml string) runbooks.Runbook {
	t.Helper()
	rbs, err := runbooks.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if _, err := runbooks.Compile(rbs[0]); err != nil {
		t.Fatalf("compile: %v", err)
	}
	return *rbs[0]
}

func (h *harness) run(rb runbooks.Runbook, params map[string]any, dryRun bool) {
	h.t.Helper()
	resolved, err := rb.ResolveParams(params)
	if err != nil {
		h.t.Fatal(err)
	}
	h.ExecuteWorkflow(names.RunbookWorkflow, runwire.RunInput{
		ID: "runbook:test:1", Runbook: rb, Params: resolved, DryRun: dryRun, Trigger: runwire.TriggerAPI, RequestedBy: "tester",
	})
	if !h.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
}

func (h *harness) state() *runwire.RunState {
	h.t.Helper()
	v, err := h.QueryWorkflow(names.StatusQuery)
	if err != nil {
		h.t.Fatal(err)
	}
	var st runwire.RunState
	if err := v.Get(&st); err != nil {
		h.t.Fatal(err)
	}
	return &st
}

func (h *harness) approve(after time.Duration, req runwire.ApprovalRequest, rejected *error) {
	h.RegisterDelayedCallback(func() {
		h.UpdateWorkflow(names.ApproveUpdate, "u-"+req.By+req.Step, &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) {
				if rejected != nil {
					*rejected = err
				}
			},
			OnComplete: func(any, error) {},
		}, req)
	}, after)
}

func stepByName(st *runwire.RunState, name string) runwire.StepState {
	for _, s := range st.Steps {
		if s.Name == name {
			return s
		}
	}
	return runwire.StepState{}
}

const guarded = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: guarded}
spec:
  params:
    - {name: count, type: int, default: 1}
  steps:
    - name: check
      action: http.request
      with: {url: "http://example.invalid/health"}
    - name: big
      when: params.count > 2 && steps.check.output.status == 200
      action: log
      with: {message: "count is ${{ params.count }}"}
`

func TestGuardTrueAndFalse(t *testing.T) {
	for _, tc := range []struct {
		count  int
		status string
		result bool
	}{
		{count: 1, status: runwire.StepSkipped, result: false},
		{count: 5, status: runwire.StepSucceeded, result: true},
	} {
		h := newHarness(t)
		h.run(load(t, guarded), map[string]any{"count": tc.count}, false)
		if err := h.GetWorkflowError(); err != nil {
			t.Fatalf("count=%d: %v", tc.count, err)
		}
		st := h.state()
		big := stepByName(st, "big")
		if big.Status != tc.status {
			t.Errorf("count=%d: step big is %s, want %s", tc.count, big.Status, tc.status)
		}
		if big.Decision == nil || big.Decision.Result != tc.result {
			t.Fatalf("count=%d: decision %+v", tc.count, big.Decision)
		}
		if got := big.Decision.Inputs["params.count"]; got != float64(tc.count) {
			t.Errorf("decision inputs %v, want params.count=%d", big.Decision.Inputs, tc.count)
		}
		if tc.count == 1 && big.Decision.Inputs["steps.check.output.status"] != nil {
			// && short-circuits, but the record still shows what was read.
			t.Logf("inputs: %v", big.Decision.Inputs)
		}
		if st.Status != runwire.StatusSucceeded {
			t.Errorf("run status %s", st.Status)
		}
	}
}

const retrying = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: retrying}
spec:
  steps:
    - name: call
      action: http.request
      with: {url: "http://example.invalid/"}
      retry: {attempts: 3, backoff: 10s}
`

func TestRetries(t *testing.T) {
	h := newHarness(t)
	h.rec.failures["call"] = 2
	h.run(load(t, retrying), nil, false)
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	call := stepByName(h.state(), "call")
	if call.Status != runwire.StepSucceeded || call.Attempts != 3 {
		t.Fatalf("step %+v, want succeeded after 3 attempts", call)
	}

	h = newHarness(t)
	h.rec.failures["call"] = 5
	h.run(load(t, retrying), nil, false)
	if h.GetWorkflowError() == nil {
		t.Fatal("run succeeded although every attempt failed")
	}
	st := h.state()
	call = stepByName(st, "call")
	if call.Status != runwire.StepFailed || call.Attempts != 3 || call.Error != "upstream said 503" {
		t.Fatalf("step %+v, want failed after 3 attempts with the cause", call)
	}
	if st.Status != runwire.StatusFailed || st.Error == "" {
		t.Fatalf("run %s %q", st.Status, st.Error)
	}
}

func TestTimeout(t *testing.T) {
	h := newHarness(t)
	h.rec.delay = 3 * time.Second
	h.run(load(t, `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: slow}
spec:
  steps:
    - name: call
      action: http.request
      with: {url: "http://example.invalid/"}
      timeout: 1s
      retry: {attempts: 1}
      onFailure: continue
    - name: after
      action: log
      with: {message: still here}
`), nil, false)
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	st := h.state()
	call := stepByName(st, "call")
	if call.Status != runwire.StepFailed || call.Error != "timed out after 1s" {
		t.Fatalf("call %+v", call)
	}
	if stepByName(st, "after").Status != runwire.StepSucceeded {
		t.Fatal("onFailure: continue did not continue")
	}
}

const approving = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: approving}
spec:
  steps:
    - name: first
      action: http.request
      with: {url: "http://example.invalid/first"}
    - name: ok
      approval: {approvers: [alice, bob], timeout: 30m, onTimeout: %s}
    - name: last
      action: log
      with: {message: done}
  rollback:
    - name: undo_first
      for: first
      action: log
      with: {message: undo}
`

func approvingRunbook(t *testing.T, onTimeout string) runbooks.Runbook {
	return load(t, sprintf(approving, onTimeout))
}

func TestApprovalGranted(t *testing.T) {
	h := newHarness(t)
	var rejected error
	h.approve(time.Minute, runwire.ApprovalRequest{Step: "ok", Approve: true, By: "mallory"}, &rejected)
	h.approve(2*time.Minute, runwire.ApprovalRequest{Step: "ok", Approve: true, By: "alice", Comment: "looks safe"}, nil)
	h.RegisterDelayedCallback(func() {
		if st := h.state(); st.Status != runwire.StatusWaitingApproval {
			t.Errorf("while waiting, run status %s", st.Status)
		}
	}, 90*time.Second)
	h.run(approvingRunbook(t, "abort"), nil, false)
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if rejected == nil {
		t.Error("an approver not on the list was accepted")
	}
	ok := stepByName(h.state(), "ok")
	if ok.Status != runwire.StepSucceeded || ok.Approval.Decision != runwire.DecisionApproved || ok.Approval.By != "alice" || ok.Approval.Comment != "looks safe" {
		t.Fatalf("approval %+v %+v", ok, ok.Approval)
	}
}

func TestApprovalDenied(t *testing.T) {
	h := newHarness(t)
	h.approve(time.Minute, runwire.ApprovalRequest{Step: "ok", Approve: false, By: "bob", Comment: "not during the sale"}, nil)
	var second error
	h.approve(2*time.Minute, runwire.ApprovalRequest{Step: "ok", Approve: true, By: "alice"}, &second)
	h.run(approvingRunbook(t, "abort"), nil, false)
	if h.GetWorkflowError() == nil {
		t.Fatal("denied run succeeded")
	}
	st := h.state()
	if st.Status != runwire.StatusFailed || stepByName(st, "ok").Error != "denied by bob: not during the sale" {
		t.Fatalf("run %s, step %+v", st.Status, stepByName(st, "ok"))
	}
	if stepByName(st, "last").Status != runwire.StepPending {
		t.Error("step after a denial ran")
	}
	if stepByName(st, "first").Status != runwire.StepRolledBack {
		t.Errorf("first is %s, want rolled_back", stepByName(st, "first").Status)
	}
}

func TestApprovalTimedOut(t *testing.T) {
	for _, tc := range []struct {
		onTimeout string
		want      string
	}{{"abort", runwire.StatusFailed}, {"continue", runwire.StatusSucceeded}} {
		h := newHarness(t)
		h.run(approvingRunbook(t, tc.onTimeout), nil, false)
		st := h.state()
		ok := stepByName(st, "ok")
		if st.Status != tc.want || ok.Approval.Decision != runwire.DecisionTimedOut {
			t.Fatalf("onTimeout %s: run %s, approval %+v", tc.onTimeout, st.Status, ok.Approval)
		}
		if waited := ok.FinishedAt.Sub(*ok.StartedAt); waited != 30*time.Minute {
			t.Errorf("approval waited %s, want 30m", waited)
		}
	}
}

func TestRollbackOrder(t *testing.T) {
	h := newHarness(t)
	h.rec.failures["c"] = 10
	h.run(load(t, `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: order}
spec:
  steps:
    - {name: a, action: http.request, with: {url: "http://x.invalid/a"}}
    - {name: skipped, when: "false", action: http.request, with: {url: "http://x.invalid/s"}}
    - {name: b, action: http.request, with: {url: "http://x.invalid/b"}}
    - {name: c, action: http.request, with: {url: "http://x.invalid/c"}, retry: {attempts: 1}}
  rollback:
    - {name: undo_a, for: a, action: http.request, with: {url: "http://x.invalid/undo-a"}}
    - {name: undo_skipped, for: skipped, action: http.request, with: {url: "http://x.invalid/undo-s"}}
    - {name: undo_b, for: b, action: http.request, with: {url: "http://x.invalid/undo-b"}}
    - {name: undo_c, for: c, action: http.request, with: {url: "http://x.invalid/undo-c"}}
    - {name: cleanup, action: http.request, with: {url: "http://x.invalid/cleanup"}}
`), nil, false)
	got := h.rec.Calls()
	want := []string{"a", "b", "c", "undo_b", "undo_a", "cleanup"}
	if len(got) != len(want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("calls %v, want %v", got, want)
		}
	}
	st := h.state()
	for name, status := range map[string]string{"a": runwire.StepRolledBack, "b": runwire.StepRolledBack, "c": runwire.StepFailed, "skipped": runwire.StepSkipped} {
		if s := stepByName(st, name).Status; s != status {
			t.Errorf("step %s is %s, want %s", name, s, status)
		}
	}
	if len(st.Rollback) != 3 {
		t.Errorf("rollback record %+v", st.Rollback)
	}
}

func TestDryRun(t *testing.T) {
	h := newHarness(t)
	h.run(approvingRunbook(t, "abort"), nil, true)
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if calls := h.rec.Calls(); len(calls) != 0 {
		t.Fatalf("dry run called %v", calls)
	}
	// http.request dry-runs itself: it checks the egress policy without
	// connecting.
	if dry := h.rec.DryCalls(); len(dry) != 1 || dry[0] != "first" {
		t.Fatalf("dry-run calls %v, want [first]", dry)
	}
	st := h.state()
	first := stepByName(st, "first")
	out, _ := first.Output.(map[string]any)
	if out["dryRun"] != true || out["wouldRun"] != actions.HTTPRequest {
		t.Fatalf("dry-run output %v", first.Output)
	}
	if !st.DryRun || st.Status != runwire.StatusSucceeded {
		t.Fatalf("run %+v", st)
	}
	// log can dry-run itself, so it is called with dryRun set.
	if stepByName(st, "last").Attempts != 1 {
		t.Errorf("log step %+v", stepByName(st, "last"))
	}
}

func TestCancelDuringApproval(t *testing.T) {
	h := newHarness(t)
	h.RegisterDelayedCallback(h.CancelWorkflow, 5*time.Minute)
	h.run(approvingRunbook(t, "abort"), nil, false)
	st := h.state()
	if st.Status != runwire.StatusCancelled {
		t.Fatalf("run %s", st.Status)
	}
	if stepByName(st, "first").Status != runwire.StepRolledBack {
		t.Errorf("first is %s, want rolled_back", stepByName(st, "first").Status)
	}
	if len(st.Rollback) != 1 || st.Rollback[0].Status != runwire.StepSucceeded {
		t.Errorf("rollback %+v", st.Rollback)
	}
}

func TestSecretsRedactedInRecord(t *testing.T) {
	h := newHarness(t)
	h.run(load(t, `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: secret}
spec:
  params:
    - {name: token, type: string, required: true}
  steps:
    - name: call
      action: http.request
      with:
        url: "http://example.invalid/"
        headers: {Authorization: "Bearer ${{ params.token }}"}
`), map[string]any{"token": "s3cr3t"}, false)
	call := stepByName(h.state(), "call")
	headers := call.With["headers"].(map[string]any)
	if headers["Authorization"] != redact.Mask {
		t.Fatalf("with recorded as %v", call.With)
	}
}

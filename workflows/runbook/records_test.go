package runbook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/redact"
	runbookwf "github.com/firebreak-ops/firebreak/workflows/runbook"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// recordsStart is the test clock's start, so a run continued in a second
// environment can go on at the right time.
var recordsStart = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// newRecordsHarness is newHarness with some actions replaced.
func newRecordsHarness(t *testing.T, override map[string]actions.Handler) *harness {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(recordsStart)
	env.SetWorkerOptions(worker.Options{})
	rec := &recorder{failures: map[string]int{}}
	handlers := activities.Handlers(activities.Deps{})
	handlers[actions.HTTPRequest] = rec.handler
	for name, h := range override {
		handlers[name] = h
	}
	for name, h := range handlers {
		env.RegisterActivityWithOptions(activities.Wrap(h), activity.RegisterOptions{Name: name})
	}
	env.RegisterWorkflowWithOptions(runbookwf.RunbookWorkflow, workflowOpts())
	return &harness{TestWorkflowEnvironment: env, t: t, rec: rec}
}

const secretsRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: secrets}
spec:
  params:
    - {name: token, type: string, required: true}
    - {name: target, type: string, default: db}
  steps:
    - name: call
      action: http.request
      with:
        url: "http://example.invalid/v1?api_key=${{ params.token }}&target=${{ params.target }}"
        headers: {Authorization: "Bearer ${{ params.token }}"}
        body: [{user: ops, password: "${{ params.token }}"}]
    - name: check
      when: params.token != "" && params.target == "db"
      action: log
      with: {message: checked}
`

// TestRecordRedacted: neither a run nor its dry run keeps a secret in its
// record — not in with: (lists walked, query strings too), not in params
// named like secrets, not in outputs (Set-Cookie, Authorization), not in
// guard inputs.
func TestRecordRedacted(t *testing.T) {
	const secret = "tok-s3cret-value"
	echo := func(_ context.Context, req actions.Request) (any, error) {
		if req.DryRun {
			// http.request dry-runs itself: it reports what it would
			// send, with: included, and the egress verdict.
			return map[string]any{"dryRun": true, "with": req.With, "egress": "allowed"}, nil
		}
		return map[string]any{"status": 200.0, "headers": map[string]any{"Set-Cookie": "session=" + secret + "; HttpOnly", "Content-Type": "application/json"},
			"json": map[string]any{"echo": map[string]any{"Authorization": "Bearer " + secret}, "items": []any{map[string]any{"apiKey": secret}}}}, nil
	}
	for _, dryRun := range []bool{false, true} {
		t.Run(fmt.Sprintf("dryRun=%v", dryRun), func(t *testing.T) {
			h := newRecordsHarness(t, map[string]actions.Handler{actions.HTTPRequest: echo})
			h.run(load(t, secretsRunbook), map[string]any{"token": secret}, dryRun)
			if err := h.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			st := h.state()
			b, _ := json.Marshal(st)
			if strings.Contains(string(b), secret) {
				t.Errorf("the record holds the secret: %s", b)
			}
			if st.Params["token"] != redact.Mask || st.Params["target"] != "db" {
				t.Errorf("params recorded as %v", st.Params)
			}
			call := stepByName(st, "call")
			if !strings.Contains(fmt.Sprint(call.With["url"]), "target=db") {
				t.Errorf("with recorded as %v", call.With)
			}
			if dryRun {
				out, _ := call.Output.(map[string]any)
				if out["dryRun"] != true || out["with"] == nil {
					t.Errorf("dry-run output %v", call.Output)
				}
				return
			}
			if check := stepByName(st, "check"); check.Status != runwire.StepSucceeded || check.Decision.Inputs["params.token"] != redact.Mask {
				t.Errorf("check %+v %+v", check, check.Decision)
			}
		})
	}
}

// TestStepOutputCapped: the record keeps a large output as a truncated
// marker; expressions still see all of it.
func TestStepOutputCapped(t *testing.T) {
	big := func(_ context.Context, req actions.Request) (any, error) {
		return map[string]any{"status": 200.0, "body": strings.Repeat("x", 100_000)}, nil
	}
	h := newRecordsHarness(t, map[string]actions.Handler{actions.HTTPRequest: big})
	h.run(load(t, `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: big}
spec:
  steps:
    - {name: call, action: http.request, with: {url: "http://example.invalid/"}}
    - name: read
      when: size(steps.call.output.body) == 100000
      action: log
      with: {message: read it all}
`), nil, false)
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	st := h.state()
	out, _ := stepByName(st, "call").Output.(map[string]any)
	if out[runwire.TruncatedKey] != true || out["bytes"] == nil || out["preview"] == nil {
		t.Errorf("output recorded as %.200v", stepByName(st, "call").Output)
	}
	if stepByName(st, "read").Status != runwire.StepSucceeded {
		t.Errorf("the guard did not see the whole output: %+v", stepByName(st, "read").Decision)
	}
	if b, _ := json.Marshal(st); len(b) > 32<<10 {
		t.Errorf("the record is %d bytes", len(b))
	}
}

// TestSlackNotifierGetsTrimmedView: the run's Slack message is sent a
// trimmed view of the run, not its whole state.
func TestSlackNotifierGetsTrimmedView(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	var leaked []string
	message := func(_ context.Context, req actions.Request) (any, error) {
		b, _ := json.Marshal(req.With["state"])
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(b))
		for _, s := range []string{"xxxxxxxxxx", "s3cret"} {
			if strings.Contains(string(b), s) {
				leaked = append(leaked, s)
			}
		}
		return map[string]any{"channel": "C1", "ts": "1.1"}, nil
	}
	big := func(_ context.Context, req actions.Request) (any, error) {
		return map[string]any{"status": 200.0, "body": strings.Repeat("x", 6000)}, nil
	}
	h := newRecordsHarness(t, map[string]actions.Handler{actions.HTTPRequest: big, actions.SlackRunMessage: message})
	h.run(load(t, `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: noisy}
spec:
  notify: {slack: {channel: "#ops"}}
  params:
    - {name: apiToken, type: string, default: s3cret}
  steps:
    - {name: a, action: http.request, with: {url: "http://example.invalid/a"}}
    - {name: b, action: http.request, with: {url: "http://example.invalid/b"}}
    - {name: c, action: http.request, with: {url: "http://example.invalid/c"}}
`), nil, false)
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sizes) == 0 {
		t.Fatal("the notifier never ran")
	}
	for _, n := range sizes {
		if n > 4<<10 {
			t.Errorf("the notifier was sent %d bytes", n)
		}
	}
	if len(leaked) > 0 {
		t.Errorf("the notifier was sent %v", leaked)
	}
}

// TestRefusalsBounded: refused approvals are recorded through an update
// whose validator turns repeats and those beyond the bound away, so they
// never reach the history; the run goes on as before.
func TestRefusalsBounded(t *testing.T) {
	h := newRecordsHarness(t, nil)
	var mu sync.Mutex
	accepted, rejected := 0, 0
	refuse := func(by string) {
		h.UpdateWorkflow(names.AccessUpdate, "", &testsuite.TestUpdateCallback{
			OnAccept:   func() { mu.Lock(); accepted++; mu.Unlock() },
			OnReject:   func(error) { mu.Lock(); rejected++; mu.Unlock() },
			OnComplete: func(any, error) {},
		}, runwire.AccessDecision{At: recordsStart, By: by, Source: "api", Action: "approve ok", Reason: by + " may not decide step \"ok\""})
	}
	h.RegisterDelayedCallback(func() {
		for i := range 150 {
			refuse(fmt.Sprintf("user-%d", i))
		}
		for range 50 {
			refuse("user-1")
		}
	}, time.Minute)
	h.approve(2*time.Minute, runwire.ApprovalRequest{Step: "ok", Approve: true, By: "alice"}, nil)
	h.run(approvingRunbook(t, "abort"), nil, false)
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if accepted != 100 || rejected != 100 {
		t.Errorf("%d refusals accepted, %d turned away; want 100 and 100", accepted, rejected)
	}
	st := h.state()
	if st.Status != runwire.StatusSucceeded || len(st.Access) > 50 {
		t.Errorf("run %s with %d access records", st.Status, len(st.Access))
	}
}

// TestAlertFloodContinuesAsNew: a flood of alerts into a run waiting for
// approval makes it continue as new with its record, its decisions and
// its deadline; the next execution goes on waiting and finishes the run.
func TestAlertFloodContinuesAsNew(t *testing.T) {
	h := newRecordsHarness(t, nil)
	h.RegisterDelayedCallback(func() {
		for i := range runbookwf.MaxEventsPerExecution + 20 {
			h.SignalWorkflow(names.AlertSignal, runwire.AlertSignal{Source: "alertmanager", ReceivedAt: recordsStart.Add(time.Minute),
				Alert: &runwire.Alert{Status: "firing", Fingerprint: fmt.Sprintf("fp-%d", i%3), Labels: map[string]string{"alertname": "Flood", "big": strings.Repeat("l", 5000)}}})
		}
	}, time.Minute)
	h.run(approvingRunbook(t, "abort"), nil, false)
	var cont *workflow.ContinueAsNewError
	if err := h.GetWorkflowError(); !errors.As(err, &cont) {
		t.Fatalf("the flooded run did not continue as new: %v", err)
	}
	var next runwire.RunInput
	if err := converter.GetDefaultDataConverter().FromPayloads(cont.Input, &next); err != nil {
		t.Fatal(err)
	}
	rs := next.Resume
	if rs == nil {
		t.Fatal("no resume in the next execution's input")
	}
	if rs.Step != 1 || rs.State.Generation != 1 || rs.Received < runbookwf.MaxEventsPerExecution {
		t.Fatalf("resume at step %d, generation %d, %d alerts received", rs.Step, rs.State.Generation, rs.Received)
	}
	if ok := rs.State.Steps[1]; ok.Status != runwire.StepWaitingApproval || ok.Approval == nil {
		t.Fatalf("approval step carried as %+v", ok)
	}
	if len(rs.State.Alerts) != 3 || rs.State.Alerts[0].Count < 100 || len(rs.State.Alerts[0].Labels["big"]) > runwire.MaxLabelBytes {
		t.Errorf("%d alert records carried; the first counts %d", len(rs.State.Alerts), rs.State.Alerts[0].Count)
	}
	if b, _ := json.Marshal(next); len(b) > 256<<10 {
		t.Errorf("the next execution's input is %d bytes", len(b))
	}

	// The next execution: nothing decided, so it times out at the
	// deadline the first one announced.
	h2 := newRecordsHarness(t, nil)
	h2.SetStartTime(recordsStart.Add(2 * time.Minute))
	h2.ExecuteWorkflow(names.RunbookWorkflow, next)
	st := h2.state()
	ok := stepByName(st, "ok")
	if st.Status != runwire.StatusFailed || ok.Approval.Decision != runwire.DecisionTimedOut || ok.FinishedAt.Sub(*ok.StartedAt) != 30*time.Minute {
		t.Errorf("resumed run %s, approval %+v (waited %s)", st.Status, ok.Approval, ok.FinishedAt.Sub(*ok.StartedAt))
	}
	if stepByName(st, "first").Status != runwire.StepRolledBack || len(h2.rec.Calls()) != 0 {
		t.Errorf("first %s, calls %v: the resumed run re-ran a step", stepByName(st, "first").Status, h2.rec.Calls())
	}

	// Approved in the next execution, the run finishes.
	h3 := newRecordsHarness(t, nil)
	h3.SetStartTime(recordsStart.Add(2 * time.Minute))
	h3.approve(time.Minute, runwire.ApprovalRequest{Step: "ok", Approve: true, By: "bob"}, nil)
	h3.ExecuteWorkflow(names.RunbookWorkflow, next)
	st = h3.state()
	if st.Status != runwire.StatusSucceeded || stepByName(st, "ok").Approval.By != "bob" || st.Generation != 1 {
		t.Errorf("resumed and approved: %s %+v", st.Status, stepByName(st, "ok").Approval)
	}
}

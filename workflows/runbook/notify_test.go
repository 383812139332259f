package runbook_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// slackRecorder stands in for Slack: it records every message update.
type slackRecorder struct {
	mu      sync.Mutex
	updates []map[string]any
	fail    int
}

func (s *slackRecorder) runMessage(ctx context.Context, req actions.Request) (actions.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail > 0 {
		s.fail--
		return actions.Result{}, errors.New("slack is down")
	}
	s.updates = append(s.updates, req.With)
	return actions.Result{Output: map[string]any{"channel": req.With["channel"], "ts": "1700000000.000100"}}, nil
}

func TestSlackMessageFollowsTheRun(t *testing.T) {
	h := newHarness(t)
	rec := &slackRecorder{fail: 2}
	h.RegisterActivityWithOptions(rec.runMessage, activity.RegisterOptions{Name: actions.SlackRunMessage})
	h.approve(time.Minute, runwire.ApprovalRequest{Step: "ok", Approve: true, By: "alice"}, nil)
	rb := approvingRunbook(t, "abort")
	resolved, _ := rb.ResolveParams(nil)
	h.ExecuteWorkflow(names.RunbookWorkflow, runwire.RunInput{
		ID: "runbook:approving:1", Runbook: rb, Params: resolved, Trigger: runwire.TriggerSlack, RequestedBy: "U1",
		Notify: &runwire.Notify{SlackChannel: "C123"},
	})
	if err := h.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(rec.updates) < 3 {
		t.Fatalf("only %d message updates", len(rec.updates))
	}
	first, last := rec.updates[0], rec.updates[len(rec.updates)-1]
	if first["ts"] != "" || first["channel"] != "C123" {
		t.Errorf("first update should post to C123: %v", first)
	}
	if last["ts"] != "1700000000.000100" {
		t.Errorf("later updates must edit the same message: %v", last["ts"])
	}
	final := last["state"].(map[string]any)
	if final["status"] != runwire.StatusSucceeded {
		t.Errorf("last message shows %v, want the finished run", final["status"])
	}
	sawWaiting := false
	for _, u := range rec.updates {
		if u["state"].(map[string]any)["status"] == runwire.StatusWaitingApproval {
			sawWaiting = true
		}
	}
	if !sawWaiting {
		t.Error("no message showed the approval wait")
	}
}

func TestSlackOutageNeverFailsTheRun(t *testing.T) {
	h := newHarness(t)
	rec := &slackRecorder{fail: 1000}
	h.RegisterActivityWithOptions(rec.runMessage, activity.RegisterOptions{Name: actions.SlackRunMessage})
	rb := load(t, guarded)
	resolved, _ := rb.ResolveParams(nil)
	h.ExecuteWorkflow(names.RunbookWorkflow, runwire.RunInput{ID: "runbook:guarded:1", Runbook: rb, Params: resolved,
		Notify: &runwire.Notify{SlackChannel: "C1"}})
	if err := h.GetWorkflowError(); err != nil {
		t.Fatalf("a Slack outage failed the run: %v", err)
	}
	if h.state().Status != runwire.StatusSucceeded {
		t.Fatal("run did not succeed")
	}
}

// Package runtest holds run records for tests of the packages that render
// or post them, so they all look at the same run.
package runtest

import (
	"time"

	"github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// WaitingApproval is a run of hello-world waiting for approval of its
// third step, with a guard decision on the second.
func WaitingApproval() *run.RunState {
	t0 := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(400*time.Millisecond), t0.Add(2*time.Second)
	return &run.RunState{
		ID: "runbook:hello-world:ops", Runbook: "hello-world", Status: run.StatusWaitingApproval,
		Trigger: "slack", RequestedBy: "U0REQUEST", StartedAt: t0,
		Params: map[string]any{"name": "ops", "times": 5},
		Steps: []run.StepState{
			{Name: "greet", Kind: "action", Action: "log", Status: run.StepSucceeded, StartedAt: &t0, FinishedAt: &t1, Attempts: 1},
			{Name: "shout", Kind: "action", Action: "log", Status: run.StepSucceeded, StartedAt: &t1, FinishedAt: &t2,
				Decision: &run.Decision{Expression: "params.times > 1", Result: true, Reason: "when: params.times > 1 is true"}},
			{Name: "confirm", Kind: "approval", Status: run.StepWaitingApproval, StartedAt: &t2,
				Approval: &run.ApprovalState{Message: "Greet ops more than three times?", Timeout: "15m", OnTimeout: "abort", Deadline: t2.Add(15 * time.Minute)}},
			{Name: "settle", Kind: "wait", Status: run.StepPending},
			{Name: "farewell", Kind: "action", Action: "log", Status: run.StepPending},
		},
	}
}

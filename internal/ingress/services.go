package ingress

import (
	"context"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/runbooks"
	"github.com/firebreak-ops/firebreak/workflows"
)

// Runs is what the API needs of runs.
type Runs interface {
	Runbooks() []runbooks.Summary
	StartRun(ctx context.Context, req runs.StartRequest) (*runs.Ref, error)
	ListRuns(ctx context.Context, f runs.Filter) ([]runs.Summary, error)
	GetRun(ctx context.Context, id, runID string) (*workflows.RunState, error)
	Approve(ctx context.Context, id string, req workflows.ApprovalRequest) (*workflows.ApprovalState, error)
	Cancel(ctx context.Context, id string, p *access.Principal) error
	// Ready reports whether Temporal answers and a worker polls.
	Ready(ctx context.Context) error
}

// Automation is what the API needs of the kill switch and circuit breaker.
type Automation interface {
	AutomationState(ctx context.Context) (*workflows.AutomationState, error)
	Pause(ctx context.Context, req workflows.SwitchRequest) (*workflows.AutomationState, error)
	Resume(ctx context.Context, req workflows.SwitchRequest) (*workflows.AutomationState, error)
}

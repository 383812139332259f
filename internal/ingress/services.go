package ingress

import (
	"context"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/runbooks"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Runs is what the API needs of runs.
type Runs interface {
	Runbooks() []runbooks.Summary
	StartRun(ctx context.Context, req runs.StartRequest) (*runs.Ref, error)
	ListRuns(ctx context.Context, f runs.Filter) ([]runs.Summary, error)
	GetRun(ctx context.Context, id, runID string) (*runwire.RunState, error)
	Approve(ctx context.Context, id string, req runwire.ApprovalRequest) (*runwire.ApprovalState, error)
	Cancel(ctx context.Context, id string, p *access.Principal) error
	Retry(ctx context.Context, id string, req runs.RetryRequest) (*runs.RetryResult, error)
	Rerun(ctx context.Context, id string, req runs.RerunRequest) (*runs.Ref, error)
	// Ready reports whether Temporal answers and a worker polls.
	Ready(ctx context.Context) error
}

// Automation is what the API needs of the kill switch and circuit breaker.
type Automation interface {
	AutomationState(ctx context.Context) (*automationwire.AutomationState, error)
	Pause(ctx context.Context, req automationwire.SwitchRequest) (*automationwire.AutomationState, error)
	Resume(ctx context.Context, req automationwire.SwitchRequest) (*automationwire.AutomationState, error)
}

package ingress

import (
	"context"
	"time"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/audit"
	"github.com/firebreak-ops/firebreak/internal/chaos"
	"github.com/firebreak-ops/firebreak/internal/incidents"
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

// Incidents is what the API needs of incidents.
type Incidents interface {
	DeclareIncident(ctx context.Context, req workflows.DeclareRequest, key string) (*workflows.Incident, error)
	ListIncidents(ctx context.Context, f incidents.Filter) ([]workflows.IncidentSummary, error)
	GetIncident(ctx context.Context, id string) (*workflows.Incident, error)
	IncidentCommand(ctx context.Context, id string, cmd workflows.IncidentCommand) (*workflows.Incident, error)
	IncidentPostmortem(ctx context.Context, id string) (*workflows.PostmortemResult, error)
}

// Chaos is what the API needs of experiments, the halt switch and game
// days.
type Chaos interface {
	ExperimentList() []experiments.Summary
	StartExperiment(ctx context.Context, req chaos.ExperimentRequest) (*chaos.ExperimentRef, error)
	GetExperimentRun(ctx context.Context, id string) (*workflows.ExperimentState, error)
	ExperimentReport(ctx context.Context, id string) (string, error)
	ExperimentChart(ctx context.Context, id string) (string, error)
	AbortExperiment(ctx context.Context, id string, h workflows.ChaosHalt) error
	ChaosState(ctx context.Context) (*workflows.ChaosState, error)
	HaltChaos(ctx context.Context, h workflows.ChaosHalt) (*workflows.ChaosState, error)
	ResumeChaos(ctx context.Context, h workflows.ChaosHalt) (*workflows.ChaosState, error)
	ListGameDays(ctx context.Context) ([]chaos.GameDaySummary, error)
	GameDayControl(ctx context.Context, name, op, by, note string) (*chaos.GameDaySummary, error)
	GetGameDayRun(ctx context.Context, id string) (*workflows.GameDayState, error)
	GameDayReport(ctx context.Context, id string) (string, error)
}

// Auditor is what the API needs of the audit export.
type Auditor interface {
	Audit(ctx context.Context, since time.Time) ([]audit.Record, error)
}

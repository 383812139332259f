package workflows

import (
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	experiments "github.com/firebreak-ops/firebreak/experiments/plan"
)

// Experiment statuses and verdicts.
const (
	ExperimentRunning   = "running"
	ExperimentCompleted = "completed"

	VerdictPassed         = "passed"
	VerdictFailed         = "failed"
	VerdictAborted        = "aborted"
	VerdictNotRun         = "not_run"
	VerdictNeedsAttention = "needs_attention"
)

// Experiment phases, in the order they run.
const (
	PhasePreconditions = "preconditions"
	PhaseSteadyBefore  = "steady-state-before"
	PhaseRollbackArmed = "rollback-armed"
	PhaseInject        = "inject"
	PhaseBlastRadius   = "blast-radius"
	PhaseObserve       = "observe"
	PhaseRollback      = "rollback"
	PhaseEscalate      = "escalate"
	PhaseSteadyAfter   = "steady-state-after"
	PhaseReport        = "report"
)

// Probe sample phases.
const (
	SampleBefore = "before"
	SampleDuring = "during"
	SampleAfter  = "after"
)

// ExperimentInput starts an experiment run.
type ExperimentInput struct {
	Experiment  *experiments.Experiment `json:"experiment"`
	DryRun      bool                    `json:"dryRun,omitempty"`
	RequestedBy string                  `json:"requestedBy,omitempty"`
	// GameDay names the game day run this experiment belongs to, if any.
	GameDay string `json:"gameDay,omitempty"`
	// Escalation says where a fault that will not go away is reported.
	Escalation Escalation `json:"escalation"`
	// Namespace is where the Chaos Mesh resource is created (default: the
	// first target namespace).
	Namespace string `json:"namespace,omitempty"`
}

// Escalation configures how a stuck rollback is reported.
type Escalation struct {
	// SlackChannel receives the escalation and the report (the
	// experiment's own notify channel wins).
	SlackChannel string `json:"slackChannel,omitempty"`
	// Page triggers a PagerDuty alert through the configured routing key.
	Page bool `json:"page,omitempty"`
}

// Phase is one step of an experiment run as it happened.
type Phase struct {
	Name   string     `json:"name"`
	Status string     `json:"status"` // running, ok, failed, skipped
	At     time.Time  `json:"at"`
	Ended  *time.Time `json:"ended,omitempty"`
	Detail string     `json:"detail,omitempty"`
}

// ProbeSample is one probe reading.
type ProbeSample struct {
	At    time.Time `json:"at"`
	Phase string    `json:"phase"`
	// Value is a number for Prometheus probes, {status, ok, latencyMs} for
	// HTTP and the object for Kubernetes; nil with Error when it failed.
	Value any    `json:"value,omitempty"`
	Error string `json:"error,omitempty"`
}

// Check records one condition evaluated during a run.
type Check struct {
	Phase  string         `json:"phase"`
	Expr   string         `json:"expr"`
	Result bool           `json:"result"`
	Inputs map[string]any `json:"inputs,omitempty"`
	Error  string         `json:"error,omitempty"`
	At     time.Time      `json:"at"`
}

// ExperimentState is an experiment run as the status query reports it.
type ExperimentState struct {
	ID          string                   `json:"id"`
	Experiment  string                   `json:"experiment"`
	Status      string                   `json:"status"`
	Verdict     string                   `json:"verdict,omitempty"`
	Reason      string                   `json:"reason,omitempty"`
	DryRun      bool                     `json:"dryRun,omitempty"`
	GameDay     string                   `json:"gameDay,omitempty"`
	RequestedBy string                   `json:"requestedBy,omitempty"`
	Fault       string                   `json:"fault"`
	Object      *actions.ChaosObject     `json:"object,omitempty"`
	Manifest    string                   `json:"manifest,omitempty"`
	Phases      []Phase                  `json:"phases"`
	Probes      map[string][]ProbeSample `json:"probes"`
	Checks      []Check                  `json:"checks,omitempty"`
	Targets     []actions.ChaosRecord    `json:"targets"`
	StartedAt   time.Time                `json:"startedAt"`
	InjectedAt  *time.Time               `json:"injectedAt,omitempty"`
	RecoveredAt *time.Time               `json:"recoveredAt,omitempty"`
	EndedAt     *time.Time               `json:"endedAt,omitempty"`
	HaltedBy    string                   `json:"haltedBy,omitempty"`
	Error       string                   `json:"error,omitempty"`
	Weight      int                      `json:"weight"`
}

// ChaosState is the chaos workflow's state: the halt switch and the
// experiments running now.
type ChaosState struct {
	Halted  bool       `json:"halted"`
	Reason  string     `json:"reason,omitempty"`
	By      string     `json:"by,omitempty"`
	At      *time.Time `json:"at,omitempty"`
	Running []string   `json:"running"`
	// Halts counts halts since the workflow first started.
	Halts int64 `json:"halts"`
}

// ExperimentRef names an experiment run in signals to the chaos workflow.
type ExperimentRef struct {
	ID string `json:"id"`
}

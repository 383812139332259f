package chaos

import (
	"strconv"
	"strings"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/names"
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
	Experiment  *plan.Experiment `json:"experiment"`
	DryRun      bool             `json:"dryRun,omitempty"`
	RequestedBy string           `json:"requestedBy,omitempty"`
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

// ChaosResourceName is the name of the Chaos Mesh resource of a run:
// fb-<experiment>-<suffix>, within Kubernetes' 63 characters.
func ChaosResourceName(runID string) string {
	name := "fb-" + names.ExperimentOf(runID) + "-" + RunLabel(runID)
	if len(name) > 63 {
		name = name[:63]
	}
	return strings.TrimRight(name, "-")
}

// RunLabel is the run's label value: the random suffix of its ID.
func RunLabel(runID string) string {
	i := strings.LastIndexByte(runID, ':')
	s := strings.ToLower(runID[i+1:])
	var b strings.Builder
	for _, c := range s {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' {
			b.WriteRune(c)
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 40 {
		out = out[:40]
	}
	return out
}

// ExperimentSummary is a short text report of a finished run.
func ExperimentSummary(st *ExperimentState) string {
	icon := map[string]string{VerdictPassed: ":white_check_mark:", VerdictFailed: ":x:", VerdictAborted: ":octagonal_sign:",
		VerdictNotRun: ":fast_forward:", VerdictNeedsAttention: ":rotating_light:"}[st.Verdict]
	out := icon + " Chaos experiment *" + st.Experiment + "*: *" + st.Verdict + "*"
	if st.DryRun {
		out += " (dry run)"
	}
	if st.Reason != "" {
		out += "\n" + st.Reason
	}
	return out + "\n" + strconv.Itoa(len(st.Targets)) + " target(s) · run " + st.ID
}

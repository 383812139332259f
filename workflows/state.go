package workflows

import (
	"time"

	"github.com/firebreak-ops/firebreak/runbooks"
)

// Run statuses.
const (
	StatusRunning         = "running"
	StatusWaitingApproval = "waiting_approval"
	StatusSucceeded       = "succeeded"
	StatusFailed          = "failed"
	StatusCancelled       = "cancelled"
)

// Step statuses.
const (
	StepPending         = "pending"
	StepRunning         = "running"
	StepWaitingApproval = "waiting_approval"
	StepSucceeded       = "succeeded"
	StepFailed          = "failed"
	StepSkipped         = "skipped"
	StepRolledBack      = "rolled_back"
)

// Approval decisions.
const (
	DecisionApproved = "approved"
	DecisionDenied   = "denied"
	DecisionTimedOut = "timed_out"
)

// Triggers say what started a run.
const (
	TriggerAPI = "api"
	TriggerCLI = "cli"
)

// RunInput starts a runbook run. The runbook travels whole, so the run's
// history holds exactly what it executed, whatever the catalog says later.
type RunInput struct {
	ID          string           `json:"id"`
	Runbook     runbooks.Runbook `json:"runbook"`
	Params      map[string]any   `json:"params"`
	Key         string           `json:"key,omitempty"`
	DryRun      bool             `json:"dryRun,omitempty"`
	Trigger     string           `json:"trigger"`
	RequestedBy string           `json:"requestedBy,omitempty"`
}

// RunState is what the status query returns and what a finished run leaves.
type RunState struct {
	ID          string         `json:"id"`
	Runbook     string         `json:"runbook"`
	Status      string         `json:"status"`
	DryRun      bool           `json:"dryRun,omitempty"`
	Trigger     string         `json:"trigger,omitempty"`
	RequestedBy string         `json:"requestedBy,omitempty"`
	Key         string         `json:"key,omitempty"`
	Params      map[string]any `json:"params"`
	StartedAt   time.Time      `json:"startedAt"`
	FinishedAt  *time.Time     `json:"finishedAt,omitempty"`
	Steps       []StepState    `json:"steps"`
	Rollback    []StepState    `json:"rollback,omitempty"`
	Error       string         `json:"error,omitempty"`
}

// Done reports whether the run has finished.
func (s *RunState) Done() bool {
	switch s.Status {
	case StatusSucceeded, StatusFailed, StatusCancelled:
		return true
	}
	return false
}

// StepState is one step's progress and record.
type StepState struct {
	Name       string         `json:"name"`
	Kind       string         `json:"kind"`
	Action     string         `json:"action,omitempty"`
	For        string         `json:"for,omitempty"`
	Status     string         `json:"status"`
	StartedAt  *time.Time     `json:"startedAt,omitempty"`
	FinishedAt *time.Time     `json:"finishedAt,omitempty"`
	Attempts   int            `json:"attempts,omitempty"`
	With       map[string]any `json:"with,omitempty"`
	Output     any            `json:"output,omitempty"`
	Error      string         `json:"error,omitempty"`
	Decision   *Decision      `json:"decision,omitempty"`
	Approval   *ApprovalState `json:"approval,omitempty"`
}

// Decision records a guard: the expression, what it gave, the values it
// read, and in words why the step ran or not.
type Decision struct {
	Expression string         `json:"expression"`
	Result     bool           `json:"result"`
	Inputs     map[string]any `json:"inputs,omitempty"`
	Reason     string         `json:"reason,omitempty"`
}

// ApprovalState is an approval step's request and outcome.
type ApprovalState struct {
	Message   string     `json:"message,omitempty"`
	Approvers []string   `json:"approvers,omitempty"`
	Timeout   string     `json:"timeout"`
	OnTimeout string     `json:"onTimeout"`
	Deadline  time.Time  `json:"deadline"`
	Decision  string     `json:"decision,omitempty"`
	By        string     `json:"by,omitempty"`
	Comment   string     `json:"comment,omitempty"`
	At        *time.Time `json:"at,omitempty"`
}

// ApprovalRequest is the argument of the approve update.
type ApprovalRequest struct {
	Step    string `json:"step"`
	Approve bool   `json:"approve"`
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"`
}

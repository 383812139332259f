// Package names holds every name Firebreak and Temporal must agree on: task
// queues, workflow types, update and query names, search attributes and the
// helpers that build workflow IDs.
package names

import (
	"strings"
)

// TaskQueue is the task queue every Firebreak worker polls.
const TaskQueue = "firebreak"

// Workflow types.
const (
	RunbookWorkflow = "RunbookWorkflow"
)

// Updates, queries and signals of runbook runs.
const (
	// ApproveUpdate decides an approval step.
	ApproveUpdate = "approve"
	// AccessUpdate records a refused attempt in a run's record. Its
	// validator turns away repeats and refusals beyond the run's bound,
	// so they never reach the history.
	AccessUpdate = "record-access"
	// StatusQuery returns the run's state.
	StatusQuery = "status"
)

// Search attributes Firebreak registers and sets on every run.
const (
	SARunbook = "FirebreakRunbook"
	SAStatus  = "FirebreakStatus"
	SATrigger = "FirebreakTrigger"
	SAKey     = "FirebreakKey"
	SADryRun  = "FirebreakDryRun"
)

// KeywordAttributes lists the keyword search attributes; DryRun is a bool.
var KeywordAttributes = []string{SARunbook, SAStatus, SATrigger, SAKey}

const runPrefix = "runbook:"

// RunWorkflowID returns the workflow ID of a runbook run,
// runbook:<name>:<key>. The key is the run's concurrency key, so Temporal
// itself allows one open run per key; a run without one gets a random key
// from its caller (internal/ids).
func RunWorkflowID(runbook, key string) string {
	return runPrefix + runbook + ":" + key
}

// IsRunWorkflowID reports whether id looks like a runbook run's ID.
func IsRunWorkflowID(id string) bool {
	return strings.HasPrefix(id, runPrefix) && strings.Count(id, ":") >= 2
}

// RunbookOf returns the runbook name in a run's workflow ID.
func RunbookOf(id string) string {
	rest := strings.TrimPrefix(id, runPrefix)
	name, _, _ := strings.Cut(rest, ":")
	return name
}

// Signals.
const (
	// AlertSignal delivers an alert or event to a run.
	AlertSignal = "alert"
	// RunFinishedSignal tells the automation workflow an automatic run ended.
	RunFinishedSignal = "run-finished"
	// SuppressedSignal records automatic runs that were held back.
	SuppressedSignal = "suppressed"
	// AccessSignal recorded a refused attempt in a run's record; runs
	// still take it (from an older API) but refusals now come as
	// AccessUpdate.
	AccessSignal = "access"
)

// The automation workflow: one per namespace, holding the kill switch, the
// circuit breaker and the record of suppressed alerts.
const (
	AutomationWorkflow   = "AutomationWorkflow"
	AutomationWorkflowID = "firebreak:automation"
	AutomationQuery      = "state"
	PauseUpdate          = "pause"
	ResumeUpdate         = "resume"
)

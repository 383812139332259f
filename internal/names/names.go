// Package names holds every name Firebreak and Temporal must agree on: task
// queues, workflow types, update and query names, search attributes and the
// helpers that build workflow IDs.
package names

import (
	"strings"

	"github.com/google/uuid"
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

// RunWorkflowID returns the workflow ID of a runbook run: with a
// concurrency key it is runbook:<name>:<key>, so Temporal itself allows one
// open run per key; without one it is runbook:<name>:<random suffix>.
func RunWorkflowID(runbook, key string) string {
	if key == "" {
		key = NewSuffix()
	}
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

// NewSuffix returns 10 random lower-case base32 characters, for IDs the
// API and CLI start runs under. Workflows never call it (nor the ID
// helpers given an empty suffix): their IDs come from their input.
func NewSuffix() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	// A version 4 UUID's bytes 6 and 8 carry its version and variant; the
	// other 14 are random.
	u := uuid.New()
	b := make([]byte, 0, 10)
	for i, c := range u {
		if i != 6 && i != 8 && len(b) < 10 {
			b = append(b, alphabet[int(c)%len(alphabet)])
		}
	}
	return string(b)
}

// Signals.
const (
	// AlertSignal delivers an alert or event to a run.
	AlertSignal = "alert"
	// RunFinishedSignal tells the automation workflow an automatic run ended.
	RunFinishedSignal = "run-finished"
	// SuppressedSignal records automatic runs that were held back.
	SuppressedSignal = "suppressed"
	// AccessSignal records a refused attempt in a run's record.
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

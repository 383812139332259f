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
	// SARunName is the run's own short name (see RunName): unique per
	// run, where the workflow ID (the concurrency key) is shared by every
	// run of the same key.
	SARunName = "FirebreakRunName"
)

// KeywordAttributes lists the keyword search attributes; DryRun is a bool.
var KeywordAttributes = []string{SARunbook, SAStatus, SATrigger, SAKey, SARunName}

const (
	runPrefix    = "runbook:"
	dryRunPrefix = "dryrun:"
	// runNamePrefix starts every run name.
	runNamePrefix = "run-"
	// stepActivityPrefix and rollbackActivityPrefix start the activity
	// IDs of steps and rollback steps.
	stepActivityPrefix     = "step:"
	rollbackActivityPrefix = "rollback:"
)

// RunName returns a run's short name, run-<suffix>, with a random suffix
// from its caller (internal/ids). Every command, API route and Slack
// command takes it wherever it takes a run's workflow ID; it names one run
// (a retried run keeps it), while the workflow ID names every run of a
// concurrency key.
func RunName(suffix string) string { return runNamePrefix + suffix }

// IsRunName reports whether s looks like a run name: run- and 4 to 32
// lower-case letters and digits.
func IsRunName(s string) bool {
	rest, ok := strings.CutPrefix(s, runNamePrefix)
	if !ok || len(rest) < 4 || len(rest) > 32 {
		return false
	}
	for _, c := range rest {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// StepActivityID is the activity ID of a step's action: the same in
// every run, so a step maps to the workflow task that scheduled it (what
// a retry resets to). Rollback steps have IDs of their own.
func StepActivityID(step string, rollback bool) string {
	if rollback {
		return rollbackActivityPrefix + step
	}
	return stepActivityPrefix + step
}

// RunWorkflowID returns the workflow ID of a runbook run,
// runbook:<name>:<key>. The key is the run's concurrency key, so Temporal
// itself allows one open run per key; a run without one gets a random key
// from its caller (internal/ids).
func RunWorkflowID(runbook, key string) string {
	return runPrefix + runbook + ":" + key
}

// DryRunWorkflowID returns the workflow ID of a dry run,
// dryrun:<name>:<suffix>, with a random suffix from its caller
// (internal/ids). Dry runs have an ID space of their own: a dry run never
// holds the ID a real run of its target needs (the target's lock), and
// alerts, which are routed to runbook:<name>:<key>, never reach one.
func DryRunWorkflowID(runbook, suffix string) string {
	return dryRunPrefix + runbook + ":" + suffix
}

// IsRunWorkflowID reports whether id looks like a runbook run's ID, real
// or dry.
func IsRunWorkflowID(id string) bool {
	return (strings.HasPrefix(id, runPrefix) || strings.HasPrefix(id, dryRunPrefix)) && strings.Count(id, ":") >= 2
}

// IsDryRunWorkflowID reports whether id is a dry run's ID.
func IsDryRunWorkflowID(id string) bool {
	return strings.HasPrefix(id, dryRunPrefix) && strings.Count(id, ":") >= 2
}

// RunbookOf returns the runbook name in a run's workflow ID.
func RunbookOf(id string) string {
	rest, ok := strings.CutPrefix(id, runPrefix)
	if !ok {
		rest = strings.TrimPrefix(id, dryRunPrefix)
	}
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
	// RetrySignal tells a run who retried it, from which step and why.
	// The retry sends it as a post-reset operation, so it is in the new
	// run's history before its first workflow task.
	RetrySignal = "retried"
)

// The automation workflow: one per namespace, holding the kill switch, the
// circuit breaker and the record of suppressed alerts.
const (
	AutomationWorkflow   = "AutomationWorkflow"
	AutomationWorkflowID = "firebreak:automation"
	AutomationQuery      = "state"
	// HoldingMemo is the automation workflow's memo field that says why
	// automatic starts are held back ("" when they are not), readable
	// with DescribeWorkflowExecution without a worker.
	HoldingMemo  = "holding"
	PauseUpdate  = "pause"
	ResumeUpdate = "resume"
)

// The delivery ledger: one workflow per namespace remembering which
// webhook deliveries (PagerDuty events, by ID) were taken, so a delivery
// replayed later is not taken again.
const (
	DeliveryLedgerWorkflow   = "DeliveryLedgerWorkflow"
	DeliveryLedgerWorkflowID = "firebreak:webhook-deliveries"
	ClaimDeliveryUpdate      = "claim-delivery"
	SettleDeliveryUpdate     = "settle-delivery"
	DeliveryLedgerQuery      = "state"
)

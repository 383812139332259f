// Package run holds the wire types of runbook runs: the input, the state
// the status query returns, steps, approvals, alerts and access decisions,
// the statuses and error types, and small pure helpers on them. It holds no
// workflow code: activities, services and ingress import it without the
// workflows.
package run

import (
	"slices"
	"strings"
	"time"

	"github.com/firebreak-ops/firebreak/runbooks"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
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

// StepIcons are the one-character marks every view of a run uses.
var StepIcons = map[string]string{
	StepPending:         "·",
	StepRunning:         "▶",
	StepWaitingApproval: "⏸",
	StepSucceeded:       "✓",
	StepFailed:          "✗",
	StepSkipped:         "↷",
	StepRolledBack:      "↺",
}

// Approval decisions.
const (
	DecisionApproved = "approved"
	DecisionDenied   = "denied"
	DecisionTimedOut = "timed_out"
)

// Triggers say what started a run.
const (
	TriggerAPI   = "api"
	TriggerCLI   = "cli"
	TriggerSlack = "slack"
)

// RunInput starts a runbook run. The runbook travels whole, so the run's
// history holds exactly what it executed, whatever the catalog says later.
type RunInput struct {
	ID string `json:"id"`
	// Name is the run's short name (names.RunName), unique per run; runs
	// started before names existed have none.
	Name        string           `json:"name,omitempty"`
	Runbook     runbooks.Runbook `json:"runbook"`
	Params      map[string]any   `json:"params"`
	Key         string           `json:"key,omitempty"`
	DryRun      bool             `json:"dryRun,omitempty"`
	Trigger     string           `json:"trigger"`
	RequestedBy string           `json:"requestedBy,omitempty"`
	Notify      *Notify          `json:"notify,omitempty"`
	// Incident links the run to an incident: its steps, decisions and
	// approvals go into the incident's timeline.
	Incident string `json:"incident,omitempty"`
	// Resume is set when the run continues as new.
	Resume *Resume `json:"resume,omitempty"`
}

// Notify says where a run reports as it goes.
type Notify struct {
	SlackChannel string `json:"slackChannel,omitempty"`
}

// SlackMessage is the one Slack message a run keeps up to date.
type SlackMessage struct {
	Channel string `json:"channel"`
	TS      string `json:"ts,omitempty"`
}

// RunState is what the status query returns and what a finished run leaves.
type RunState struct {
	ID string `json:"id"`
	// Name is the run's short name, accepted wherever its ID is.
	Name        string         `json:"name,omitempty"`
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
	Alerts      []AlertRecord  `json:"alerts,omitempty"`
	Slack       *SlackMessage  `json:"slack,omitempty"`
	// Incident is the incident the run reports into.
	Incident string `json:"incident,omitempty"`
	// Access records refused attempts to decide this run's approvals.
	Access []AccessDecision `json:"access,omitempty"`
	Error  string           `json:"error,omitempty"`
	// Generation counts the times the run continued as new (a flood of
	// alerts or a long history).
	Generation int `json:"generation,omitempty"`
	// Retries records each retry of the run: who, when, from which step
	// and why.
	Retries []RetryRecord `json:"retries,omitempty"`
}

// RetryRecord is one retry of a run, as the RetrySignal delivers it and
// the record keeps it.
type RetryRecord struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Source string    `json:"source,omitempty"`
	// From is the step the run went on from; the steps before it kept
	// their outcome from the history.
	From   string `json:"from"`
	Reason string `json:"reason,omitempty"`
	// RequestID is the reset's request ID: a repeated request (a double
	// click) is the same retry.
	RequestID string `json:"requestId,omitempty"`
	// BaseRunID is the Temporal run that was reset, RunID the one the
	// reset made (which this record is sent to).
	BaseRunID string `json:"baseRunId,omitempty"`
	RunID     string `json:"runId,omitempty"`
}

// AccessDecision records who tried what, and whether it was allowed.
type AccessDecision struct {
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	Source  string    `json:"source,omitempty"`
	Action  string    `json:"action"`
	Allowed bool      `json:"allowed"`
	Reason  string    `json:"reason,omitempty"`
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
	Message   string   `json:"message,omitempty"`
	Approvers []string `json:"approvers,omitempty"`
	// SeparateApprover: the requester may not approve.
	SeparateApprover bool       `json:"separateApprover,omitempty"`
	Timeout          string     `json:"timeout"`
	OnTimeout        string     `json:"onTimeout"`
	Deadline         time.Time  `json:"deadline"`
	Decision         string     `json:"decision,omitempty"`
	By               string     `json:"by,omitempty"`
	Comment          string     `json:"comment,omitempty"`
	At               *time.Time `json:"at,omitempty"`
}

// ApprovalRequest is the argument of the approve update.
type ApprovalRequest struct {
	Step    string `json:"step"`
	Approve bool   `json:"approve"`
	By      string `json:"by"`
	Comment string `json:"comment,omitempty"`
	// Groups are the decider's user groups, as the transport resolved them.
	Groups []string `json:"groups,omitempty"`
	// Source is the transport: "slack", or "api" (the default).
	Source string `json:"source,omitempty"`
	// Operator is set by the API, never taken from a request body: the
	// decider used the operator token (or authentication is off), the only
	// one who may decide a step that lists no approvers.
	Operator bool `json:"operator,omitempty"`
}

// Sources of approvals and runs.
const (
	SourceAPI   = "api"
	SourceSlack = "slack"
)

// Automatic triggers.
const (
	TriggerAlertmanager = "alertmanager"
	TriggerPagerDuty    = "pagerduty"
)

// IsAutomatic reports whether a trigger is an alert or event rather than a
// person.
func IsAutomatic(trigger string) bool {
	return trigger == TriggerAlertmanager || trigger == TriggerPagerDuty
}

// Alert is one Alertmanager alert, as runs receive and record it.
type Alert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Fingerprint  string            `json:"fingerprint"`
}

// AlertSignal delivers an alert or a PagerDuty event to a run.
type AlertSignal struct {
	Source     string         `json:"source"`
	Alert      *Alert         `json:"alert,omitempty"`
	Event      map[string]any `json:"event,omitempty"`
	ReceivedAt time.Time      `json:"receivedAt"`
}

// AlertRecord is what a run keeps of the alerts and events it received:
// repeats of the same alert in the same status are counted, not listed.
type AlertRecord struct {
	Source      string            `json:"source"`
	Fingerprint string            `json:"fingerprint"`
	Status      string            `json:"status"`
	Labels      map[string]string `json:"labels,omitempty"`
	FirstAt     time.Time         `json:"firstAt"`
	LastAt      time.Time         `json:"lastAt"`
	Count       int               `json:"count"`
}

// RunFinished tells the automation workflow how an automatic run ended.
type RunFinished struct {
	ID      string    `json:"id"`
	Runbook string    `json:"runbook"`
	Key     string    `json:"key,omitempty"`
	Status  string    `json:"status"`
	Error   string    `json:"error,omitempty"`
	At      time.Time `json:"at"`
}

// Listed reports whether a principal (or one of its groups, written
// @handle in the list) is on a list.
func Listed(list []string, id string, groups []string) bool {
	if slices.Contains(list, id) {
		return true
	}
	for _, g := range groups {
		if slices.Contains(list, "@"+strings.TrimPrefix(g, "@")) {
			return true
		}
	}
	return false
}

// AlertVars is the CEL view of an alert; nil gives an empty alert, so
// expressions about alerts work (and are false) in runs started by hand.
func AlertVars(a *Alert) map[string]any {
	if a == nil {
		a = &Alert{}
	}
	labels := map[string]any{}
	//workflowcheck:ignore builds a map
	for k, v := range a.Labels {
		labels[k] = v
	}
	annotations := map[string]any{}
	//workflowcheck:ignore builds a map
	for k, v := range a.Annotations {
		annotations[k] = v
	}
	return map[string]any{
		"status":       a.Status,
		"labels":       labels,
		"annotations":  annotations,
		"startsAt":     a.StartsAt.UTC(),
		"endsAt":       a.EndsAt.UTC(),
		"fingerprint":  a.Fingerprint,
		"generatorURL": a.GeneratorURL,
	}
}

// Resume carries a run into its next workflow execution when it continues
// as new (a flood of alerts or a long history): the record so far, the
// step to go on with, and what its expressions and its incident reporter
// held. A run started by a caller never has one.
type Resume struct {
	State RunState `json:"state"`
	// Step is the index in State.Steps of the step to go on with: one
	// waiting for approval or in a wait resumes where it was; a pending
	// one starts.
	Step int `json:"step"`
	// Outputs are the whole outputs of steps whose record keeps only a
	// truncated view, for expressions (within a budget).
	Outputs map[string]any `json:"outputs,omitempty"`
	// Alert and Event are the last alert and event the run received.
	Alert *Alert         `json:"alert,omitempty"`
	Event map[string]any `json:"event,omitempty"`
	// Alerts are the latest state of each alert the run received (the
	// alerts variable), oldest first.
	Alerts []Alert `json:"alerts,omitempty"`
	// Received counts the alerts and events of every execution so far.
	Received int `json:"received,omitempty"`
	// Refusals counts the refusals recorded so far.
	Refusals int `json:"refusals,omitempty"`
	// Report is what the run still had to tell its incident.
	Report ReportState `json:"report"`
	// Generation counts the executions before this one.
	Generation int `json:"generation"`
}

// ReportState is a run's incident reporting carried across executions:
// the incident, the events not yet delivered, and the alerts so far (for
// an incident declared later).
type ReportState struct {
	Incident string                       `json:"incident,omitempty"`
	Outbox   []incidentwire.IncidentEvent `json:"outbox,omitempty"`
	Alerts   []incidentwire.IncidentAlert `json:"alerts,omitempty"`
}

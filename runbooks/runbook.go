// Package runbooks is the runbook format: YAML with positions in, a
// type-checked, compiled plan out. It has no Temporal and no network, so
// `firebreak validate`, the API and the workflows all use the same checks.
package runbooks

import (
	"github.com/firebreak-ops/firebreak/internal/source"
)

// Format identifiers.
const (
	APIVersion = "firebreak/v1"
	Kind       = "Runbook"
)

// Runbook is one runbook file as written.
type Runbook struct {
	APIVersion string           `yaml:"apiVersion" json:"apiVersion"`
	Kind       string           `yaml:"kind" json:"kind"`
	Metadata   Metadata         `yaml:"metadata" json:"metadata"`
	Spec       Spec             `yaml:"spec" json:"spec"`
	File       string           `yaml:"-" json:"-"`
	Pos        source.Positions `yaml:"-" json:"-"`
	invalid    bool
}

// Name returns metadata.name.
func (r *Runbook) Name() string { return r.Metadata.Name }

// Metadata names and describes a runbook.
type Metadata struct {
	Name        string            `yaml:"name" json:"name"`
	Description string            `yaml:"description" json:"description,omitempty"`
	Labels      map[string]string `yaml:"labels" json:"labels,omitempty"`
	Pos         source.Positions  `yaml:"-" json:"-"`
}

// Spec is what a runbook does.
type Spec struct {
	Params []Param `yaml:"params" json:"params,omitempty"`
	// Concurrency is a CEL string: at most one run per value at a time.
	Concurrency source.Expr `yaml:"concurrency" json:"concurrency,omitempty"`
	Steps       []Step      `yaml:"steps" json:"steps"`
	Rollback    []Step      `yaml:"rollback" json:"rollback,omitempty"`
	// Triggers start runs automatically from alerts and events.
	Triggers []Trigger `yaml:"triggers" json:"triggers,omitempty"`
	// Limits bound how often automatic runs may act on one key.
	Limits *Limits `yaml:"limits" json:"limits,omitempty"`
	// Access lists who may run the runbook for real and approve its steps.
	Access *Access `yaml:"access" json:"access,omitempty"`
	// Notify says where runs report as they go.
	Notify *source.Notify   `yaml:"notify" json:"notify,omitempty"`
	Pos    source.Positions `yaml:"-" json:"-"`
}

// Access lists principals: user names or IDs (Slack user IDs such as
// U024BE7LH) and user groups written @handle.
type Access struct {
	Run     []string         `yaml:"run" json:"run,omitempty"`
	Approve []string         `yaml:"approve" json:"approve,omitempty"`
	Pos     source.Positions `yaml:"-" json:"-"`
}

// Trigger starts a run when an alert or event matches. Exactly one source
// is set.
type Trigger struct {
	Alertmanager *Match           `yaml:"alertmanager" json:"alertmanager,omitempty"`
	PagerDuty    *Match           `yaml:"pagerduty" json:"pagerduty,omitempty"`
	Pos          source.Positions `yaml:"-" json:"-"`
}

// Trigger sources.
const (
	SourceAlertmanager = "alertmanager"
	SourcePagerDuty    = "pagerduty"
)

// Source names the trigger's source and returns its match.
func (t *Trigger) Source() (string, *Match) {
	if t.Alertmanager != nil {
		return SourceAlertmanager, t.Alertmanager
	}
	if t.PagerDuty != nil {
		return SourcePagerDuty, t.PagerDuty
	}
	return "", nil
}

// Match is a CEL condition over an alert (or event) and the CEL
// expressions that give the run's params from it.
type Match struct {
	Match  source.Expr            `yaml:"match" json:"match"`
	Params map[string]source.Expr `yaml:"params" json:"params,omitempty"`
	Pos    source.Positions       `yaml:"-" json:"-"`
}

// Limits bound automatic runs per runbook and concurrency key.
type Limits struct {
	MaxRunsPerHour int              `yaml:"maxRunsPerHour" json:"maxRunsPerHour,omitempty"`
	Cooldown       source.Duration  `yaml:"cooldown" json:"cooldown,omitempty"`
	Pos            source.Positions `yaml:"-" json:"-"`
}

// ParamType is the type of a runbook parameter.
type ParamType string

// Parameter types.
const (
	TypeString   ParamType = "string"
	TypeInt      ParamType = "int"
	TypeBool     ParamType = "bool"
	TypeDuration ParamType = "duration"
	TypeList     ParamType = "list"
	TypeMap      ParamType = "map"
)

// Param declares one input of a runbook.
type Param struct {
	Name        string           `yaml:"name" json:"name"`
	Type        ParamType        `yaml:"type" json:"type"`
	Required    bool             `yaml:"required" json:"required,omitempty"`
	Default     any              `yaml:"default" json:"default,omitempty"`
	Description string           `yaml:"description" json:"description,omitempty"`
	Pos         source.Positions `yaml:"-" json:"-"`
}

// Failure policies of a step.
const (
	OnFailureAbort    = "abort"
	OnFailureContinue = "continue"
)

// Step is one thing a runbook does: an action, an approval or a wait.
type Step struct {
	Name        string           `yaml:"name" json:"name"`
	Description string           `yaml:"description" json:"description,omitempty"`
	Action      string           `yaml:"action" json:"action,omitempty"`
	With        map[string]any   `yaml:"with" json:"with,omitempty"`
	Approval    *Approval        `yaml:"approval" json:"approval,omitempty"`
	Wait        *Wait            `yaml:"wait" json:"wait,omitempty"`
	When        source.Expr      `yaml:"when" json:"when,omitempty"`
	Retry       *Retry           `yaml:"retry" json:"retry,omitempty"`
	Timeout     source.Duration  `yaml:"timeout" json:"timeout,omitempty"`
	OnFailure   string           `yaml:"onFailure" json:"onFailure,omitempty"`
	For         string           `yaml:"for" json:"for,omitempty"`
	Pos         source.Positions `yaml:"-" json:"-"`
}

// Kind says which of action, approval and wait the step is.
func (s *Step) Kind() string {
	switch {
	case s.Approval != nil:
		return "approval"
	case s.Wait != nil:
		return "wait"
	}
	return "action"
}

// Approval timeouts.
const (
	OnTimeoutAbort    = "abort"
	OnTimeoutContinue = "continue"
)

// DefaultApprovalTimeout applies when an approval names no timeout.
const DefaultApprovalTimeout = source.Duration(15 * 60 * 1e9)

// Approval pauses a run until a person approves or denies it.
type Approval struct {
	Approvers []string        `yaml:"approvers" json:"approvers,omitempty"`
	Timeout   source.Duration `yaml:"timeout" json:"timeout,omitempty"`
	OnTimeout string          `yaml:"onTimeout" json:"onTimeout,omitempty"`
	Message   string          `yaml:"message" json:"message,omitempty"`
	// SeparateApprover refuses the run's requester as its approver.
	SeparateApprover bool             `yaml:"separateApprover" json:"separateApprover,omitempty"`
	Pos              source.Positions `yaml:"-" json:"-"`
}

// Retry says how often and how patiently an action is retried.
type Retry struct {
	Attempts   int              `yaml:"attempts" json:"attempts,omitempty"`
	Backoff    source.Duration  `yaml:"backoff" json:"backoff,omitempty"`
	MaxBackoff source.Duration  `yaml:"maxBackoff" json:"maxBackoff,omitempty"`
	Pos        source.Positions `yaml:"-" json:"-"`
}

// Defaults for waits.
const (
	DefaultWaitEvery   = source.Duration(30 * 1e9)
	DefaultWaitTimeout = source.Duration(10 * 60 * 1e9)
)

// Wait pauses a run for a duration, or until a condition holds.
type Wait struct {
	Duration source.Duration  `yaml:"duration" json:"duration,omitempty"`
	Until    source.Expr      `yaml:"until" json:"until,omitempty"`
	Every    source.Duration  `yaml:"every" json:"every,omitempty"`
	Timeout  source.Duration  `yaml:"timeout" json:"timeout,omitempty"`
	Pos      source.Positions `yaml:"-" json:"-"`
}

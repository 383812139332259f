// Package incident holds the wire types of incidents: the record, its
// timeline, declarations, commands and events, the postmortem's input and
// result, the incident counter's input and requests, and the constants and
// pure helpers on them. It holds no workflow code.
package incident

import (
	"slices"
	"time"
)

// Incident severities, most severe first.
const (
	SeverityCritical = "sev1"
	SeverityMajor    = "sev2"
	SeverityMinor    = "sev3"
	SeverityLow      = "sev4"
)

// Severities lists the severities, most severe first.
var Severities = []string{SeverityCritical, SeverityMajor, SeverityMinor, SeverityLow}

// HaltsChaos reports whether a severity stops chaos experiments.
func HaltsChaos(severity string) bool {
	return severity == SeverityCritical || severity == SeverityMajor
}

// Incident statuses, in the order an incident usually goes through them.
const (
	IncidentInvestigating = "investigating"
	IncidentIdentified    = "identified"
	IncidentMitigated     = "mitigated"
	IncidentResolved      = "resolved"
)

// IncidentStatuses lists the statuses in order.
var IncidentStatuses = []string{IncidentInvestigating, IncidentIdentified, IncidentMitigated, IncidentResolved}

// Incident roles besides the commander.
const (
	RoleCommander = "commander"
	RoleScribe    = "scribe"
	RoleComms     = "comms"
)

// IncidentRoles lists the assignable roles.
var IncidentRoles = []string{RoleCommander, RoleScribe, RoleComms}

// Timeline entry kinds.
const (
	TimelineDeclared   = "declared"
	TimelineStatus     = "status"
	TimelineSeverity   = "severity"
	TimelineRole       = "role"
	TimelineNote       = "note"
	TimelineLink       = "link"
	TimelineRun        = "run"
	TimelineStep       = "step"
	TimelineApproval   = "approval"
	TimelineAlert      = "alert"
	TimelinePagerDuty  = "pagerduty"
	TimelineChaos      = "chaos"
	TimelineSlack      = "slack"
	TimelineResolved   = "resolved"
	TimelinePostmortem = "postmortem"
)

// Link kinds.
const (
	LinkPagerDuty = "pagerduty"
	LinkDashboard = "dashboard"
	LinkOther     = "link"
)

// Incident is an incident's whole record: what the API shows, what the
// postmortem is written from, and what continue-as-new carries over.
type Incident struct {
	ID        string            `json:"id"`
	Title     string            `json:"title"`
	Severity  string            `json:"severity"`
	Status    string            `json:"status"`
	Commander string            `json:"commander,omitempty"`
	Roles     map[string]string `json:"roles,omitempty"`
	Services  []string          `json:"services,omitempty"`
	Links     []Link            `json:"links,omitempty"`
	// Responders are invited to the incident channel.
	Responders []string       `json:"responders,omitempty"`
	DeclaredBy string         `json:"declaredBy"`
	Slack      *IncidentSlack `json:"slack,omitempty"`
	// Key times: the impact started (earliest contributing alert or the
	// time given on declare), was detected (first alert or the
	// declaration), acknowledged (PagerDuty acknowledgement or the first
	// status change), mitigated and resolved.
	StartedAt      time.Time  `json:"startedAt"`
	DetectedAt     time.Time  `json:"detectedAt"`
	DeclaredAt     time.Time  `json:"declaredAt"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt,omitempty"`
	MitigatedAt    *time.Time `json:"mitigatedAt,omitempty"`
	ResolvedAt     *time.Time `json:"resolvedAt,omitempty"`
	// Summary is what the resolver wrote; ActionItems the follow-ups.
	Summary     string   `json:"summary,omitempty"`
	ActionItems []string `json:"actionItems,omitempty"`
	// Runs are the runbook runs linked to the incident.
	Runs []string `json:"runs,omitempty"`
	// Alerts are the alerts and events that contributed.
	Alerts []IncidentAlert `json:"alerts,omitempty"`
	// Automation is every automated step of a linked run, as it ended.
	Automation []StepReport `json:"automation,omitempty"`
	// ChaosHalted says a halt of chaos experiments was delivered.
	ChaosHalted bool            `json:"chaosHalted,omitempty"`
	Postmortem  *PostmortemInfo `json:"postmortem,omitempty"`
	Timeline    []TimelineEntry `json:"timeline"`
	// Generation counts continue-as-new runs of the incident workflow.
	Generation int `json:"generation,omitempty"`
}

// Done reports whether the incident is resolved.
func (i *Incident) Done() bool { return i.Status == IncidentResolved }

// PagerDutyIncident returns the linked PagerDuty incident's ID, or "".
func (i *Incident) PagerDutyIncident() string {
	for _, l := range i.Links {
		if l.Kind == LinkPagerDuty && l.ID != "" {
			return l.ID
		}
	}
	return ""
}

// HasService reports whether the incident covers a service.
func (i *Incident) HasService(s string) bool { return s != "" && slices.Contains(i.Services, s) }

// Link is a link of an incident: its PagerDuty incident, a dashboard.
type Link struct {
	Kind  string `json:"kind"`
	Title string `json:"title,omitempty"`
	URL   string `json:"url,omitempty"`
	// ID is the linked object's own ID (a PagerDuty incident ID).
	ID string `json:"id,omitempty"`
}

// IncidentSlack is the incident's channel and pinned summary message.
type IncidentSlack struct {
	Channel   string `json:"channel,omitempty"`
	Name      string `json:"name,omitempty"`
	SummaryTS string `json:"summaryTs,omitempty"`
	Error     string `json:"error,omitempty"`
}

// IncidentAlert is an alert or event that contributed to an incident.
type IncidentAlert struct {
	Source      string            `json:"source"`
	Fingerprint string            `json:"fingerprint"`
	Name        string            `json:"name,omitempty"`
	Status      string            `json:"status,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	StartsAt    time.Time         `json:"startsAt,omitzero"`
	ReceivedAt  time.Time         `json:"receivedAt"`
	Run         string            `json:"run,omitempty"`
}

// StepReport is one step of a linked run as it ended: the guard that
// decided it, the approver, the outcome.
type StepReport struct {
	Run        string     `json:"run"`
	Runbook    string     `json:"runbook"`
	Step       string     `json:"step"`
	Kind       string     `json:"kind"`
	Action     string     `json:"action,omitempty"`
	Status     string     `json:"status"`
	DryRun     bool       `json:"dryRun,omitempty"`
	Guard      string     `json:"guard,omitempty"`
	GuardOK    *bool      `json:"guardResult,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Decision   string     `json:"decision,omitempty"`
	Approver   string     `json:"approver,omitempty"`
	Error      string     `json:"error,omitempty"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// PostmortemInfo says where an incident's postmortem is.
type PostmortemInfo struct {
	Path        string    `json:"path,omitempty"`
	GeneratedAt time.Time `json:"generatedAt"`
	Error       string    `json:"error,omitempty"`
}

// TimelineEntry is one thing that happened, who did it and when.
type TimelineEntry struct {
	At   time.Time `json:"at"`
	Kind string    `json:"kind"`
	By   string    `json:"by,omitempty"`
	Text string    `json:"text"`
	// Ref names what the entry is about: a run, a step, a PagerDuty event.
	Ref string `json:"ref,omitempty"`
	// Source is the transport a command came from (api, cli, slack).
	Source string `json:"source,omitempty"`
}

// DeclareRequest declares an incident.
type DeclareRequest struct {
	Title      string   `json:"title"`
	Severity   string   `json:"severity"`
	Commander  string   `json:"commander,omitempty"`
	Services   []string `json:"services,omitempty"`
	Responders []string `json:"responders,omitempty"`
	Links      []Link   `json:"links,omitempty"`
	// StartedAt is when the impact began, if known before now.
	StartedAt *time.Time `json:"startedAt,omitempty"`
	// PagerDuty: link an existing PagerDuty incident by ID, or page (trigger
	// a new one through the Events API) when Page is set.
	PagerDutyIncident string `json:"pagerdutyIncident,omitempty"`
	Page              bool   `json:"page,omitempty"`
	// Runs already linked (the run that declared it).
	Runs []string `json:"runs,omitempty"`
	// DeclaredBy and Source are set by the transport.
	DeclaredBy string `json:"declaredBy,omitempty"`
	Source     string `json:"source,omitempty"`
}

// IncidentSettings are what every incident of this deployment does on
// declare.
type IncidentSettings struct {
	// Slack creates a channel per incident (needs a bot token).
	Slack bool `json:"slack,omitempty"`
	// Invite are Slack user IDs always invited.
	Invite []string `json:"invite,omitempty"`
	// CanPage says a PagerDuty routing key is configured, so declarations
	// may page (the key itself stays in the worker's configuration, out of
	// workflow histories).
	CanPage bool `json:"canPage,omitempty"`
	// MaxEvents bounds one workflow run's history before continue-as-new
	// (default 1000).
	MaxEvents int `json:"maxEvents,omitempty"`
	// HaltChaos signals the chaos workflow on SEV1/SEV2 (default on; the
	// declaration may be made where no chaos workflow runs).
	NoChaosHalt bool `json:"noChaosHalt,omitempty"`
}

// IncidentInput starts or continues an incident workflow.
type IncidentInput struct {
	Incident Incident         `json:"incident"`
	Settings IncidentSettings `json:"settings"`
	// Request is the declaration, on the first run only.
	Request *DeclareRequest `json:"request,omitempty"`
}

// Incident commands.
const (
	CommandStatus     = "status"
	CommandNote       = "note"
	CommandRole       = "role"
	CommandSeverity   = "severity"
	CommandLink       = "link"
	CommandResolve    = "resolve"
	CommandActionItem = "action-item"
)

// IncidentCommand is a person's command to an incident, the argument of
// the command update.
type IncidentCommand struct {
	Kind     string `json:"kind"`
	By       string `json:"by"`
	Source   string `json:"source,omitempty"`
	Status   string `json:"status,omitempty"`
	Severity string `json:"severity,omitempty"`
	Role     string `json:"role,omitempty"`
	User     string `json:"user,omitempty"`
	Text     string `json:"text,omitempty"`
	Link     *Link  `json:"link,omitempty"`
	// ActionItems come with resolve.
	ActionItems []string `json:"actionItems,omitempty"`
}

// CommandResult is what an incident command answers: a small
// acknowledgement — the incident, its status and severity after the
// command, the command, and the timeline entry it added — never the whole
// record, which a long incident makes large.
type CommandResult struct {
	ID       string         `json:"id"`
	Status   string         `json:"status"`
	Severity string         `json:"severity"`
	Command  string         `json:"command"`
	Entry    *TimelineEntry `json:"entry,omitempty"`
}

// Text is what the command recorded, for a one-line answer.
func (c *CommandResult) Text() string {
	if c.Entry != nil {
		return c.Entry.Text
	}
	return c.Status
}

// IncidentEvent reports something into an incident's timeline from
// outside: a run's progress, an alert, a PagerDuty webhook.
type IncidentEvent struct {
	At     time.Time      `json:"at"`
	Kind   string         `json:"kind"`
	By     string         `json:"by,omitempty"`
	Text   string         `json:"text"`
	Ref    string         `json:"ref,omitempty"`
	Run    string         `json:"run,omitempty"`
	Step   *StepReport    `json:"step,omitempty"`
	Alert  *IncidentAlert `json:"alert,omitempty"`
	Source string         `json:"source,omitempty"`
	// PagerDutyType is the webhook's event_type (incident.acknowledged …).
	PagerDutyType string `json:"pagerdutyType,omitempty"`
}

// Rejections of incident commands.
const (
	RejectIncidentResolved = "IncidentResolved"
)

// PostmortemInput asks for an incident's postmortem.
type PostmortemInput struct {
	Incident Incident `json:"incident"`
	// Channel is where the postmortem is announced, if anywhere.
	Channel string `json:"channel,omitempty"`
}

// PostmortemResult is what the postmortem workflow leaves.
type PostmortemResult struct {
	ID          string    `json:"id"`
	Path        string    `json:"path,omitempty"`
	Markdown    string    `json:"markdown"`
	GeneratedAt time.Time `json:"generatedAt"`
}

// IncidentSummary is one entry of an incident listing.
type IncidentSummary struct {
	ID         string     `json:"id"`
	Title      string     `json:"title"`
	Severity   string     `json:"severity"`
	Status     string     `json:"status"`
	Commander  string     `json:"commander,omitempty"`
	Services   []string   `json:"services,omitempty"`
	Channel    string     `json:"slackChannel,omitempty"`
	DeclaredAt time.Time  `json:"declaredAt"`
	ClosedAt   *time.Time `json:"closedAt,omitempty"`
}

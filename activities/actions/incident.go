package actions

// Incident actions: the runbook action that declares an incident, and the
// activities incident and postmortem workflows call.
const (
	// IncidentDeclare declares an incident from a runbook step.
	IncidentDeclare = "incident.declare"
	// SlackIncidentChannel creates an incident's channel and invites people.
	SlackIncidentChannel = "slack.incident-channel"
	// SlackIncidentSummary posts, pins and then keeps updating an
	// incident's summary message.
	SlackIncidentSummary = "slack.incident-summary"
	// ReportPostmortem renders an incident's postmortem and writes it.
	ReportPostmortem = "report.postmortem"
)

// incidentActions declare incidents and keep their channel, summary and
// postmortem.
var incidentActions = []Spec{
	{
		Name:        IncidentDeclare,
		Description: "Declare an incident; the run is linked to it and reports its steps into the incident's timeline.",
		Fields: map[string]Field{
			"title":      {Kind: KindString, Required: true, Description: "one-line title"},
			"severity":   {Kind: KindString, Required: true, Description: "sev1, sev2, sev3 or sev4 (a CEL expression makes a severity rule)"},
			"commander":  {Kind: KindString, Description: "incident commander (Slack user ID or name)"},
			"services":   {Kind: KindList, Description: "affected services; automatic runs for them join the incident"},
			"responders": {Kind: KindList, Description: "people invited to the incident channel"},
			"startedAt":  {Kind: KindString, Description: "when the impact began, RFC 3339 (default: the alert's startsAt or now)"},
			"page":       {Kind: KindBool, Description: "also trigger a PagerDuty incident"},
		},
		Mutating: true,
	},
	{
		Name:        SlackIncidentChannel,
		Description: "Create an incident's Slack channel and invite people; a name another channel holds gets a suffix.",
		Fields: map[string]Field{
			"name":  {Kind: KindString, Required: true, Description: "channel name"},
			"users": {Kind: KindList, Description: "Slack user IDs to invite"},
			"topic": {Kind: KindString, Description: "channel topic"},
		},
		Mutating: true,
	},
	{
		Name:        SlackIncidentSummary,
		Description: "Post and pin an incident's summary message (or find the one posted before), or update it when ts names it.",
		Fields: map[string]Field{
			"channel":  {Kind: KindString, Required: true},
			"ts":       {Kind: KindString, Description: "the summary message to update; empty posts and pins a new one"},
			"incident": {Kind: KindAny, Required: true, Description: "the incident record"},
		},
		Mutating: true,
	},
	{
		Name:        ReportPostmortem,
		Description: "Render an incident's postmortem as Markdown and write it to the postmortem directory.",
		Fields: map[string]Field{
			"incident": {Kind: KindAny, Required: true, Description: "the incident record"},
		},
		Mutating: true,
	},
}

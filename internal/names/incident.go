package names

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Workflow types of incidents and postmortems.
const (
	IncidentWorkflow        = "IncidentWorkflow"
	IncidentCounterWorkflow = "IncidentCounterWorkflow"
	PostmortemWorkflow      = "PostmortemWorkflow"
)

// IncidentCounterWorkflowID is the one workflow per namespace that hands
// out incident numbers, one year at a time.
const IncidentCounterWorkflowID = "firebreak:incident-counter"

// Updates, signals and queries of incidents.
const (
	// AllocateIncidentUpdate asks the counter workflow for the next number.
	AllocateIncidentUpdate = "allocate"
	// IncidentCommandUpdate carries a person's command to an incident:
	// status, note, role, severity, link, resolve.
	IncidentCommandUpdate = "command"
	// IncidentEventSignal reports something that happened elsewhere into
	// an incident's timeline: a run's step, an approval, a webhook.
	IncidentEventSignal = "incident-event"
	// IncidentQuery returns an incident's record.
	IncidentQuery = "incident"
)

// Memo keys an incident keeps current, so listings need no query per
// incident.
const (
	MemoIncidentTitle     = "title"
	MemoIncidentSeverity  = "severity"
	MemoIncidentCommander = "commander"
	MemoIncidentServices  = "services"
	MemoIncidentChannel   = "slackChannel"
	MemoIncidentPagerDuty = "pagerdutyIncident"
)

const (
	incidentPrefix   = "incident:"
	postmortemPrefix = "postmortem:"
)

var incidentID = regexp.MustCompile(`^INC-(\d{4})-(\d{4,})$`)

// IncidentID formats an incident's human ID: INC-<year>-<number>, the
// number zero-padded to four digits.
func IncidentID(year, number int) string {
	return fmt.Sprintf("INC-%04d-%04d", year, number)
}

// IsIncidentID reports whether id looks like INC-2026-0042.
func IsIncidentID(id string) bool { return incidentID.MatchString(id) }

// IncidentNumber returns the number part of an incident ID ("0042"), or "".
func IncidentNumber(id string) string {
	m := incidentID.FindStringSubmatch(id)
	if m == nil {
		return ""
	}
	return m[2]
}

// IncidentYear returns the year of an incident ID, or 0.
func IncidentYear(id string) int {
	m := incidentID.FindStringSubmatch(id)
	if m == nil {
		return 0
	}
	y, _ := strconv.Atoi(m[1])
	return y
}

// IncidentWorkflowID returns the workflow ID of an incident: incident:<id>.
func IncidentWorkflowID(id string) string { return incidentPrefix + id }

// IncidentOf returns the incident ID in an incident workflow ID, or "".
func IncidentOf(workflowID string) string {
	id, ok := strings.CutPrefix(workflowID, incidentPrefix)
	if !ok {
		return ""
	}
	return id
}

// PostmortemWorkflowID returns the workflow ID of an incident's postmortem.
func PostmortemWorkflowID(id string) string { return postmortemPrefix + id }

var slugUnsafe = regexp.MustCompile(`[^a-z0-9]+`)

// IncidentChannelName returns the Slack channel name of an incident:
// inc-<year>-<number>-<title as a slug>, at most 80 characters as Slack
// allows. The year is part of it, since numbers start again each year.
func IncidentChannelName(id, title string) string {
	base := "inc-" + strings.ToLower(id)
	if y, n := IncidentYear(id), IncidentNumber(id); n != "" {
		base = fmt.Sprintf("inc-%04d-%s", y, n)
	}
	return channelName(base, title)
}

// IncidentChannelNameWithoutYear is the channel name incidents declared
// before the year was part of it still use (inc-<number>-<slug>); only
// the incident workflow's replay of those declarations calls it.
func IncidentChannelNameWithoutYear(id, title string) string {
	base := "inc-" + IncidentNumber(id)
	if IncidentNumber(id) == "" {
		base = "inc-" + strings.ToLower(id)
	}
	return channelName(base, title)
}

func channelName(base, title string) string {
	slug := strings.Trim(slugUnsafe.ReplaceAllString(strings.ToLower(title), "-"), "-")
	name := base
	if slug != "" {
		name += "-" + slug
	}
	if len(name) > 80 {
		name = strings.TrimRight(name[:80], "-")
	}
	return name
}

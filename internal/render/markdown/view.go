package markdown

import (
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/firebreak-ops/firebreak/internal/render/chart"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// View is what a postmortem template sees: the incident record and what
// the report works out from it.
type View struct {
	Incident *incidentwire.Incident
	// Impact is the impact window's length; TTD, TTA, TTM and TTR are the
	// key durations ("—" when a time is missing).
	Impact, TTD, TTA, TTM, TTR string
	// Roles are the assigned roles besides the commander.
	Roles []Role
	// Actions are the automated steps, with their guard and approver.
	Actions []Action
	// Automation is the "what the automation did" section, one line each.
	Automation []string
	// Gantt is a Mermaid gantt chart of the incident.
	Gantt string
}

// Role is an assigned role.
type Role struct{ Name, User string }

// Action is one automated step as the postmortem lists it.
type Action struct {
	Run, Step, Action, Guard, Approver, Result string
}

// Durations are an incident's key durations. Detection is measured from
// the impact's start, acknowledgement from detection, mitigation and
// resolution from the impact's start; a missing time gives -1.
type Durations struct {
	Impact, TTD, TTA, TTM, TTR time.Duration
}

// KeyDurations works out an incident's key durations.
func KeyDurations(inc *incidentwire.Incident) Durations {
	since := func(from time.Time, to *time.Time) time.Duration {
		if to == nil || from.IsZero() {
			return -1
		}
		return to.Sub(from)
	}
	detected := inc.DetectedAt
	return Durations{
		Impact: since(inc.StartedAt, inc.ResolvedAt),
		TTD:    since(inc.StartedAt, &detected),
		TTA:    since(inc.DetectedAt, inc.AcknowledgedAt),
		TTM:    since(inc.StartedAt, inc.MitigatedAt),
		TTR:    since(inc.StartedAt, inc.ResolvedAt),
	}
}

// NewView works out a postmortem's view of an incident.
func NewView(inc *incidentwire.Incident) *View {
	d := KeyDurations(inc)
	v := &View{Incident: inc, Impact: Duration(d.Impact), TTD: Duration(d.TTD), TTA: Duration(d.TTA), TTM: Duration(d.TTM), TTR: Duration(d.TTR)}
	for _, r := range incidentwire.IncidentRoles {
		if u := inc.Roles[r]; u != "" && r != incidentwire.RoleCommander {
			v.Roles = append(v.Roles, Role{Name: r, User: u})
		}
	}
	v.Actions = actionsOf(inc)
	v.Automation = automationSummary(inc)
	v.Gantt = chart.Gantt(inc)
	return v
}

// Render renders the postmortem of an incident with a template.
func Render(inc *incidentwire.Incident, t *template.Template) (string, error) {
	var b strings.Builder
	if err := t.Execute(&b, NewView(inc)); err != nil {
		return "", fmt.Errorf("postmortem template: %w", err)
	}
	return b.String(), nil
}

// actionsOf lists every automated step. An action's approver is whoever
// approved the latest approval step before it in the same run.
func actionsOf(inc *incidentwire.Incident) []Action {
	var out []Action
	approver := map[string]string{}
	for _, s := range inc.Automation {
		a := Action{Run: s.Run, Step: s.Step, Action: s.Action, Result: s.Status}
		if a.Action == "" {
			a.Action = s.Kind
		}
		switch {
		case s.Guard != "" && s.GuardOK != nil:
			a.Guard = fmt.Sprintf("`%s` → %t", s.Guard, *s.GuardOK)
		default:
			a.Guard = "no guard"
		}
		if s.Kind == "approval" {
			if s.Approver != "" {
				a.Approver = s.Approver + " (" + strings.ReplaceAll(s.Decision, "_", " ") + ")"
				if s.Decision == runwire.DecisionApproved {
					approver[s.Run] = s.Approver
				}
			} else if s.Decision != "" {
				a.Approver = strings.ReplaceAll(s.Decision, "_", " ")
			}
		} else if who := approver[s.Run]; who != "" && s.Status != runwire.StepSkipped {
			a.Approver = who
		}
		if s.DryRun {
			a.Result += " (dry run)"
		}
		if s.Error != "" {
			a.Result += ": " + s.Error
		}
		out = append(out, a)
	}
	return out
}

// automationSummary says in a few lines what Firebreak did.
func automationSummary(inc *incidentwire.Incident) []string {
	var lines []string
	counts := map[string]int{}
	var approvals []string
	for _, s := range inc.Automation {
		switch {
		case s.Kind == "approval":
			if s.Approver != "" {
				approvals = append(approvals, fmt.Sprintf("%s %s %s", s.Approver, s.Decision, s.Step))
			} else if s.Decision != "" {
				approvals = append(approvals, fmt.Sprintf("%s %s", s.Step, s.Decision))
			}
		case s.Status == runwire.StepSkipped:
			counts["skipped"]++
		case s.Kind == "action" && s.Status == runwire.StepSucceeded:
			counts["succeeded"]++
		case s.Kind == "action" && s.Status == runwire.StepFailed:
			counts["failed"]++
		case s.Status == runwire.StepRolledBack:
			counts["rolled back"]++
		}
	}
	if len(inc.Runs) == 0 {
		lines = append(lines, "No runbook run was linked to this incident.")
	} else {
		lines = append(lines, fmt.Sprintf("Ran %d runbook run(s) for this incident: %s.", len(inc.Runs), strings.Join(inc.Runs, ", ")))
		lines = append(lines, fmt.Sprintf("%d action(s) succeeded, %d failed, %d step(s) were skipped by their guard.",
			counts["succeeded"], counts["failed"], counts["skipped"]))
	}
	if len(approvals) > 0 {
		lines = append(lines, "Approvals: "+strings.Join(approvals, "; ")+".")
	}
	if len(inc.Alerts) > 0 {
		lines = append(lines, fmt.Sprintf("Took in %d alert(s) and event(s).", len(inc.Alerts)))
	}
	for _, e := range inc.Timeline {
		if e.Kind == incidentwire.TimelineChaos {
			lines = append(lines, strings.ToUpper(e.Text[:1])+e.Text[1:]+".")
		}
	}
	if inc.Slack != nil && inc.Slack.Channel != "" {
		lines = append(lines, fmt.Sprintf("Opened Slack channel #%s and kept its pinned summary up to date.", inc.Slack.Name))
	}
	return lines
}

package runbook

import (
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/runbooks"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// incidentReporter sends a run's progress to the incident it is linked
// to, in order, one signal at a time. A run learns its incident when it
// starts with one or when its incident.declare step declares one.
type incidentReporter struct {
	incident string
	outbox   []incidentwire.IncidentEvent
	// alerts are the run's alerts so far, for an incident declared later.
	alerts []incidentwire.IncidentAlert
	done   bool
}

// reportTo links the run to an incident and says so there.
func (r *runner) reportTo(ctx workflow.Context, id string) {
	if id == "" || r.report.incident != "" {
		return
	}
	r.report.incident = id
	r.state.Incident = id
	r.changed()
	by := r.in.RequestedBy
	text := fmt.Sprintf("run %s of %s started (%s", r.in.ID, r.in.Runbook.Name(), r.in.Trigger)
	if by != "" {
		text += ", by " + by
	}
	text += ")"
	if r.in.DryRun {
		text += " as a dry run"
	}
	r.report.outbox = append(r.report.outbox, incidentwire.IncidentEvent{
		At: r.state.StartedAt, Kind: incidentwire.TimelineRun, By: by, Text: text, Ref: r.in.ID, Run: r.in.ID, Source: r.in.Trigger,
	})
	for _, a := range r.report.alerts {
		r.report.outbox = append(r.report.outbox, alertEvent(a))
	}
}

func alertEvent(a incidentwire.IncidentAlert) incidentwire.IncidentEvent {
	text := fmt.Sprintf("%s alert %s %s", a.Source, a.Name, a.Status)
	return incidentwire.IncidentEvent{At: a.ReceivedAt, Kind: incidentwire.TimelineAlert, By: a.Source, Text: strings.Join(strings.Fields(text), " "), Ref: a.Fingerprint, Run: a.Run, Alert: &a}
}

// reportAlert remembers an alert or event the run received and reports it
// when the run is linked.
func (r *runner) reportAlert(sig runwire.AlertSignal) {
	a := incidentwire.IncidentAlert{Source: sig.Source, ReceivedAt: sig.ReceivedAt.UTC(), Run: r.in.ID}
	switch {
	case sig.Alert != nil:
		a.Fingerprint, a.Status, a.Labels = sig.Alert.Fingerprint, sig.Alert.Status, sig.Alert.Labels
		a.Name = sig.Alert.Labels["alertname"]
		a.StartsAt = sig.Alert.StartsAt.UTC()
	case sig.Event != nil:
		a.Fingerprint, _ = sig.Event["id"].(string)
		a.Status, _ = sig.Event["event_type"].(string)
		if data, ok := sig.Event["data"].(map[string]any); ok {
			a.Name, _ = data["title"].(string)
		}
	default:
		return
	}
	if r.bounded {
		a.Fingerprint, a.Status = runwire.Clip(a.Fingerprint, runwire.MaxLabelBytes), runwire.Clip(a.Status, runwire.MaxLabelBytes)
		a.Name, a.Labels = runwire.Clip(a.Name, runwire.MaxLabelBytes), runwire.ClipLabels(a.Labels)
	}
	if len(r.report.alerts) < maxAlertRecords {
		r.report.alerts = append(r.report.alerts, a)
	}
	if r.report.incident != "" {
		r.report.outbox = append(r.report.outbox, alertEvent(a))
	}
}

// stepReport is what the incident keeps of a step.
func (r *runner) stepReport(st *runwire.StepState) *incidentwire.StepReport {
	rep := &incidentwire.StepReport{
		Run: r.in.ID, Runbook: r.in.Runbook.Name(), Step: st.Name, Kind: st.Kind, Action: st.Action,
		Status: st.Status, DryRun: r.in.DryRun, Error: st.Error, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt,
	}
	if d := st.Decision; d != nil {
		ok := d.Result
		rep.Guard, rep.GuardOK, rep.Reason = d.Expression, &ok, d.Reason
	}
	if a := st.Approval; a != nil {
		rep.Decision, rep.Approver = a.Decision, a.By
	}
	return rep
}

// reportStep reports a step as it ended; a successful incident.declare
// links the run to the incident it declared.
func (r *runner) reportStep(ctx workflow.Context, sp *runbooks.StepPlan, st *runwire.StepState) {
	if sp.Action == actions.IncidentDeclare && st.Status == runwire.StepSucceeded && !r.in.DryRun {
		if out, ok := st.Output.(map[string]any); ok {
			id, _ := out["id"].(string)
			r.reportTo(ctx, id)
		}
	}
	if r.report.incident == "" {
		return
	}
	rep := r.stepReport(st)
	what := st.Kind
	if st.Action != "" {
		what = st.Action
	}
	text := fmt.Sprintf("%s: %s %s", st.Name, what, st.Status)
	by := names.TaskQueue
	switch {
	case st.Approval != nil && st.Approval.Decision != "":
		text = fmt.Sprintf("%s: approval %s", st.Name, strings.ReplaceAll(st.Approval.Decision, "_", " "))
		if st.Approval.By != "" {
			text += " by " + st.Approval.By
			by = st.Approval.By
		}
		if st.Approval.Comment != "" {
			text += ": " + st.Approval.Comment
		}
	case st.Decision != nil && st.Decision.Reason != "":
		text += " (" + st.Decision.Reason + ")"
	}
	if st.Error != "" && st.Approval == nil {
		text += ": " + st.Error
	}
	if r.in.DryRun {
		text += " [dry run]"
	}
	at := workflow.Now(ctx).UTC()
	if st.FinishedAt != nil {
		at = *st.FinishedAt
	}
	r.report.outbox = append(r.report.outbox, incidentwire.IncidentEvent{
		At: at, Kind: incidentwire.TimelineStep, By: by, Text: text, Ref: r.in.ID + "/" + st.Name, Run: r.in.ID, Step: rep,
	})
}

// reportWaiting says a step waits for an approval.
func (r *runner) reportWaiting(ctx workflow.Context, st *runwire.StepState) {
	if r.report.incident == "" || st.Approval == nil {
		return
	}
	text := fmt.Sprintf("%s: waiting for approval", st.Name)
	if len(st.Approval.Approvers) > 0 {
		text += " (approvers: " + strings.Join(st.Approval.Approvers, ", ") + ")"
	}
	r.report.outbox = append(r.report.outbox, incidentwire.IncidentEvent{
		At: workflow.Now(ctx).UTC(), Kind: incidentwire.TimelineApproval, By: names.TaskQueue, Text: text, Ref: r.in.ID + "/" + st.Name, Run: r.in.ID,
	})
}

// reportFinish reports how the run ended.
func (r *runner) reportFinish(ctx workflow.Context, status string) {
	if r.report.incident == "" {
		return
	}
	text := fmt.Sprintf("run %s %s", r.in.ID, status)
	if r.state.Error != "" {
		text += ": " + r.state.Error
	}
	r.report.outbox = append(r.report.outbox, incidentwire.IncidentEvent{
		At: workflow.Now(ctx).UTC(), Kind: incidentwire.TimelineRun, By: names.TaskQueue, Text: text, Ref: r.in.ID, Run: r.in.ID,
	})
}

// reporter delivers the outbox. An incident that has ended takes no more
// signals; what it missed is dropped, and the run goes on regardless.
func (r *runner) reporter(ctx workflow.Context) {
	for {
		if err := workflow.Await(ctx, func() bool { return len(r.report.outbox) > 0 || r.closing }); err != nil {
			return
		}
		if len(r.report.outbox) == 0 {
			return
		}
		ev := r.report.outbox[0]
		r.report.outbox = r.report.outbox[1:]
		_ = workflow.SignalExternalWorkflow(ctx, names.IncidentWorkflowID(r.report.incident), "", names.IncidentEventSignal, ev).Get(ctx, nil)
	}
}

// flushReports waits a little for the outbox to empty before the run ends.
func (r *runner) flushReports(ctx workflow.Context) {
	if r.report.incident == "" {
		return
	}
	_, _ = workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return r.report.done })
}

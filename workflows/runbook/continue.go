package runbook

import (
	"encoding/json"
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// continueAsNew is returned through forward when the run should go on in
// a new execution from step.
type continueAsNew struct{ step int }

func (c *continueAsNew) Error() string { return fmt.Sprintf("continue as new at step %d", c.step) }

// continueNow says whether this execution has taken enough (alerts,
// events, refusals, or a history Temporal finds long) that the run should
// continue as new at its next safe point. Rollback never continues.
func (r *runner) continueNow(ctx workflow.Context) bool {
	if !r.bounded || r.rollingBack {
		return false
	}
	return r.alerts+r.refusedHere >= MaxEventsPerExecution || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
}

// prepareContinue lets the Slack message and the incident reports catch
// up, takes every signal that arrived, waits for running updates, and
// returns the next execution's input. It returns an error only if the run
// was cancelled meanwhile; the caller then finishes it here.
func (r *runner) prepareContinue(ctx workflow.Context, step int, alerts, denied workflow.ReceiveChannel, notifierDone func() bool) (runwire.RunInput, error) {
	r.closing = true
	if _, err := workflow.AwaitWithTimeout(ctx, time.Minute, notifierDone); err != nil {
		return runwire.RunInput{}, err
	}
	if r.report.incident != "" {
		if _, err := workflow.AwaitWithTimeout(ctx, time.Minute, func() bool { return r.report.done }); err != nil {
			return runwire.RunInput{}, err
		}
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return runwire.RunInput{}, err
	}
	// Nothing that arrived may be lost: Temporal refuses to continue while
	// a signal is unread, and the next execution starts from this record.
	for {
		var sig runwire.AlertSignal
		if !alerts.ReceiveAsync(&sig) {
			break
		}
		r.onAlert(sig)
	}
	for {
		var d runwire.AccessDecision
		if !denied.ReceiveAsync(&d) {
			break
		}
		r.recordAccess(d)
	}
	if ctx.Err() != nil {
		return runwire.RunInput{}, ctx.Err()
	}
	r.state.Generation++
	next := r.in
	next.Resume = &runwire.Resume{
		State:      *r.state,
		Step:       step,
		Outputs:    r.carriedOutputs(),
		Alert:      r.lastAlert,
		Alerts:     r.latest,
		Event:      r.lastEvent,
		Received:   r.received + r.alerts,
		Refusals:   r.refusals,
		Report:     runwire.ReportState{Incident: r.report.incident, Outbox: r.report.outbox, Alerts: r.report.alerts},
		Generation: r.state.Generation,
	}
	return next, nil
}

// carriedOutputs are the whole outputs expressions still need, within
// maxCarriedOutputs, in step order; the rest fall back to the record's
// truncated view.
func (r *runner) carriedOutputs() map[string]any {
	if len(r.full) == 0 {
		return nil
	}
	out := map[string]any{}
	left := maxCarriedOutputs
	for _, sp := range append(append([]*runbooks.StepPlan{}, r.plan.Steps...), r.plan.Rollback...) {
		v, ok := r.full[sp.Name]
		if !ok {
			continue
		}
		//workflowcheck:ignore encoding/json writes maps in key order: deterministic
		b, err := json.Marshal(v)
		if err != nil || len(b) > left {
			continue
		}
		left -= len(b)
		out[sp.Name] = v
	}
	return out
}

// resume restores a run from the execution before: its record, what its
// expressions saw, its pending decisions and its incident reports.
func (r *runner) resume(rs *runwire.Resume) {
	st := rs.State
	r.state = &st
	r.first, r.resuming = rs.Step, true
	if r.first < len(r.state.Steps) && r.state.Steps[r.first].Status == runwire.StepPending {
		r.resuming = false
	}
	r.received, r.refusals = rs.Received, rs.Refusals
	r.lastAlert, r.lastEvent = rs.Alert, rs.Event
	r.latest = rs.Alerts
	r.alert = runwire.AlertVars(rs.Alert)
	if rs.Event != nil {
		r.event = runbooks.NormalizeJSON(rs.Event).(map[string]any)
	}
	//workflowcheck:ignore copies a map; order does not matter
	for name, v := range rs.Outputs {
		r.full[name] = v
	}
	for i := range r.state.Steps {
		s := &r.state.Steps[i]
		if s.Status != runwire.StepPending {
			r.steps[s.Name] = r.stepVars(s)
		}
		// A decision taken while the last execution got ready to
		// continue is waiting for its step.
		if a := s.Approval; a != nil && (a.Decision == runwire.DecisionApproved || a.Decision == runwire.DecisionDenied) {
			r.pending[s.Name] = &runwire.ApprovalRequest{Step: s.Name, Approve: a.Decision == runwire.DecisionApproved, By: a.By, Comment: a.Comment}
		}
	}
	r.report.incident = rs.Report.Incident
	r.report.outbox = rs.Report.Outbox
	r.report.alerts = rs.Report.Alerts
}

// resumeStep goes on with a step an earlier execution started: an
// approval still waiting, or a wait. Its guard was decided then.
func (r *runner) resumeStep(ctx workflow.Context, sp *runbooks.StepPlan, st *runwire.StepState) error {
	var err error
	switch {
	case sp.Approval != nil:
		err = r.approval(ctx, sp, st)
	case sp.Wait != nil:
		err = r.wait(ctx, sp, st)
	default:
		// Never continued as new inside an action; start it over.
		return r.step(ctx, sp, st)
	}
	if err != nil {
		return err
	}
	st.Status = runwire.StepSucceeded
	r.finishStep(ctx, st)
	return nil
}

// waitFor waits up to d for cond, or for the run to need a new
// execution, and says which: met, cont, or neither when d passed.
func (r *runner) waitFor(ctx workflow.Context, d time.Duration, cond func() bool) (met bool, cont bool, err error) {
	if d <= 0 {
		return cond(), false, nil
	}
	ok, err := workflow.AwaitWithTimeout(ctx, d, func() bool { return cond() || r.continueNow(ctx) })
	if err != nil || !ok {
		return false, false, err
	}
	if cond() {
		return true, false, nil
	}
	return false, true, nil
}

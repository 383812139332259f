// Package runbook holds RunbookWorkflow, the runbook interpreter: steps in
// order under their guards, actions as activities, approvals as updates,
// waits, rollback, alert intake, the run's Slack message and its reports
// into a linked incident. Its wire types are in workflows/wire/run.
package runbook

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/runbooks"
	"github.com/firebreak-ops/firebreak/workflows/internal/wfutil"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Defaults for actions that name no timeout or retry.
const (
	DefaultActionTimeout  = 5 * time.Minute
	DefaultActionAttempts = 3
	DefaultRetryBackoff   = time.Second
)

// runner interprets one run of a compiled runbook.
type runner struct {
	in      runwire.RunInput
	plan    *runbooks.Plan
	state   *runwire.RunState
	params  map[string]any
	steps   map[string]any
	pending map[string]*runwire.ApprovalRequest
	alert   map[string]any
	event   map[string]any
	// alerts counts alerts and events received; a wait.until re-checks
	// its condition as soon as one arrives.
	alerts int
	// version counts state changes; sent is the last version the Slack
	// message shows; closing tells the notifier to flush and stop.
	version, sent int
	closing       bool
	// report sends the run's progress to its incident, if it has one.
	report incidentReporter

	// bounded is set for runs that took the versioned change
	// boundedRecordsChange: their record is redacted and capped, their
	// Slack message is rendered from a trimmed view, refusals arrive as
	// updates, and a flood of alerts makes them continue as new.
	bounded bool
	// full holds the whole output of each step whose record keeps only a
	// truncated view, for expressions.
	full map[string]any
	// lastAlert and lastEvent are what the run received last, carried
	// into the next execution.
	lastAlert *runwire.Alert
	lastEvent map[string]any
	// received counts the alerts and events of earlier executions.
	received int
	// refusals counts the refusals recorded (all executions);
	// refusedHere those of this execution.
	refusals, refusedHere int
	// first is the step forward starts at; resuming says that step had
	// already started in an earlier execution.
	first    int
	resuming bool
	// rollingBack stops continue-as-new once rollback has begun.
	rollingBack bool

	// stepIDs is set for runs that took stepActivityIDChange: each
	// action's activity ID is its step's name (names.StepActivityID).
	stepIDs bool
	// alertList is set for runs that took alertsListChange: latest holds
	// each alert's latest state, by fingerprint, for the alerts variable.
	alertList bool
	latest    []runwire.Alert
	// retryRecorded says this execution recorded a retry signal.
	retryRecorded bool
}

// Bounds of what a run keeps.
const (
	maxAlertRecords  = 100
	maxAccessRecords = 50
	// maxRefusals bounds the refusals one run records (each is an update
	// in its history); later ones are turned away before they reach it.
	maxRefusals = 100
	// MaxEventsPerExecution is how many alerts, events and recorded
	// refusals one execution takes before the run continues as new at
	// its next safe point (waiting for approval, in a wait, or between
	// steps), so a flood into one run keeps each history short.
	MaxEventsPerExecution = 500
	// maxCarriedOutputs bounds the whole outputs carried into the next
	// execution (their JSON); beyond it, expressions see the record's view.
	maxCarriedOutputs = 256 << 10
)

// boundedRecordsChange versions the bounded, redacted record and
// continue-as-new (see runner.bounded); runs that started before it keep
// their old behaviour on replay.
const boundedRecordsChange = "runbook-bounded-records"

// Later versioned changes of runs (see "Changing a workflow" in the
// README).
const (
	// stepActivityIDChange: each action's activity ID is its step's name,
	// so a retry maps a step to the workflow task that scheduled it.
	stepActivityIDChange = "runbook-step-activity-id"
	// retryRecordChange: a run records the retry signal (who retried it,
	// from which step, why) in its record.
	retryRecordChange = "runbook-retry-record"
	// alertsListChange: a run keeps each alert's latest state for the
	// alerts variable and carries it when it continues as new.
	alertsListChange = "runbook-alerts-list"
	// finalStateChange: a failed or cancelled run puts its final state in
	// its failure's details (see finalStateVersion).
	finalStateChange = "runbook-final-state"
)

// RunbookWorkflow runs a runbook: steps in order, each guarded by its when:,
// actions as activities, approvals as updates, and on failure or
// cancellation the rollback steps of what had completed, in reverse.
func RunbookWorkflow(ctx workflow.Context, in runwire.RunInput) (*runwire.RunState, error) {
	bounded := workflow.GetVersion(ctx, boundedRecordsChange, workflow.DefaultVersion, 1) >= 1
	plan, err := runbooks.CompileCached(&in.Runbook) //workflowcheck:ignore compiling CEL is deterministic; the cache only saves work
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("runbook does not compile: "+err.Error(), runwire.ErrTypeInvalidRunbook, nil)
	}
	r := &runner{
		in:      in,
		plan:    plan,
		params:  in.Runbook.CELParams(in.Params),
		steps:   map[string]any{},
		pending: map[string]*runwire.ApprovalRequest{},
		alert:   runwire.AlertVars(nil),
		event:   map[string]any{},
		bounded: bounded,
		full:    map[string]any{},
	}
	r.stepIDs = workflow.GetVersion(ctx, stepActivityIDChange, workflow.DefaultVersion, 1) >= 1
	r.alertList = workflow.GetVersion(ctx, alertsListChange, workflow.DefaultVersion, 1) >= 1
	if in.Resume != nil && bounded {
		r.resume(in.Resume)
	} else {
		params := in.Params
		if bounded {
			params = recordedParams(in.Params)
		}
		r.state = &runwire.RunState{
			ID:          in.ID,
			Name:        in.Name,
			Runbook:     in.Runbook.Name(),
			Status:      runwire.StatusRunning,
			DryRun:      in.DryRun,
			Trigger:     in.Trigger,
			RequestedBy: in.RequestedBy,
			Key:         in.Key,
			Params:      params,
			StartedAt:   workflow.GetInfo(ctx).WorkflowStartTime.UTC(),
		}
		for _, s := range plan.Steps {
			r.state.Steps = append(r.state.Steps, newStepState(s))
		}
	}
	if err := workflow.SetQueryHandler(ctx, names.StatusQuery, func() (*runwire.RunState, error) {
		return r.state, nil
	}); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.ApproveUpdate, r.approve,
		workflow.UpdateHandlerOptions{Validator: r.validateApproval}); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.AccessUpdate, r.recordRefusal,
		workflow.UpdateHandlerOptions{Validator: r.validateRefusal}); err != nil {
		return nil, err
	}

	// The run's Slack message, when it has a channel.
	channel := ""
	if in.Notify != nil {
		channel = in.Notify.SlackChannel
	}
	if channel == "" && in.Runbook.Spec.Notify != nil && in.Runbook.Spec.Notify.Slack != nil {
		channel = in.Runbook.Spec.Notify.Slack.Channel
	}
	notifierDone := func() bool { return true }
	if channel != "" {
		if r.state.Slack == nil {
			r.state.Slack = &runwire.SlackMessage{Channel: channel}
		}
		r.changed()
		notifierDone = wfutil.GoDisconnected(ctx, r.notifier)
	}
	denied := workflow.GetSignalChannel(ctx, names.AccessSignal)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var d runwire.AccessDecision
			if !denied.Receive(gctx, &d) {
				return
			}
			r.recordAccess(d)
			r.changed()
		}
	})

	retried := workflow.GetSignalChannel(ctx, names.RetrySignal)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var rec runwire.RetryRecord
			if !retried.Receive(gctx, &rec) {
				return
			}
			if workflow.GetVersion(gctx, retryRecordChange, workflow.DefaultVersion, 1) >= 1 {
				r.recordRetry(gctx, rec)
			}
		}
	})

	// Alerts and events: the one that started the run is already waiting
	// (signal-with-start); take everything pending before the first step,
	// then keep listening while the run goes on.
	alerts := workflow.GetSignalChannel(ctx, names.AlertSignal)
	for {
		var sig runwire.AlertSignal
		if !alerts.ReceiveAsync(&sig) {
			break
		}
		r.onAlert(sig)
	}
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var sig runwire.AlertSignal
			if !alerts.Receive(gctx, &sig) {
				return
			}
			r.onAlert(sig)
		}
	})
	rctx, _ := workflow.NewDisconnectedContext(ctx)
	startReporter := func() {
		r.report.done = false
		workflow.Go(rctx, func(gctx workflow.Context) {
			r.reporter(gctx)
			r.report.done = true
		})
	}
	startReporter()
	r.reportTo(ctx, in.Incident)

	runErr := r.forward(ctx)
	var cont *continueAsNew
	if errors.As(runErr, &cont) {
		next, err := r.prepareContinue(ctx, cont.step, alerts, denied, notifierDone)
		if err == nil {
			return r.state, workflow.NewContinueAsNewError(ctx, names.RunbookWorkflow, next)
		}
		// Cancelled while getting ready to continue: finish here, as a
		// cancelled run does, with the notifier and reporter running again
		// (those that stopped).
		runErr = err
		r.closing = false
		if channel != "" && notifierDone() {
			notifierDone = wfutil.GoDisconnected(ctx, r.notifier)
		}
		if r.report.done {
			startReporter()
		}
		if cont.step < len(r.plan.Steps) {
			if st := &r.state.Steps[cont.step]; st.Status == runwire.StepRunning || st.Status == runwire.StepWaitingApproval {
				st.Status, st.Error = runwire.StepFailed, "cancelled"
				r.finishStep(ctx, st)
				r.reportStep(ctx, r.plan.Steps[cont.step], st)
			}
		}
	}
	cancelled := errors.Is(runErr, workflow.ErrCanceled) || temporal.IsCanceledError(runErr)

	// Finish on a context that cancellation cannot reach: rollback must run
	// whatever happened to the run.
	fctx, _ := workflow.NewDisconnectedContext(ctx)
	if runErr != nil {
		r.state.Error = r.errorText(runErr.Error())
		if cancelled {
			r.state.Error = "cancelled"
		}
		r.rollingBack = true
		r.rollback(fctx)
	}
	final := runwire.StatusSucceeded
	switch {
	case cancelled:
		final = runwire.StatusCancelled
	case runErr != nil:
		final = runwire.StatusFailed
	}
	r.awaitRetryRecord(fctx)
	now := workflow.Now(fctx).UTC()
	r.state.FinishedAt = &now
	r.setStatus(fctx, final)
	_ = workflow.Await(fctx, func() bool { return workflow.AllHandlersFinished(fctx) })
	r.reportFinish(fctx, final)
	// Let the Slack message show the end, but never hold the run for it.
	r.closing = true
	_, _ = workflow.AwaitWithTimeout(fctx, time.Minute, notifierDone)
	r.flushReports(fctx)
	if runwire.IsAutomatic(in.Trigger) {
		// The circuit breaker counts automatic runs; if the automation
		// workflow is not there, nothing is lost but the count.
		_ = workflow.SignalExternalWorkflow(fctx, names.AutomationWorkflowID, "", names.RunFinishedSignal, runwire.RunFinished{
			ID: in.ID, Runbook: in.Runbook.Name(), Key: in.Key, Status: final, Error: r.state.Error, At: now,
		}).Get(fctx, nil)
	}

	// A failed or cancelled run carries its final state in its failure's
	// details, as a succeeded one does in its result: an API process
	// reads finished runs without a worker to answer queries.
	withState := finalStateVersion > workflow.DefaultVersion &&
		workflow.GetVersion(fctx, finalStateChange, workflow.DefaultVersion, finalStateVersion) >= 1
	switch final {
	case runwire.StatusCancelled:
		if withState {
			return r.state, temporal.NewCanceledError(r.state.Error, r.state)
		}
		return r.state, temporal.NewCanceledError(r.state.Error)
	case runwire.StatusFailed:
		if withState {
			return r.state, temporal.NewNonRetryableApplicationError(r.state.Error, runwire.ErrTypeRunFailed, nil, r.state)
		}
		return r.state, temporal.NewNonRetryableApplicationError(r.state.Error, runwire.ErrTypeRunFailed, nil)
	}
	return r.state, nil
}

func (r *runner) setStatus(ctx workflow.Context, status string) {
	if r.state.Status == status {
		return
	}
	r.state.Status = status
	r.changed()
	// Only the waiting state is worth a visibility write: running is set
	// at start, and a finished run's status follows from how its workflow
	// closed, so listings derive it from that. A missing search attribute
	// must not fail the run; the status query stays the source of truth.
	switch status {
	case runwire.StatusWaitingApproval, runwire.StatusRunning:
		_ = workflow.UpsertTypedSearchAttributes(ctx, wfutil.StatusKey.ValueSet(status))
	}
}

// vars builds what expressions see at this point of the run.
func (r *runner) vars(ctx workflow.Context) map[string]any {
	return map[string]any{
		runbooks.VarParams: r.params,
		runbooks.VarSteps:  r.steps,
		runbooks.VarNow:    workflow.Now(ctx).UTC(),
		runbooks.VarAlert:  r.alert,
		runbooks.VarAlerts: r.alertsVars(),
		runbooks.VarEvent:  r.event,
		runbooks.VarRun: map[string]any{
			"id":          r.in.ID,
			"runbook":     r.in.Runbook.Name(),
			"startedAt":   r.state.StartedAt,
			"trigger":     r.in.Trigger,
			"requestedBy": r.in.RequestedBy,
			"dryRun":      r.in.DryRun,
		},
	}
}

// forward runs the steps in order from r.first; it returns the error that
// stopped the run, a *continueAsNew when the run should go on in a new
// execution, or nil.
func (r *runner) forward(ctx workflow.Context) error {
	for i := r.first; i < len(r.plan.Steps); i++ {
		sp := r.plan.Steps[i]
		st := &r.state.Steps[i]
		resumed := r.resuming && i == r.first
		if !resumed && i > r.first && r.continueNow(ctx) {
			return &continueAsNew{step: i}
		}
		var err error
		if resumed {
			r.resuming = false
			err = r.resumeStep(ctx, sp, st)
		} else {
			err = r.step(ctx, sp, st)
		}
		var cont *continueAsNew
		if errors.As(err, &cont) {
			cont.step = i
			return cont
		}
		r.steps[sp.Name] = r.stepVars(st)
		if err == nil {
			r.reportStep(ctx, sp, st)
			continue
		}
		if errors.Is(err, workflow.ErrCanceled) || temporal.IsCanceledError(err) || ctx.Err() != nil {
			if st.Status == runwire.StepRunning || st.Status == runwire.StepWaitingApproval {
				st.Status = runwire.StepFailed
				st.Error = "cancelled"
				r.finishStep(ctx, st)
			}
			r.reportStep(ctx, sp, st)
			return workflow.ErrCanceled
		}
		r.reportStep(ctx, sp, st)
		if sp.OnFailure == runbooks.OnFailureContinue {
			continue
		}
		return fmt.Errorf("step %s: %s", sp.Name, st.Error)
	}
	return nil
}

// stepVars is what expressions see of a step: its whole output, even
// when the record keeps only a truncated view.
func (r *runner) stepVars(st *runwire.StepState) map[string]any {
	out := st.Output
	if full, ok := r.full[st.Name]; ok {
		out = full
	}
	return map[string]any{
		"status":   st.Status,
		"output":   runbooks.NormalizeJSON(out),
		"error":    st.Error,
		"attempts": int64(st.Attempts),
	}
}

func (r *runner) startStep(ctx workflow.Context, st *runwire.StepState) {
	now := workflow.Now(ctx).UTC()
	st.StartedAt = &now
	st.Status = runwire.StepRunning
	r.changed()
}

func (r *runner) finishStep(ctx workflow.Context, st *runwire.StepState) {
	now := workflow.Now(ctx).UTC()
	st.FinishedAt = &now
	r.changed()
}

// fail marks a step failed and returns an error for the caller.
func (r *runner) fail(ctx workflow.Context, st *runwire.StepState, format string, args ...any) error {
	st.Status = runwire.StepFailed
	st.Error = r.errorText(fmt.Sprintf(format, args...))
	r.finishStep(ctx, st)
	return errors.New(st.Error)
}

// errorText is an error as the record keeps it: redacted and clipped in
// bounded runs.
func (r *runner) errorText(s string) string {
	if !r.bounded {
		return s
	}
	return runwire.Clip(redact.Text(s), runwire.MaxErrorBytes)
}

// recordedParams are the params as a record shows them: redacted, each
// value capped.
func recordedParams(params map[string]any) map[string]any {
	out := redact.Map(params)
	//workflowcheck:ignore builds a map; order does not matter
	for k, v := range out {
		out[k] = runwire.Cap(v, runwire.MaxInputBytes)
	}
	return out
}

// Package workflows holds Firebreak's deterministic workflows. They call
// actions by name through activities and never touch the network.
package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/runbooks"
)

// Defaults for actions that name no timeout or retry.
const (
	DefaultActionTimeout  = 5 * time.Minute
	DefaultActionAttempts = 3
	DefaultRetryBackoff   = time.Second
)

// Error types the engine reports.
const (
	ErrTypeRunFailed      = "RunFailed"
	ErrTypeInvalidRunbook = "InvalidRunbook"
)

// Error types of rejected approvals, so callers can answer 404, 409 or 403.
const (
	RejectInvalid     = "InvalidApproval"
	RejectUnknownStep = "UnknownStep"
	RejectNotWaiting  = "NotWaiting"
	RejectNotAllowed  = "NotAllowed"
)

var statusKey = temporal.NewSearchAttributeKeyKeyword(names.SAStatus)

// runner interprets one run of a compiled runbook.
type runner struct {
	in      RunInput
	plan    *runbooks.Plan
	state   *RunState
	params  map[string]any
	steps   map[string]any
	pending map[string]*ApprovalRequest
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
}

// Bounds of what a run keeps.
const (
	maxAlertRecords  = 100
	maxAccessRecords = 50
)

// RunbookWorkflow runs a runbook: steps in order, each guarded by its when:,
// actions as activities, approvals as updates, and on failure or
// cancellation the rollback steps of what had completed, in reverse.
func RunbookWorkflow(ctx workflow.Context, in RunInput) (*RunState, error) {
	plan, err := runbooks.CompileCached(&in.Runbook) //workflowcheck:ignore compiling CEL is deterministic; the cache only saves work
	if err != nil {
		return nil, temporal.NewNonRetryableApplicationError("runbook does not compile: "+err.Error(), ErrTypeInvalidRunbook, nil)
	}
	r := &runner{
		in:      in,
		plan:    plan,
		params:  in.Runbook.CELParams(in.Params),
		steps:   map[string]any{},
		pending: map[string]*ApprovalRequest{},
		alert:   AlertVars(nil),
		event:   map[string]any{},
		state: &RunState{
			ID:          in.ID,
			Runbook:     in.Runbook.Name(),
			Status:      StatusRunning,
			DryRun:      in.DryRun,
			Trigger:     in.Trigger,
			RequestedBy: in.RequestedBy,
			Key:         in.Key,
			Params:      in.Params,
			StartedAt:   workflow.GetInfo(ctx).WorkflowStartTime.UTC(),
		},
	}
	for _, s := range plan.Steps {
		r.state.Steps = append(r.state.Steps, newStepState(s))
	}
	if err := workflow.SetQueryHandler(ctx, names.StatusQuery, func() (*RunState, error) {
		return r.state, nil
	}); err != nil {
		return nil, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.ApproveUpdate, r.approve,
		workflow.UpdateHandlerOptions{Validator: r.validateApproval}); err != nil {
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
	notifierDone := true
	if channel != "" {
		r.state.Slack = &SlackMessage{Channel: channel}
		r.changed()
		notifierDone = false
		nctx, _ := workflow.NewDisconnectedContext(ctx)
		workflow.Go(nctx, func(gctx workflow.Context) {
			r.notifier(gctx)
			notifierDone = true
		})
	}
	denied := workflow.GetSignalChannel(ctx, names.AccessSignal)
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var d AccessDecision
			if !denied.Receive(gctx, &d) {
				return
			}
			r.recordAccess(d)
			r.changed()
		}
	})

	// Alerts and events: the one that started the run is already waiting
	// (signal-with-start); take everything pending before the first step,
	// then keep listening while the run goes on.
	alerts := workflow.GetSignalChannel(ctx, names.AlertSignal)
	for {
		var sig AlertSignal
		if !alerts.ReceiveAsync(&sig) {
			break
		}
		r.onAlert(sig)
	}
	workflow.Go(ctx, func(gctx workflow.Context) {
		for {
			var sig AlertSignal
			if !alerts.Receive(gctx, &sig) {
				return
			}
			r.onAlert(sig)
		}
	})
	rctx, _ := workflow.NewDisconnectedContext(ctx)
	workflow.Go(rctx, func(gctx workflow.Context) {
		r.reporter(gctx)
		r.report.done = true
	})
	r.reportTo(ctx, in.Incident)

	runErr := r.forward(ctx)
	cancelled := errors.Is(runErr, workflow.ErrCanceled) || temporal.IsCanceledError(runErr)

	// Finish on a context that cancellation cannot reach: rollback must run
	// whatever happened to the run.
	fctx, _ := workflow.NewDisconnectedContext(ctx)
	if runErr != nil {
		r.state.Error = runErr.Error()
		if cancelled {
			r.state.Error = "cancelled"
		}
		r.rollback(fctx)
	}
	final := StatusSucceeded
	switch {
	case cancelled:
		final = StatusCancelled
	case runErr != nil:
		final = StatusFailed
	}
	now := workflow.Now(fctx).UTC()
	r.state.FinishedAt = &now
	r.setStatus(fctx, final)
	_ = workflow.Await(fctx, func() bool { return workflow.AllHandlersFinished(fctx) })
	r.reportFinish(fctx, final)
	// Let the Slack message show the end, but never hold the run for it.
	r.closing = true
	_, _ = workflow.AwaitWithTimeout(fctx, time.Minute, func() bool { return notifierDone })
	r.flushReports(fctx)
	if IsAutomatic(in.Trigger) {
		// The circuit breaker counts automatic runs; if the automation
		// workflow is not there, nothing is lost but the count.
		_ = workflow.SignalExternalWorkflow(fctx, names.AutomationWorkflowID, "", names.RunFinishedSignal, RunFinished{
			ID: in.ID, Runbook: in.Runbook.Name(), Key: in.Key, Status: final, Error: r.state.Error, At: now,
		}).Get(fctx, nil)
	}

	switch final {
	case StatusCancelled:
		return r.state, temporal.NewCanceledError(r.state.Error)
	case StatusFailed:
		return r.state, temporal.NewNonRetryableApplicationError(r.state.Error, ErrTypeRunFailed, nil)
	}
	return r.state, nil
}

func newStepState(s *runbooks.StepPlan) StepState {
	return StepState{Name: s.Name, Kind: s.Kind(), Action: s.Action, For: s.For, Status: StepPending}
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
	case StatusWaitingApproval, StatusRunning:
		_ = workflow.UpsertTypedSearchAttributes(ctx, statusKey.ValueSet(status))
	}
}

// vars builds what expressions see at this point of the run.
func (r *runner) vars(ctx workflow.Context) map[string]any {
	return map[string]any{
		runbooks.VarParams: r.params,
		runbooks.VarSteps:  r.steps,
		runbooks.VarNow:    workflow.Now(ctx).UTC(),
		runbooks.VarAlert:  r.alert,
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

// forward runs the steps in order; it returns the error that stopped the
// run, or nil.
func (r *runner) forward(ctx workflow.Context) error {
	for i, sp := range r.plan.Steps {
		st := &r.state.Steps[i]
		err := r.step(ctx, sp, st)
		r.steps[sp.Name] = stepVars(st)
		if err == nil {
			r.reportStep(ctx, sp, st)
			continue
		}
		if errors.Is(err, workflow.ErrCanceled) || temporal.IsCanceledError(err) || ctx.Err() != nil {
			if st.Status == StepRunning || st.Status == StepWaitingApproval {
				st.Status = StepFailed
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

func stepVars(st *StepState) map[string]any {
	return map[string]any{
		"status":   st.Status,
		"output":   runbooks.NormalizeJSON(st.Output),
		"error":    st.Error,
		"attempts": int64(st.Attempts),
	}
}

func (r *runner) startStep(ctx workflow.Context, st *StepState) {
	now := workflow.Now(ctx).UTC()
	st.StartedAt = &now
	st.Status = StepRunning
	r.changed()
}

func (r *runner) finishStep(ctx workflow.Context, st *StepState) {
	now := workflow.Now(ctx).UTC()
	st.FinishedAt = &now
	r.changed()
}

// fail marks a step failed and returns an error for the caller.
func (r *runner) fail(ctx workflow.Context, st *StepState, format string, args ...any) error {
	st.Status = StepFailed
	st.Error = fmt.Sprintf(format, args...)
	r.finishStep(ctx, st)
	return errors.New(st.Error)
}

// step runs one step and records its outcome in st.
func (r *runner) step(ctx workflow.Context, sp *runbooks.StepPlan, st *StepState) error {
	if sp.When != nil {
		vars := r.vars(ctx)
		ok, err := sp.When.EvalBool(vars)
		d := &Decision{Expression: sp.When.Expr, Result: ok, Inputs: sp.When.Inputs(vars)}
		st.Decision = d
		if err != nil {
			d.Reason = "guard could not be evaluated: " + err.Error()
			r.startStep(ctx, st)
			return r.fail(ctx, st, "when: %v", err)
		}
		if !ok {
			d.Reason = "when: " + sp.When.Expr + " is false"
			st.Status = StepSkipped
			r.changed()
			return nil
		}
		d.Reason = "when: " + sp.When.Expr + " is true"
	}
	r.startStep(ctx, st)
	var err error
	switch {
	case sp.Approval != nil:
		err = r.approval(ctx, sp, st)
	case sp.Wait != nil:
		err = r.wait(ctx, sp, st)
	default:
		err = r.action(ctx, sp, st)
	}
	if err != nil {
		return err
	}
	st.Status = StepSucceeded
	r.finishStep(ctx, st)
	return nil
}

func (r *runner) action(ctx workflow.Context, sp *runbooks.StepPlan, st *StepState) error {
	with, err := sp.With.Eval(r.vars(ctx))
	if err != nil {
		return r.fail(ctx, st, "with: %v", err)
	}
	st.With = actions.Redact(with)
	spec, _ := actions.Lookup(sp.Action)
	if r.in.DryRun && !spec.DryRun {
		st.Output = map[string]any{"dryRun": true, "wouldRun": sp.Action, "with": with}
		return nil
	}
	timeout := sp.Timeout.D()
	if timeout == 0 {
		timeout = DefaultActionTimeout
	}
	retry := &temporal.RetryPolicy{
		InitialInterval:    DefaultRetryBackoff,
		BackoffCoefficient: 2,
		MaximumAttempts:    DefaultActionAttempts,
	}
	if sp.Retry != nil {
		retry.MaximumAttempts = int32(sp.Retry.Attempts)
		if sp.Retry.Backoff > 0 {
			retry.InitialInterval = sp.Retry.Backoff.D()
		}
		if sp.Retry.MaxBackoff > 0 {
			retry.MaximumInterval = sp.Retry.MaxBackoff.D()
		}
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy:         retry,
		Summary:             sp.Name,
	})
	req := actions.Request{RunID: r.in.ID, Runbook: r.in.Runbook.Name(), Step: sp.Name, With: with, DryRun: r.in.DryRun}
	var res actions.Result
	err = workflow.ExecuteActivity(actx, sp.Action, req).Get(actx, &res)
	if err != nil {
		if temporal.IsCanceledError(err) {
			return err
		}
		st.Attempts = int(retry.MaximumAttempts)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.HasDetails() {
			var f actions.Failure
			if appErr.Details(&f) == nil && f.Attempt > 0 {
				st.Attempts = int(f.Attempt)
			}
		}
		return r.fail(ctx, st, "%s", actionMessage(err, timeout))
	}
	st.Attempts = int(res.Attempt)
	st.Output = runbooks.NormalizeJSON(res.Output)
	return nil
}

// actionMessage keeps the cause of an activity failure and drops the
// wrapping that adds nothing for a reader.
func actionMessage(err error, timeout time.Duration) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	return err.Error()
}

func (r *runner) approval(ctx workflow.Context, sp *runbooks.StepPlan, st *StepState) error {
	a := sp.Approval
	msg := a.Message
	if sp.Message != nil {
		if m, err := sp.Message.Eval(r.vars(ctx)); err == nil {
			msg, _ = m["message"].(string)
		}
	}
	onTimeout := a.OnTimeout
	if onTimeout == "" {
		onTimeout = runbooks.OnTimeoutAbort
	}
	approvers := a.Approvers
	if len(approvers) == 0 && r.in.Runbook.Spec.Access != nil {
		approvers = r.in.Runbook.Spec.Access.Approve
	}
	st.Approval = &ApprovalState{
		Message:          msg,
		SeparateApprover: a.SeparateApprover,
		Approvers:        approvers,
		Timeout:          a.Timeout.String(),
		OnTimeout:        onTimeout,
		Deadline:         workflow.Now(ctx).UTC().Add(a.Timeout.D()),
	}
	if r.in.DryRun {
		st.Output = map[string]any{"dryRun": true, "wouldAskFor": "approval", "approvers": a.Approvers}
		return nil
	}
	st.Status = StepWaitingApproval
	r.setStatus(ctx, StatusWaitingApproval)
	r.reportWaiting(ctx, st)
	decided, err := workflow.AwaitWithTimeout(ctx, a.Timeout.D(), func() bool { return r.pending[sp.Name] != nil })
	if err != nil {
		return err
	}
	r.setStatus(ctx, StatusRunning)
	st.Status = StepRunning
	if !decided {
		now := workflow.Now(ctx).UTC()
		st.Approval.Decision = DecisionTimedOut
		st.Approval.At = &now
		if onTimeout == runbooks.OnTimeoutContinue {
			st.Output = map[string]any{"approved": false, "timedOut": true}
			return nil
		}
		return r.fail(ctx, st, "approval timed out after %s", a.Timeout)
	}
	req := r.pending[sp.Name]
	st.Output = map[string]any{"approved": req.Approve, "by": req.By}
	if !req.Approve {
		reason := "denied by " + req.By
		if req.Comment != "" {
			reason += ": " + req.Comment
		}
		return r.fail(ctx, st, "%s", reason)
	}
	return nil
}

// validateApproval rejects decisions that cannot apply, before they enter
// the history: unknown step, step not waiting, approver not listed.
func (r *runner) validateApproval(_ workflow.Context, req ApprovalRequest) error {
	reject := func(kind, format string, args ...any) error {
		return temporal.NewApplicationError(fmt.Sprintf(format, args...), kind)
	}
	if strings.TrimSpace(req.By) == "" {
		return reject(RejectInvalid, "an approval must say who decided (by)")
	}
	var st *StepState
	for i := range r.state.Steps {
		if r.state.Steps[i].Name == req.Step {
			st = &r.state.Steps[i]
		}
	}
	switch {
	case st == nil:
		return reject(RejectUnknownStep, "run %s has no step %q", r.in.ID, req.Step)
	case st.Kind != "approval":
		return reject(RejectInvalid, "step %q is not an approval", req.Step)
	case st.Approval != nil && st.Approval.Decision != "":
		return reject(RejectNotWaiting, "step %q was already decided: %s by %s", req.Step, st.Approval.Decision, st.Approval.By)
	case r.pending[req.Step] != nil:
		return reject(RejectNotWaiting, "step %q was already decided by %s", req.Step, r.pending[req.Step].By)
	case st.Status != StepWaitingApproval:
		return reject(RejectNotWaiting, "step %q is not waiting for approval (it is %s)", req.Step, st.Status)
	}
	if reason := r.approvalRefusal(st, req); reason != "" {
		return reject(RejectNotAllowed, "%s", reason)
	}
	return nil
}

// approvalRefusal says why a decider may not decide a step, or "".
func (r *runner) approvalRefusal(st *StepState, req ApprovalRequest) string {
	approvers := st.Approval.Approvers
	switch {
	case st.Approval.SeparateApprover && req.By == r.in.RequestedBy:
		return fmt.Sprintf("%s requested this run; step %q needs a different approver", req.By, req.Step)
	case len(approvers) == 0 && req.Source == SourceSlack:
		return fmt.Sprintf("runbook %s lists no approvers (spec.access.approve or the step's approvers), so nobody may approve from Slack", r.in.Runbook.Name())
	case len(approvers) > 0 && !Listed(approvers, req.By, req.Groups):
		return fmt.Sprintf("%s may not decide step %q (approvers: %s)", req.By, req.Step, strings.Join(approvers, ", "))
	}
	return ""
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

// approve records a decision; the waiting step picks it up.
func (r *runner) approve(ctx workflow.Context, req ApprovalRequest) (*ApprovalState, error) {
	if err := r.validateApproval(ctx, req); err != nil {
		return nil, err
	}
	r.pending[req.Step] = &req
	for i := range r.state.Steps {
		st := &r.state.Steps[i]
		if st.Name != req.Step {
			continue
		}
		now := workflow.Now(ctx).UTC()
		st.Approval.Decision = DecisionDenied
		if req.Approve {
			st.Approval.Decision = DecisionApproved
		}
		st.Approval.By = req.By
		st.Approval.Comment = req.Comment
		st.Approval.At = &now
		r.recordAccess(AccessDecision{At: now, By: req.By, Source: req.Source, Action: "approve " + req.Step, Allowed: true})
		r.changed()
		return st.Approval, nil
	}
	return nil, fmt.Errorf("no step %q", req.Step)
}

func (r *runner) wait(ctx workflow.Context, sp *runbooks.StepPlan, st *StepState) error {
	w := sp.Wait
	if sp.Until == nil {
		if r.in.DryRun {
			st.Output = map[string]any{"dryRun": true, "wouldWait": w.Duration.String()}
			return nil
		}
		return workflow.Sleep(ctx, w.Duration.D())
	}
	deadline := workflow.Now(ctx).Add(w.Timeout.D())
	for {
		vars := r.vars(ctx)
		ok, err := sp.Until.EvalBool(vars)
		st.Attempts++
		st.Decision = &Decision{Expression: sp.Until.Expr, Result: ok, Inputs: sp.Until.Inputs(vars)}
		if err != nil {
			return r.fail(ctx, st, "wait.until: %v", err)
		}
		if ok {
			st.Decision.Reason = "until: condition holds"
			return nil
		}
		if r.in.DryRun {
			st.Output = map[string]any{"dryRun": true, "wouldWaitUntil": sp.Until.Expr}
			return nil
		}
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			return r.fail(ctx, st, "wait.until: %s still false after %s", sp.Until.Expr, w.Timeout)
		}
		seen := r.alerts
		if _, err := workflow.AwaitWithTimeout(ctx, min(w.Every.D(), left), func() bool { return r.alerts != seen }); err != nil {
			return err
		}
	}
}

// rollback runs the rollback steps of every completed step, latest first,
// then the rollback steps tied to no step. A failing rollback step is
// recorded and the others still run.
func (r *runner) rollback(ctx workflow.Context) {
	if len(r.plan.Rollback) == 0 {
		return
	}
	var failed []string
	run := func(sp *runbooks.StepPlan) bool {
		st := newStepState(sp)
		err := r.step(ctx, sp, &st)
		r.state.Rollback = append(r.state.Rollback, st)
		r.reportStep(ctx, sp, &st)
		if err != nil {
			failed = append(failed, sp.Name)
			return false
		}
		return st.Status == StepSucceeded
	}
	for i := len(r.state.Steps) - 1; i >= 0; i-- {
		fwd := &r.state.Steps[i]
		if fwd.Status != StepSucceeded {
			continue
		}
		undone, any := true, false
		for _, sp := range r.plan.Rollback {
			if sp.For == fwd.Name {
				any = true
				undone = run(sp) && undone
			}
		}
		if any && undone {
			fwd.Status = StepRolledBack
			r.steps[fwd.Name] = stepVars(fwd)
		}
	}
	for _, sp := range r.plan.Rollback {
		if sp.For == "" {
			run(sp)
		}
	}
	if len(failed) > 0 {
		r.state.Error += "; rollback failed: " + strings.Join(failed, ", ")
	}
}

// recordAccess keeps the last access decisions in the run record.
// Refusals arrive as signals and may overtake an approval recorded
// directly, so decisions are kept in the order they were made.
func (r *runner) recordAccess(d AccessDecision) {
	if len(r.state.Access) >= maxAccessRecords {
		r.state.Access = r.state.Access[1:]
	}
	i := len(r.state.Access)
	for i > 0 && r.state.Access[i-1].At.After(d.At) {
		i--
	}
	r.state.Access = slices.Insert(r.state.Access, i, d)
}

// changed notes that the run's state changed, for the Slack message.
func (r *runner) changed() { r.version++ }

// notifier keeps the run's Slack message in step with its state: it sends
// the newest state whenever it changed, one update at a time, so a burst
// of changes is one update. Slack failures never touch the run.
func (r *runner) notifier(ctx workflow.Context) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 6,
		},
		Summary: "slack message",
	})
	for {
		if err := workflow.Await(ctx, func() bool { return r.version != r.sent || r.closing }); err != nil {
			return
		}
		if r.version == r.sent {
			return
		}
		v := r.version
		msg := r.state.Slack
		var res actions.Result
		err := workflow.ExecuteActivity(ctx, actions.SlackRunMessage, actions.Request{
			RunID: r.in.ID, Runbook: r.in.Runbook.Name(), Step: "slack-message",
			With: map[string]any{"channel": msg.Channel, "ts": msg.TS, "state": r.state},
		}).Get(ctx, &res)
		if out, ok := res.Output.(map[string]any); err == nil && ok {
			// Slack answers with the channel's ID, which updates need even
			// when the runbook named the channel #like-this.
			if ts, _ := out["ts"].(string); ts != "" {
				r.state.Slack.TS = ts
			}
			if ch, _ := out["channel"].(string); ch != "" {
				r.state.Slack.Channel = ch
			}
		}
		r.sent = v
	}
}

// onAlert records an alert or event and makes it the one expressions see.
func (r *runner) onAlert(sig AlertSignal) {
	r.alerts++
	r.reportAlert(sig)
	rec := AlertRecord{Source: sig.Source, FirstAt: sig.ReceivedAt, LastAt: sig.ReceivedAt, Count: 1}
	switch {
	case sig.Alert != nil:
		r.alert = AlertVars(sig.Alert)
		rec.Fingerprint, rec.Status, rec.Labels = sig.Alert.Fingerprint, sig.Alert.Status, sig.Alert.Labels
	case sig.Event != nil:
		r.event = runbooks.NormalizeJSON(sig.Event).(map[string]any)
		rec.Fingerprint, _ = sig.Event["id"].(string)
		rec.Status, _ = sig.Event["event_type"].(string)
	default:
		return
	}
	for i := range r.state.Alerts {
		a := &r.state.Alerts[i]
		if a.Source == rec.Source && a.Fingerprint == rec.Fingerprint && a.Status == rec.Status {
			a.Count++
			a.LastAt = rec.LastAt
			return
		}
	}
	if len(r.state.Alerts) >= maxAlertRecords {
		r.state.Alerts = r.state.Alerts[1:]
	}
	r.state.Alerts = append(r.state.Alerts, rec)
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

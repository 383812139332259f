package runbook

import (
	"errors"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/runbooks"
	"github.com/firebreak-ops/firebreak/workflows/internal/wfutil"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

func newStepState(s *runbooks.StepPlan) runwire.StepState {
	return runwire.StepState{Name: s.Name, Kind: s.Kind(), Action: s.Action, For: s.For, Status: runwire.StepPending}
}

// step runs one step and records its outcome in st.
func (r *runner) step(ctx workflow.Context, sp *runbooks.StepPlan, st *runwire.StepState) error {
	if sp.When != nil {
		vars := r.vars(ctx)
		ok, err := sp.When.EvalBool(vars)
		d := &runwire.Decision{Expression: sp.When.Expr, Result: ok, Inputs: r.inputs(sp.When.Inputs(vars))}
		st.Decision = d
		if err != nil {
			d.Reason = r.errorText("guard could not be evaluated: " + err.Error())
			r.startStep(ctx, st)
			return r.fail(ctx, st, "when: %v", err)
		}
		if !ok {
			d.Reason = "when: " + sp.When.Expr + " is false"
			st.Status = runwire.StepSkipped
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
	st.Status = runwire.StepSucceeded
	r.finishStep(ctx, st)
	return nil
}

func (r *runner) action(ctx workflow.Context, sp *runbooks.StepPlan, st *runwire.StepState) error {
	with, err := sp.With.Eval(r.vars(ctx))
	if err != nil {
		return r.fail(ctx, st, "with: %v", err)
	}
	st.With = redact.Map(with)
	if r.bounded {
		if m, ok := runwire.Cap(st.With, runwire.MaxWithBytes).(map[string]any); ok {
			st.With = m
		}
	}
	spec, _ := actions.Lookup(sp.Action)
	if r.in.DryRun && !r.dryRunsItself(ctx, spec) {
		// A bounded run's dry run shows with: as its record does.
		shown := with
		if r.bounded {
			shown = st.With
		}
		st.Output = map[string]any{"dryRun": true, "wouldRun": sp.Action, "with": shown}
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
	opts := workflow.ActivityOptions{
		StartToCloseTimeout: timeout,
		RetryPolicy:         retry,
		Summary:             sp.Name,
	}
	if r.stepIDs {
		// The same ID in every run: a retry finds the workflow task that
		// scheduled the step by it.
		opts.ActivityID = names.StepActivityID(sp.Name, r.rollingBack)
	}
	actx := workflow.WithActivityOptions(ctx, opts)
	req := actions.Request{RunID: r.in.ID, Runbook: r.in.Runbook.Name(), Step: sp.Name, With: with, DryRun: r.in.DryRun, Secrets: sp.With.SecretPaths()}
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
		return r.fail(ctx, st, "%s", wfutil.ActionMessage(err, timeout))
	}
	st.Attempts = int(res.Attempt)
	st.Output = runbooks.NormalizeJSON(res.Output)
	if r.bounded {
		r.recordOutput(st)
	}
	return nil
}

// httpDryRunChange: http.request learnt to dry-run itself (it checks the
// egress policy without connecting); dry runs before it only described
// the step.
const httpDryRunChange = "http-request-dry-run"

// dryRunsItself reports whether a dry run calls the action, with dryRun
// set, rather than only describing it.
func (r *runner) dryRunsItself(ctx workflow.Context, spec actions.Spec) bool {
	if spec.Name == actions.HTTPRequest {
		return workflow.GetVersion(ctx, httpDryRunChange, workflow.DefaultVersion, 1) == 1
	}
	return spec.DryRun
}

// recordOutput keeps a step's output in the record redacted and capped at
// MaxOutputBytes; expressions keep seeing the whole output.
func (r *runner) recordOutput(st *runwire.StepState) {
	rec := runwire.Cap(st.Output, runwire.MaxOutputBytes)
	if runwire.IsTruncated(rec) {
		r.full[st.Name] = st.Output
	} else {
		delete(r.full, st.Name)
	}
	st.Output = redact.Value(rec)
}

// inputs are a guard's inputs as its decision keeps them: in bounded
// runs, each value capped and redacted.
func (r *runner) inputs(in map[string]any) map[string]any {
	if !r.bounded {
		return in
	}
	return recordedParams(in)
}

func (r *runner) wait(ctx workflow.Context, sp *runbooks.StepPlan, st *runwire.StepState) error {
	w := sp.Wait
	if sp.Until == nil {
		if r.in.DryRun {
			st.Output = map[string]any{"dryRun": true, "wouldWait": w.Duration.String()}
			return nil
		}
		if !r.bounded {
			return workflow.Sleep(ctx, w.Duration.D())
		}
		// Counted from the step's start, which an execution continued as
		// new keeps.
		_, cont, err := r.waitFor(ctx, st.StartedAt.Add(w.Duration.D()).Sub(workflow.Now(ctx)), func() bool { return false })
		if err != nil {
			return err
		}
		if cont {
			return &continueAsNew{}
		}
		return nil
	}
	deadline := workflow.Now(ctx).Add(w.Timeout.D())
	if r.bounded && st.StartedAt != nil {
		deadline = st.StartedAt.Add(w.Timeout.D())
	}
	for {
		vars := r.vars(ctx)
		ok, err := sp.Until.EvalBool(vars)
		st.Attempts++
		st.Decision = &runwire.Decision{Expression: sp.Until.Expr, Result: ok, Inputs: r.inputs(sp.Until.Inputs(vars))}
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
		if r.bounded {
			_, cont, err := r.waitFor(ctx, min(w.Every.D(), left), func() bool { return r.alerts != seen })
			if err != nil {
				return err
			}
			if cont {
				return &continueAsNew{}
			}
			continue
		}
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
		return st.Status == runwire.StepSucceeded
	}
	for i := len(r.state.Steps) - 1; i >= 0; i-- {
		fwd := &r.state.Steps[i]
		if fwd.Status != runwire.StepSucceeded {
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
			fwd.Status = runwire.StepRolledBack
			r.steps[fwd.Name] = r.stepVars(fwd)
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

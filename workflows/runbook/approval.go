package runbook

import (
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

func (r *runner) approval(ctx workflow.Context, sp *runbooks.StepPlan, st *runwire.StepState) error {
	a := sp.Approval
	onTimeout := a.OnTimeout
	if onTimeout == "" {
		onTimeout = runbooks.OnTimeoutAbort
	}
	// A bounded run that continued as new while this step waited goes on
	// waiting until the deadline it announced.
	resumed := r.bounded && st.Approval != nil && st.Status == runwire.StepWaitingApproval
	if !resumed {
		msg := a.Message
		if sp.Message != nil {
			if m, err := sp.Message.Eval(r.vars(ctx)); err == nil {
				msg, _ = m["message"].(string)
			}
		}
		approvers := a.Approvers
		if len(approvers) == 0 && r.in.Runbook.Spec.Access != nil {
			approvers = r.in.Runbook.Spec.Access.Approve
		}
		st.Approval = &runwire.ApprovalState{
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
		st.Status = runwire.StepWaitingApproval
		r.setStatus(ctx, runwire.StatusWaitingApproval)
		r.reportWaiting(ctx, st)
	}
	var decided bool
	if r.bounded {
		met, cont, err := r.waitFor(ctx, st.Approval.Deadline.Sub(workflow.Now(ctx)), func() bool { return r.pending[sp.Name] != nil })
		if err != nil {
			return err
		}
		if cont {
			return &continueAsNew{}
		}
		decided = met
	} else {
		var err error
		decided, err = workflow.AwaitWithTimeout(ctx, a.Timeout.D(), func() bool { return r.pending[sp.Name] != nil })
		if err != nil {
			return err
		}
	}
	r.setStatus(ctx, runwire.StatusRunning)
	st.Status = runwire.StepRunning
	if !decided {
		now := workflow.Now(ctx).UTC()
		st.Approval.Decision = runwire.DecisionTimedOut
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
// the history: unknown step, step not waiting, approver not listed. The
// SDK does not run validators on replay, so who may decide can change
// between versions; the handler itself re-checks only the step's state.
func (r *runner) validateApproval(ctx workflow.Context, req runwire.ApprovalRequest) error {
	if err := r.decidable(ctx, req); err != nil {
		return err
	}
	var st *runwire.StepState
	for i := range r.state.Steps {
		if r.state.Steps[i].Name == req.Step {
			st = &r.state.Steps[i]
		}
	}
	if reason := r.approvalRefusal(st, req); reason != "" {
		return temporal.NewApplicationError(reason, runwire.RejectNotAllowed)
	}
	return nil
}

// decidable rejects a decision the step's state cannot take: no decider,
// unknown step, not an approval, not waiting or decided already.
func (r *runner) decidable(_ workflow.Context, req runwire.ApprovalRequest) error {
	reject := func(kind, format string, args ...any) error {
		return temporal.NewApplicationError(fmt.Sprintf(format, args...), kind)
	}
	if strings.TrimSpace(req.By) == "" {
		return reject(runwire.RejectInvalid, "an approval must say who decided (by)")
	}
	var st *runwire.StepState
	for i := range r.state.Steps {
		if r.state.Steps[i].Name == req.Step {
			st = &r.state.Steps[i]
		}
	}
	switch {
	case st == nil:
		return reject(runwire.RejectUnknownStep, "run %s has no step %q", r.in.ID, req.Step)
	case st.Kind != "approval":
		return reject(runwire.RejectInvalid, "step %q is not an approval", req.Step)
	case st.Approval != nil && st.Approval.Decision != "":
		return reject(runwire.RejectNotWaiting, "step %q was already decided: %s by %s", req.Step, st.Approval.Decision, st.Approval.By)
	case r.pending[req.Step] != nil:
		return reject(runwire.RejectNotWaiting, "step %q was already decided by %s", req.Step, r.pending[req.Step].By)
	case st.Status != runwire.StepWaitingApproval:
		return reject(runwire.RejectNotWaiting, "step %q is not waiting for approval (it is %s)", req.Step, st.Status)
	}
	return nil
}

// approvalRefusal says why a decider may not decide a step, or "".
func (r *runner) approvalRefusal(st *runwire.StepState, req runwire.ApprovalRequest) string {
	approvers := st.Approval.Approvers
	switch {
	case st.Approval.SeparateApprover && req.By == r.in.RequestedBy:
		return fmt.Sprintf("%s requested this run; step %q needs a different approver", req.By, req.Step)
	case len(approvers) == 0 && !req.Operator:
		return fmt.Sprintf("runbook %s lists no approvers (spec.access.approve or the step's approvers), so only the operator token may decide step %q", r.in.Runbook.Name(), req.Step)
	case len(approvers) > 0 && !runwire.Listed(approvers, req.By, req.Groups):
		return fmt.Sprintf("%s may not decide step %q (approvers: %s)", req.By, req.Step, strings.Join(approvers, ", "))
	}
	return ""
}

// approve records a decision; the waiting step picks it up.
func (r *runner) approve(ctx workflow.Context, req runwire.ApprovalRequest) (*runwire.ApprovalState, error) {
	if err := r.decidable(ctx, req); err != nil {
		return nil, err
	}
	r.pending[req.Step] = &req
	for i := range r.state.Steps {
		st := &r.state.Steps[i]
		if st.Name != req.Step {
			continue
		}
		now := workflow.Now(ctx).UTC()
		st.Approval.Decision = runwire.DecisionDenied
		if req.Approve {
			st.Approval.Decision = runwire.DecisionApproved
		}
		st.Approval.By = req.By
		st.Approval.Comment = req.Comment
		st.Approval.At = &now
		r.recordAccess(runwire.AccessDecision{At: now, By: req.By, Source: req.Source, Action: "approve " + req.Step, Allowed: true})
		r.changed()
		return st.Approval, nil
	}
	return nil, fmt.Errorf("no step %q", req.Step)
}

// validateRefusal turns away, before it reaches the history, a refusal
// the run already recorded (same person, action and reason) and any beyond
// maxRefusals: a flood of refused approvals costs the run nothing.
func (r *runner) validateRefusal(_ workflow.Context, d runwire.AccessDecision) error {
	reject := func(kind, format string, args ...any) error {
		return temporal.NewApplicationError(fmt.Sprintf(format, args...), kind)
	}
	switch {
	case d.Allowed:
		return reject(runwire.RejectInvalid, "only refusals are recorded this way")
	case strings.TrimSpace(d.By) == "":
		return reject(runwire.RejectInvalid, "a refusal must say who was refused (by)")
	case r.refusals >= maxRefusals:
		return reject(runwire.RejectRecorded, "run %s has recorded %d refusals, as many as it keeps", r.in.ID, maxRefusals)
	}
	d = refusalRecord(d)
	for _, have := range r.state.Access {
		if !have.Allowed && have.By == d.By && have.Action == d.Action && have.Reason == d.Reason {
			return reject(runwire.RejectRecorded, "this refusal of %s is already recorded", d.By)
		}
	}
	return nil
}

// recordRefusal records a refused attempt the validator let through.
func (r *runner) recordRefusal(ctx workflow.Context, d runwire.AccessDecision) error {
	if err := r.validateRefusal(ctx, d); err != nil {
		return err
	}
	r.refusals++
	r.refusedHere++
	r.recordAccess(refusalRecord(d))
	r.changed()
	return nil
}

// refusalRecord is a refusal as the record keeps it: clipped and redacted.
func refusalRecord(d runwire.AccessDecision) runwire.AccessDecision {
	d.Allowed = false
	d.By = runwire.Clip(d.By, 200)
	d.Source = runwire.Clip(d.Source, 50)
	d.Action = runwire.Clip(d.Action, 300)
	d.Reason = runwire.Clip(redact.Text(d.Reason), runwire.MaxReasonBytes)
	return d
}

// recordAccess keeps the last access decisions in the run record.
// Refusals arrive separately (an update, or a signal from an older API)
// and may overtake an approval recorded directly, so decisions are kept in
// the order they were made.
func (r *runner) recordAccess(d runwire.AccessDecision) {
	if len(r.state.Access) >= maxAccessRecords {
		r.state.Access = r.state.Access[1:]
	}
	i := len(r.state.Access)
	for i > 0 && r.state.Access[i-1].At.After(d.At) {
		i--
	}
	r.state.Access = slices.Insert(r.state.Access, i, d)
}

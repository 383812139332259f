package runs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/converter"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/automation"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/temporalx"
	"github.com/firebreak-ops/firebreak/runbooks"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Ledger is what a retry needs of the delivery ledger: each retry request
// is taken once, one at a time, so a double click resets once.
type Ledger interface {
	Claim(ctx context.Context, key string, occurredAt time.Time) (*automation.Claim, error)
	Settle(ctx context.Context, c *automation.Claim, delivered bool) error
}

// Bounds of a retry request.
const (
	maxRetryReason = 1 << 10
	maxRequestID   = 128
	// retryLedgerPrefix keys retries in the delivery ledger.
	retryLedgerPrefix = "run-retry:"
)

// RetryRequest asks to retry a finished run from a step.
type RetryRequest struct {
	// From is the step to go on from; empty means the step that failed.
	From   string `json:"from,omitempty"`
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
	// RunID is the Temporal run the caller saw (a Slack button carries
	// it); empty means the run's latest.
	RunID string `json:"runId,omitempty"`
	// RequestID makes a repeated request the same retry; empty means one
	// derived from the run and the step, so two clicks on the same button
	// are one retry.
	RequestID string `json:"requestId,omitempty"`
	// Principal is who asks, when the transport knows; nil means the
	// API's single-token mode.
	Principal *access.Principal `json:"-"`
	// Source is the transport ("api", "slack").
	Source string `json:"-"`
}

// RetryResult says what a retry did.
type RetryResult struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// RunID is the new Temporal run; BaseRunID the one that was reset.
	RunID     string `json:"runId"`
	BaseRunID string `json:"baseRunId"`
	Runbook   string `json:"runbook"`
	From      string `json:"from"`
	// Kept are the steps before From: their outcome comes from the
	// history; they do not run again.
	Kept []string `json:"kept,omitempty"`
	// RunbookVersion is the digest of the runbook the run started with,
	// which the retried run keeps using; RunbookChanged says the
	// catalog's runbook of that name is different now.
	RunbookVersion string `json:"runbookVersion"`
	RunbookChanged bool   `json:"runbookChanged,omitempty"`
	// RolledBack lists the steps whose rollback ran when the run failed;
	// the retry does not redo them.
	RolledBack []string `json:"rolledBack,omitempty"`
	// Duplicate: this request was already taken (a double click); the
	// run was reset once.
	Duplicate bool   `json:"duplicate,omitempty"`
	RequestID string `json:"requestId"`
	Status    string `json:"status"`
	URL       string `json:"url,omitempty"`
	Note      string `json:"note"`
}

// Retry resets a finished run to the workflow task that started a step
// (the failed one, or req.From), so the steps before it keep their
// outcome from the history and the run goes on from there, with the
// runbook it started with. Only finished runs (Conflict otherwise), for
// those who may run the runbook (Forbidden otherwise). Approvals decided
// after that point are asked again; alerts received after it are applied
// again. Who retried, from where and why goes into the run's record.
func (s *Service) Retry(ctx context.Context, ref string, req RetryRequest) (*RetryResult, error) {
	if len(req.Reason) > maxRetryReason {
		return nil, access.Errorf(access.Invalid, "reason", "reason has more than %d bytes", maxRetryReason)
	}
	if len(req.RequestID) > maxRequestID {
		return nil, access.Errorf(access.Invalid, "requestId", "requestId has more than %d bytes", maxRequestID)
	}
	if s.Ledger == nil {
		return nil, access.Errorf(access.Unavailable, "", "retries are not available here")
	}
	id, runID, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	if req.RunID == "" {
		req.RunID = runID
	}
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil, access.RunError(id, err)
	}
	current := desc.GetWorkflowExecutionInfo()
	if current.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && (req.RunID == "" || req.RunID == current.GetExecution().GetRunId()) {
		current = s.awaitClosing(ctx, id, current)
	}
	base := req.RunID
	if base == "" {
		base = current.GetExecution().GetRunId()
	}
	in, err := s.runInput(ctx, id, base)
	if err != nil {
		return nil, err
	}
	if err := s.mayRetry(&in.Runbook, req.Principal, in.DryRun); err != nil {
		return nil, err
	}
	if req.By == "" && req.Principal != nil {
		req.By = req.Principal.ID
	}
	if strings.TrimSpace(req.By) == "" {
		return nil, access.Errorf(access.Invalid, "by", "by is required: who retries")
	}
	res := &RetryResult{ID: id, Name: in.Name, BaseRunID: base, Runbook: in.Runbook.Name(), From: req.From,
		RunbookVersion: RunbookVersion(&in.Runbook)}
	if plan, ok := s.Catalog.Get(in.Runbook.Name()); ok {
		res.RunbookChanged = RunbookVersion(plan.Runbook) != res.RunbookVersion
	}
	res.Note = "the retried run uses the runbook it started with (version " + res.RunbookVersion + ")"
	if res.RunbookChanged {
		res.Note += "; the catalog's " + res.Runbook + " has changed since: use `runs rerun` for a new run with it"
	}
	if current.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && current.GetExecution().GetRunId() == base {
		return nil, access.Errorf(access.Conflict, "", "run %s is still running: only a finished run can be retried", ref)
	}

	// The step to go on from, and the workflow task that started it.
	st, err := s.GetRun(ctx, id, base)
	if err != nil {
		return nil, err
	}
	target, err := retryStep(st, req.From)
	if err != nil {
		return nil, err
	}
	res.From = target.Name
	res.Kept, res.RolledBack = keptAndRolledBack(st, target.Name)
	res.RequestID = req.RequestID
	if res.RequestID == "" {
		res.RequestID = RetryRequestID(id, base, target.Name)
	}

	// One request, one reset: the ledger takes each request ID once. A
	// request that finds another one taking it waits for its outcome.
	claim, err := s.claimRetry(ctx, res.RequestID)
	if err != nil {
		return nil, err
	}
	switch claim.Result {
	case automationwire.ClaimNew:
	case automationwire.ClaimDuplicate, automationwire.ClaimBusy:
		// Taken before: answer with the run as it is now.
		res.Duplicate = true
		res.RunID, res.Status = current.GetExecution().GetRunId(), runwire.StatusRunning
		if now, err := s.Client.DescribeWorkflowExecution(ctx, id, ""); err == nil {
			info := now.GetWorkflowExecutionInfo()
			res.RunID, res.Status = info.GetExecution().GetRunId(), runStatus(info.GetStatus(), "")
		}
		res.URL = s.runURL(id, res.RunID)
		return res, nil
	default:
		return nil, access.Errorf(access.Conflict, "", "retry request %s is too old to take", res.RequestID)
	}
	newRunID, err := s.reset(ctx, id, base, current, target, req, res.RequestID)
	settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	// Once reset, the request is taken, even if its record was not sent.
	// A lost settle only lets the claim's lease run out.
	_ = s.Ledger.Settle(settleCtx, claim, newRunID != "")
	if err != nil {
		return nil, err
	}
	res.RunID, res.Status = newRunID, runwire.StatusRunning
	res.URL = s.runURL(id, newRunID)
	return res, nil
}

// closingWait bounds how long a retry waits for a run whose record says
// it finished while its workflow still closes (its last Slack update and
// incident reports).
const closingWait = 15 * time.Second

// awaitClosing waits, up to closingWait, for a run that has recorded its
// end to close, and returns its execution as it is then.
func (s *Service) awaitClosing(ctx context.Context, id string, current *workflowpb.WorkflowExecutionInfo) *workflowpb.WorkflowExecutionInfo {
	runID := current.GetExecution().GetRunId()
	st, err := s.GetRun(ctx, id, runID)
	if err != nil || !st.Done() {
		return current
	}
	wctx, cancel := context.WithTimeout(ctx, closingWait)
	defer cancel()
	// The run's own outcome (a failure, most often) is not this call's.
	_ = s.Client.GetWorkflow(wctx, id, runID).Get(wctx, nil)
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return current
	}
	return desc.GetWorkflowExecutionInfo()
}

// keptAndRolledBack lists the steps before from, which a retry keeps from
// the history, and the steps the run rolled back, which it does not redo.
func keptAndRolledBack(st *runwire.RunState, from string) (kept, rolledBack []string) {
	for _, step := range st.Steps {
		if step.Name == from {
			break
		}
		kept = append(kept, step.Name)
	}
	for _, step := range st.Steps {
		if step.Status == runwire.StepRolledBack {
			rolledBack = append(rolledBack, step.Name)
		}
	}
	return kept, rolledBack
}

// claimRetry claims a retry request in the ledger, waiting while another
// request holds it (up to its lease).
func (s *Service) claimRetry(ctx context.Context, requestID string) (*automation.Claim, error) {
	for {
		claim, err := s.Ledger.Claim(ctx, retryLedgerPrefix+requestID, s.now().UTC())
		if err != nil || claim.Result != automationwire.ClaimBusy {
			return claim, err
		}
		select {
		case <-ctx.Done():
			return claim, nil
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// reset finds the workflow task that started target in the base run's
// history and resets the run there.
func (s *Service) reset(ctx context.Context, id, base string, current *workflowpb.WorkflowExecutionInfo, target *runwire.StepState, req RetryRequest, requestID string) (string, error) {
	if current.GetExecution().GetRunId() != base {
		return "", access.Errorf(access.Conflict, "runId", "run %s has a later execution (%s) than the one to retry (%s)", id, current.GetExecution().GetRunId(), base)
	}
	point, err := s.resetPoint(ctx, id, base, target)
	if err != nil {
		return "", err
	}
	reason := fmt.Sprintf("firebreak retry from %s by %s", target.Name, req.By)
	if req.Reason != "" {
		reason += ": " + req.Reason
	}
	resp, err := s.Client.WorkflowService().ResetWorkflowExecution(ctx, &workflowservice.ResetWorkflowExecutionRequest{
		Namespace:                 s.Namespace,
		WorkflowExecution:         &commonpb.WorkflowExecution{WorkflowId: id, RunId: base},
		Reason:                    reason,
		WorkflowTaskFinishEventId: point,
		RequestId:                 requestID,
		// Signals (alerts) after the point are applied again; updates
		// (approval decisions, recorded refusals) are not: approvals are
		// asked again.
		ResetReapplyExcludeTypes: []enumspb.ResetReapplyExcludeType{enumspb.RESET_REAPPLY_EXCLUDE_TYPE_UPDATE},
		Identity:                 "firebreak",
	})
	if err != nil {
		return "", access.RunError(id, err)
	}
	// The record of the retry. Temporal's post-reset signal would put it
	// in the new run's history atomically, but this server (v1.32) takes
	// only versioning options there; the new run waits for this signal
	// before it finishes (see the runbook workflow's awaitRetryRecord).
	rec := runwire.RetryRecord{At: s.now().UTC(), By: req.By, Source: req.Source, From: target.Name,
		Reason: req.Reason, RequestID: requestID, BaseRunID: base, RunID: resp.GetRunId()}
	if err := s.Client.SignalWorkflow(ctx, id, resp.GetRunId(), names.RetrySignal, rec); err != nil {
		return resp.GetRunId(), access.RunError(id, fmt.Errorf("run %s was reset, but its retry record was not sent: %w", id, err))
	}
	return resp.GetRunId(), nil
}

// retryStep picks the step to retry from: the one named, or the first
// that failed. It must have started in this execution.
func retryStep(st *runwire.RunState, from string) (*runwire.StepState, error) {
	for i := range st.Steps {
		s := &st.Steps[i]
		if from == "" && s.Status != runwire.StepFailed {
			continue
		}
		if from != "" && s.Name != from {
			continue
		}
		if s.StartedAt == nil {
			return nil, access.Errorf(access.Invalid, "from", "step %s did not start in this run (%s); retry from a step that ran", s.Name, s.Status)
		}
		return s, nil
	}
	if from != "" {
		return nil, access.Errorf(access.NotFound, "from", "run %s has no step %q", st.ID, from)
	}
	return nil, access.Errorf(access.Invalid, "from", "run %s has no failed step (it %s); name one with from", st.ID, st.Status)
}

// resetPoint is the WorkflowTaskCompleted event of the workflow task that
// started the step: for an action with a stable activity ID
// (names.StepActivityID), the task that scheduled it; otherwise the task
// that began at the step's start time (workflow time is the workflow
// task's start).
func (s *Service) resetPoint(ctx context.Context, id, runID string, st *runwire.StepState) (int64, error) {
	it := s.Client.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	activityID := names.StepActivityID(st.Name, false)
	var started int64
	var byTime int64
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return 0, access.RunError(id, err)
		}
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			if a := e.GetActivityTaskScheduledEventAttributes(); st.Action != "" && a.GetActivityId() == activityID {
				return a.GetWorkflowTaskCompletedEventId(), nil
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			started = 0
			if st.StartedAt != nil && e.GetEventTime().AsTime().Equal(*st.StartedAt) {
				started = e.GetEventId()
			}
		case enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
			if started != 0 && byTime == 0 {
				byTime = e.GetEventId()
			}
		}
	}
	if byTime == 0 {
		return 0, access.Errorf(access.Conflict, "from", "step %s started in an earlier execution of run %s; retry from a later step", st.Name, id)
	}
	return byTime, nil
}

// runInput reads what a run execution started with: its first event's
// input.
func (s *Service) runInput(ctx context.Context, id, runID string) (*runwire.RunInput, error) {
	it := s.Client.GetWorkflowHistory(ctx, id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	if !it.HasNext() {
		return nil, access.Errorf(access.NotFound, "id", "no run %q", id)
	}
	e, err := it.Next()
	if err != nil {
		return nil, access.RunError(id, err)
	}
	return decodeInput(id, e)
}

func decodeInput(id string, e *historypb.HistoryEvent) (*runwire.RunInput, error) {
	a := e.GetWorkflowExecutionStartedEventAttributes()
	if a == nil || a.GetWorkflowType().GetName() != names.RunbookWorkflow {
		return nil, access.Errorf(access.NotFound, "id", "%s is not a runbook run", id)
	}
	var in runwire.RunInput
	if err := converter.GetDefaultDataConverter().FromPayloads(a.GetInput(), &in); err != nil {
		return nil, fmt.Errorf("reading run %s's input: %w", id, err)
	}
	return &in, nil
}

// mayRetry applies the runbook's spec.access.run: the catalog's, or the
// one the run started with when the catalog no longer has it.
func (s *Service) mayRetry(rb *runbooks.Runbook, p *access.Principal, dryRun bool) error {
	var allowed []string
	if plan, ok := s.Catalog.Get(rb.Name()); ok {
		rb = plan.Runbook
	}
	if a := rb.Spec.Access; a != nil {
		allowed = a.Run
	}
	return access.MayRun("runbook", rb.Name(), "retry a run of "+rb.Name(), allowed, p, dryRun)
}

// RunbookVersion is a short digest of a runbook's definition.
func RunbookVersion(rb *runbooks.Runbook) string {
	b, _ := json.Marshal(rb)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// RetryRequestID is the request ID of retrying one execution of a run
// from a step: the same for the same three, so repeats are one retry.
func RetryRequestID(id, runID, step string) string {
	sum := sha256.Sum256([]byte(id + "\x00" + runID + "\x00" + step))
	return "retry-" + hex.EncodeToString(sum[:16])
}

// RerunRequest asks for a new run with the params of an earlier one.
type RerunRequest struct {
	RequestedBy string `json:"requestedBy,omitempty"`
	DryRun      bool   `json:"dryRun,omitempty"`
	// Trigger, Principal and Notify are set by the transport.
	Trigger   string            `json:"-"`
	Principal *access.Principal `json:"-"`
	Notify    *runwire.Notify   `json:"-"`
}

// Rerun starts a new run of the same runbook, as the catalog has it now,
// with the params an earlier run started with (read from its history, not
// its redacted record). It is a new run with a name of its own; the
// earlier run must be finished when they share a concurrency key.
func (s *Service) Rerun(ctx context.Context, ref string, req RerunRequest) (*Ref, error) {
	id, runID, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, err
	}
	in, err := s.runInput(ctx, id, runID)
	if err != nil {
		return nil, err
	}
	// Every execution's input carries the params the run started with,
	// also after it continued as new.
	return s.StartRun(ctx, StartRequest{
		Runbook: in.Runbook.Name(), Params: in.Params, DryRun: req.DryRun || in.DryRun,
		RequestedBy: req.RequestedBy, Trigger: req.Trigger, Principal: req.Principal, Notify: req.Notify,
		Incident: in.Incident,
	})
}

// Resolve turns what a caller calls a run — its workflow ID or its name —
// into its workflow ID and, for a name, its latest Temporal run.
func (s *Service) Resolve(ctx context.Context, ref string) (id, runID string, err error) {
	if names.IsRunWorkflowID(ref) {
		return ref, "", nil
	}
	if !names.IsRunName(ref) {
		return "", "", access.Errorf(access.NotFound, "id", "no run %q (runs are named run-… or runbook:<name>:<key>)", ref)
	}
	q := fmt.Sprintf("WorkflowType = '%s' AND %s = '%s'", names.RunbookWorkflow, names.SARunName, ref)
	err = temporalx.List(ctx, s.Client, s.Namespace, q, 1, func(e *workflowpb.WorkflowExecutionInfo) bool {
		id, runID = e.GetExecution().GetWorkflowId(), e.GetExecution().GetRunId()
		return false
	})
	if err != nil {
		return "", "", access.TemporalError(err)
	}
	if id == "" {
		return "", "", access.Errorf(access.NotFound, "id", "no run named %q", ref)
	}
	return id, runID, nil
}

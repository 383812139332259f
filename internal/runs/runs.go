// Package runs starts, prepares, lists, reads, approves and cancels
// runbook runs, and says whether Firebreak is ready to run them. Every
// transport (HTTP API, CLI through the API, Slack) and the alert router
// start runs through it.
package runs

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/ids"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/temporalx"
	"github.com/firebreak-ops/firebreak/runbooks"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Incidents is what runs need of incidents: a run names an incident, or
// is started from an incident's Slack channel, and reports to it.
type Incidents interface {
	GetIncident(ctx context.Context, id string) (*incidentwire.Incident, error)
	IncidentByChannel(ctx context.Context, channel string) (string, error)
}

// Service starts, prepares, lists, reads, approves and cancels runbook
// runs on a Temporal client.
type Service struct {
	Client    client.Client
	Catalog   *runbooks.Catalog
	Namespace string
	// UIURL is the Temporal Web UI's base URL for links, if any.
	UIURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Incidents checks the incident a run names; without it runs link to
	// no incident.
	Incidents Incidents
	// Ledger takes each retry request once; without it runs cannot be
	// retried.
	Ledger Ledger
	// WorkerRequired makes Ready wait for a worker: set in processes that
	// run one themselves.
	WorkerRequired bool
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Runbooks lists the catalog.
func (s *Service) Runbooks() []runbooks.Summary {
	out := []runbooks.Summary{}
	for _, p := range s.Catalog.List() {
		out = append(out, p.Summary())
	}
	return out
}

// StartRequest asks for a run.
type StartRequest struct {
	Runbook     string         `json:"runbook"`
	Params      map[string]any `json:"params,omitempty"`
	DryRun      bool           `json:"dryRun,omitempty"`
	RequestedBy string         `json:"requestedBy,omitempty"`
	// Trigger is set by the transport, not the caller.
	Trigger string `json:"-"`
	// Principal is who asks, when the transport knows (Slack); nil means
	// the API's single-token mode, which may run anything.
	Principal *access.Principal `json:"-"`
	// Notify says where the run reports (the Slack channel it came from).
	Notify *runwire.Notify `json:"-"`
	// Incident links the run to an incident (INC-…): it reports its
	// steps, decisions and approvals there.
	Incident string `json:"incident,omitempty"`
}

// mayRun decides whether p may start this run: anyone may dry-run; real
// runs need the principal (or one of its groups) in spec.access.run.
func mayRun(plan *runbooks.Plan, p *access.Principal, dryRun bool) error {
	var allowed []string
	if a := plan.Runbook.Spec.Access; a != nil {
		allowed = a.Run
	}
	return access.MayRun("runbook", plan.Name(), "run "+plan.Name()+" for real", allowed, p, dryRun)
}

// Ref identifies a run.
type Ref struct {
	ID string `json:"id"`
	// Name is the run's own short name (run-…).
	Name    string `json:"name,omitempty"`
	RunID   string `json:"runId,omitempty"`
	Runbook string `json:"runbook"`
	Status  string `json:"status"`
	Key     string `json:"key,omitempty"`
	DryRun  bool   `json:"dryRun,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Prepared is a validated start request: the workflow ID and input that
// would start it.
type Prepared struct {
	Plan  *runbooks.Plan
	ID    string
	Input runwire.RunInput
}

// Prepare validates a start request without starting anything.
func (s *Service) Prepare(req StartRequest) (*Prepared, error) {
	if req.Runbook == "" {
		return nil, access.Errorf(access.Invalid, "runbook", "runbook is required")
	}
	if req.Incident != "" && !names.IsIncidentID(req.Incident) {
		return nil, access.Errorf(access.Invalid, "incident", "incident must be an incident ID like INC-2026-0042, not %q", req.Incident)
	}
	plan, ok := s.Catalog.Get(req.Runbook)
	if !ok {
		return nil, access.Errorf(access.Invalid, "runbook", "unknown runbook %q", req.Runbook)
	}
	if err := mayRun(plan, req.Principal, req.DryRun); err != nil {
		return nil, err
	}
	params, err := plan.Runbook.ResolveParams(req.Params)
	if err != nil {
		var pe *runbooks.ParamError
		if errors.As(err, &pe) {
			return nil, access.Errorf(access.Invalid, "params."+pe.Param, "%s", pe.Error())
		}
		return nil, access.Errorf(access.Invalid, "params", "%v", err)
	}
	key := ""
	if plan.Concurrency != nil {
		v, err := plan.Concurrency.Eval(map[string]any{
			runbooks.VarParams: plan.Runbook.CELParams(params),
			runbooks.VarNow:    s.now().UTC(),
			runbooks.VarRun: map[string]any{
				"id": "", "runbook": plan.Name(), "startedAt": s.now().UTC(),
				"trigger": req.Trigger, "requestedBy": req.RequestedBy, "dryRun": req.DryRun,
			},
		})
		if err != nil {
			return nil, access.Errorf(access.Invalid, "params", "spec.concurrency %s: %v", plan.Concurrency.Expr, err)
		}
		key, _ = v.(string)
		if key == "" {
			return nil, access.Errorf(access.Invalid, "params", "spec.concurrency %s gave an empty key", plan.Concurrency.Expr)
		}
		if len(key) > 200 {
			return nil, access.Errorf(access.Invalid, "params", "spec.concurrency gave a key longer than 200 characters")
		}
	}
	trigger := req.Trigger
	if trigger == "" && req.Principal != nil && req.Principal.Source == runwire.SourceSlack {
		trigger = runwire.TriggerSlack
	}
	if trigger == "" {
		trigger = runwire.TriggerAPI
	}
	var id string
	switch {
	case req.DryRun:
		// A dry run never takes its target's lock (the real run's ID), so
		// it cannot hold a real run back or receive its alerts.
		id = names.DryRunWorkflowID(plan.Name(), ids.NewSuffix())
	case key == "":
		// No concurrency key: any number of runs at once, each its own ID.
		id = names.RunWorkflowID(plan.Name(), ids.NewSuffix())
	default:
		id = names.RunWorkflowID(plan.Name(), key)
	}
	return &Prepared{Plan: plan, ID: id, Input: runwire.RunInput{
		ID: id, Name: names.RunName(ids.NewRunName()), Runbook: *plan.Runbook, Params: params, Key: key,
		DryRun: req.DryRun, Trigger: trigger, RequestedBy: req.RequestedBy, Notify: req.Notify,
		Incident: req.Incident,
	}}, nil
}

// Attributes are the search attributes a prepared run starts with.
func (p *Prepared) Attributes() temporalx.Attributes {
	return temporalx.Attributes{Runbook: p.Plan.Name(), Status: runwire.StatusRunning,
		Trigger: p.Input.Trigger, Key: p.Input.Key, DryRun: p.Input.DryRun, Name: p.Input.Name}
}

// startOptions returns the Temporal options a prepared run starts with.
func startOptions(p *Prepared) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       p.ID,
		TaskQueue:                names.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		EnableEagerStart:         true,
		// Without this the SDK hands back the open run instead of an error.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("%s (%s)", p.Plan.Name(), p.Input.Trigger),
		TypedSearchAttributes:                    p.Attributes().Typed(),
	}
}

// StartRun validates and starts a run. A run already open for the same
// concurrency key is a Conflict naming it.
func (s *Service) StartRun(ctx context.Context, req StartRequest) (*Ref, error) {
	p, err := s.Prepare(req)
	if err != nil {
		return nil, err
	}
	if err := s.linkIncident(ctx, &req, p); err != nil {
		return nil, err
	}
	run, err := s.Client.ExecuteWorkflow(ctx, startOptions(p), names.RunbookWorkflow, p.Input)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil, access.Errorf(access.Conflict, "", "runbook %s already has a run for %q: %s", p.Plan.Name(), p.Input.Key, p.ID)
		}
		return nil, access.TemporalError(err)
	}
	return &Ref{ID: p.ID, Name: p.Input.Name, RunID: run.GetRunID(), Runbook: p.Plan.Name(), Status: runwire.StatusRunning,
		Key: p.Input.Key, DryRun: p.Input.DryRun, URL: s.runURL(p.ID, run.GetRunID())}, nil
}

func (s *Service) runURL(id, runID string) string {
	return temporalx.HistoryURL(s.UIURL, s.Namespace, id, runID)
}

// Filter narrows a run listing.
type Filter struct {
	Runbook string
	Status  string
	// Trigger keeps runs started so (api, cli, slack, alertmanager,
	// pagerduty); Since and Until bound their start time. Zero: any.
	Trigger string
	Since   time.Time
	Until   time.Time
	Limit   int
}

var safeValue = regexp.MustCompile(`^[A-Za-z0-9_.:/-]*$`)

// Summary is one entry of a run listing.
type Summary struct {
	Ref
	Trigger    string     `json:"trigger,omitempty"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// ListRuns lists runs, newest first.
func (s *Service) ListRuns(ctx context.Context, f Filter) ([]Summary, error) {
	q, f, err := runsQuery(f)
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	seen := map[string]bool{}
	err = temporalx.List(ctx, s.Client, s.Namespace, q, f.Limit, func(e *workflowpb.WorkflowExecutionInfo) bool {
		if sum, ok := s.summary(e, seen); ok {
			out = append(out, sum)
		}
		return len(out) < f.Limit
	})
	if err != nil {
		return nil, access.TemporalError(err)
	}
	return out, nil
}

// ListRunsPage lists one page of runs in Temporal's order (open runs
// first, then by close time, newest first): up to f.Limit of them, and
// the token of the next page (nil after the last). token is the previous
// page's, or nil for the first; pages follow one another without gaps or
// repeats however the runs' start and close times interleave.
func (s *Service) ListRunsPage(ctx context.Context, f Filter, token []byte) ([]Summary, []byte, error) {
	q, f, err := runsQuery(f)
	if err != nil {
		return nil, nil, err
	}
	resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: s.Namespace, Query: q, PageSize: int32(f.Limit), NextPageToken: token,
	})
	if err != nil {
		if access.Is(access.TemporalError(err), access.Busy) || access.Is(access.TemporalError(err), access.Unavailable) {
			return nil, nil, access.TemporalError(err)
		}
		return nil, nil, access.Errorf(access.Invalid, "page", "that page of runs cannot be read any more; start from the first")
	}
	out := []Summary{}
	seen := map[string]bool{}
	for _, e := range resp.GetExecutions() {
		if sum, ok := s.summary(e, seen); ok {
			out = append(out, sum)
		}
	}
	return out, resp.GetNextPageToken(), nil
}

// runsQuery checks a filter and turns it into a visibility query.
func runsQuery(f Filter) (string, Filter, error) {
	if !safeValue.MatchString(f.Runbook) {
		return "", f, access.Errorf(access.Invalid, "runbook", "bad runbook filter %q", f.Runbook)
	}
	switch f.Status {
	case "", runwire.StatusRunning, runwire.StatusWaitingApproval, runwire.StatusSucceeded, runwire.StatusFailed, runwire.StatusCancelled:
	default:
		return "", f, access.Errorf(access.Invalid, "status", "status must be one of running, waiting_approval, succeeded, failed, cancelled")
	}
	if !safeValue.MatchString(f.Trigger) {
		return "", f, access.Errorf(access.Invalid, "trigger", "bad trigger filter %q", f.Trigger)
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := fmt.Sprintf("WorkflowType = '%s'", names.RunbookWorkflow)
	if f.Runbook != "" {
		q += fmt.Sprintf(" AND %s = '%s'", names.SARunbook, f.Runbook)
	}
	if f.Trigger != "" {
		q += fmt.Sprintf(" AND %s = '%s'", names.SATrigger, f.Trigger)
	}
	if !f.Since.IsZero() {
		q += fmt.Sprintf(" AND StartTime >= '%s'", f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q += fmt.Sprintf(" AND StartTime <= '%s'", f.Until.UTC().Format(time.RFC3339Nano))
	}
	switch f.Status {
	case runwire.StatusRunning:
		q += fmt.Sprintf(" AND ExecutionStatus = 'Running' AND %s != '%s'", names.SAStatus, runwire.StatusWaitingApproval)
	case runwire.StatusWaitingApproval:
		q += fmt.Sprintf(" AND ExecutionStatus = 'Running' AND %s = '%s'", names.SAStatus, f.Status)
	case runwire.StatusSucceeded:
		q += " AND ExecutionStatus = 'Completed'"
	case runwire.StatusCancelled:
		q += " AND ExecutionStatus = 'Canceled'"
	case runwire.StatusFailed:
		q += " AND ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut')"
	}
	return q, f, nil
}

// summary reads a listed execution; a run that continued as new leaves a
// closed execution for each earlier one, and its latest stands for it.
func (s *Service) summary(e *workflowpb.WorkflowExecutionInfo, seen map[string]bool) (Summary, bool) {
	if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW || seen[e.GetExecution().GetWorkflowId()] {
		return Summary{}, false
	}
	seen[e.GetExecution().GetWorkflowId()] = true
	sa := temporalx.Decode(e.GetSearchAttributes())
	sum := Summary{Ref: Ref{ID: e.GetExecution().GetWorkflowId(), Name: sa.Name, RunID: e.GetExecution().GetRunId(),
		Runbook: sa.Runbook, Key: sa.Key, DryRun: sa.DryRun}, Trigger: sa.Trigger}
	sum.Status = runStatus(e.GetStatus(), sa.Status)
	sum.StartedAt = e.GetStartTime().AsTime()
	if e.GetCloseTime() != nil && e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t := e.GetCloseTime().AsTime()
		sum.FinishedAt = &t
	}
	sum.URL = s.runURL(sum.ID, sum.RunID)
	return sum, true
}

// runStatus combines Temporal's execution status with the status the run
// recorded: a run terminated from outside never recorded its end.
func runStatus(st enumspb.WorkflowExecutionStatus, recorded string) string {
	switch st {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		if recorded == runwire.StatusWaitingApproval {
			return recorded
		}
		return runwire.StatusRunning
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return runwire.StatusSucceeded
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return runwire.StatusCancelled
	case enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return runwire.StatusRunning
	}
	return runwire.StatusFailed
}

// GetRun returns a run's full state, redacted (see RunState.Redacted).
// id is the run's workflow ID or its name (see Resolve); runID may be
// empty for the latest Temporal run under that ID, or of that name.
func (s *Service) GetRun(ctx context.Context, id, runID string) (*runwire.RunState, error) {
	wid, named, err := s.Resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	if runID == "" {
		runID = named
	}
	id = wid
	if st := s.finishedState(ctx, id, runID); st != nil {
		return st.Redacted(), nil
	}
	return s.queryState(ctx, id, runID)
}

// OpenRunState reads a run its caller has just listed as open, by
// workflow ID, with the status query alone: one call fewer than GetRun,
// for pages that read many waiting runs at once.
func (s *Service) OpenRunState(ctx context.Context, id string) (*runwire.RunState, error) {
	return s.queryState(ctx, id, "")
}

func (s *Service) queryState(ctx context.Context, id, runID string) (*runwire.RunState, error) {
	resp, err := s.Client.QueryWorkflowWithOptions(ctx, &client.QueryWorkflowWithOptionsRequest{
		WorkflowID: id, RunID: runID, QueryType: names.StatusQuery,
	})
	if err != nil {
		return nil, access.RunError(id, err)
	}
	var st runwire.RunState
	if err := resp.QueryResult.Get(&st); err != nil {
		return nil, err
	}
	return st.Redacted(), nil
}

// finishedState reads a closed run's final state from its close event,
// without a worker: a succeeded run's result, a failed or cancelled run's
// failure details (runs that finished after runbook-final-state). It is
// nil for a run still open, or closed without its state (terminated,
// timed out, finished before that change), which the status query
// answers.
func (s *Service) finishedState(ctx context.Context, id, runID string) *runwire.RunState {
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return nil
	}
	info := desc.GetWorkflowExecutionInfo()
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED, enumspb.WORKFLOW_EXECUTION_STATUS_FAILED, enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
	default:
		return nil
	}
	it := s.Client.GetWorkflowHistory(ctx, id, info.GetExecution().GetRunId(), false, enumspb.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT)
	if !it.HasNext() {
		return nil
	}
	ev, err := it.Next()
	if err != nil {
		return nil
	}
	var payloads []*commonpb.Payload
	switch {
	case ev.GetWorkflowExecutionCompletedEventAttributes() != nil:
		payloads = ev.GetWorkflowExecutionCompletedEventAttributes().GetResult().GetPayloads()
	case ev.GetWorkflowExecutionFailedEventAttributes() != nil:
		// The details follow the failure's message.
		payloads = ev.GetWorkflowExecutionFailedEventAttributes().GetFailure().GetApplicationFailureInfo().GetDetails().GetPayloads()
	case ev.GetWorkflowExecutionCanceledEventAttributes() != nil:
		// The reason first, then the state.
		if p := ev.GetWorkflowExecutionCanceledEventAttributes().GetDetails().GetPayloads(); len(p) > 1 {
			payloads = p[1:]
		}
	}
	if len(payloads) == 0 {
		return nil
	}
	var st runwire.RunState
	if err := converter.GetDefaultDataConverter().FromPayload(payloads[0], &st); err != nil || st.ID == "" {
		return nil
	}
	return &st
}

// Approve records an approval decision and returns the approval as decided.
func (s *Service) Approve(ctx context.Context, id string, req runwire.ApprovalRequest) (*runwire.ApprovalState, error) {
	if req.Step == "" {
		return nil, access.Errorf(access.Invalid, "step", "step is required")
	}
	if strings.TrimSpace(req.By) == "" {
		return nil, access.Errorf(access.Invalid, "by", "by is required: who decides")
	}
	id, runID, err := s.Resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	out, err := s.approve(ctx, id, runID, req)
	if err != nil {
		err = access.RunError(id, err)
		var se *access.Error
		if errors.As(err, &se) && se.Kind == access.Forbidden {
			// A refusal is part of the run's record too.
			s.recordRefusal(ctx, id, runwire.AccessDecision{
				At: s.now().UTC(), By: req.By, Source: req.Source, Action: "approve " + req.Step, Reason: se.Msg,
			})
		}
		return nil, err
	}
	return out, nil
}

// recordRefusal puts a refusal into the run's record through the access
// update, whose validator turns away repeats and refusals beyond the run's
// bound before they reach its history: refused attempts, however many,
// cannot grow the run's history without bound. A refusal that is turned
// away, or a run that cannot take it, costs the caller nothing: the
// refusal was already answered.
func (s *Service) recordRefusal(ctx context.Context, id string, d runwire.AccessDecision) {
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		UpdateName:   names.AccessUpdate,
		Args:         []any{d},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		_ = h.Get(ctx, nil)
	}
}

func (s *Service) approve(ctx context.Context, id, runID string, req runwire.ApprovalRequest) (*runwire.ApprovalState, error) {
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
		RunID:        runID,
		UpdateName:   names.ApproveUpdate,
		Args:         []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, err
	}
	var out runwire.ApprovalState
	if err := h.Get(ctx, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Cancel asks a run (by workflow ID or name) to stop; it rolls back what
// it completed. A named principal must be allowed to run or approve the
// runbook.
func (s *Service) Cancel(ctx context.Context, ref string, p *access.Principal) error {
	id, runID, err := s.Resolve(ctx, ref)
	if err != nil {
		return err
	}
	if p != nil {
		var allowed []string
		if plan, ok := s.Catalog.Get(names.RunbookOf(id)); ok && plan.Runbook.Spec.Access != nil {
			allowed = append(append(allowed, plan.Runbook.Spec.Access.Run...), plan.Runbook.Spec.Access.Approve...)
		}
		if !runwire.Listed(allowed, p.ID, p.Groups) {
			return access.Errorf(access.Forbidden, "", "%s may not cancel %s: only people in the runbook's spec.access may", p.DisplayName(), id)
		}
	}
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, runID)
	if err != nil {
		return access.RunError(id, err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return access.Errorf(access.Conflict, "", "run %s has already finished", id)
	}
	if err := s.Client.CancelWorkflow(ctx, id, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()); err != nil {
		return access.RunError(id, err)
	}
	return nil
}

// Ready reports whether Temporal answers and, when WorkerRequired, a
// worker polls Firebreak's task queue. An API-only process is ready
// without one: it starts runs (they wait in the task queue) and reads
// finished ones on its own.
func (s *Service) Ready(ctx context.Context) error {
	if _, err := s.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	if !s.WorkerRequired {
		return nil
	}
	n, err := s.Workers(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return access.Errorf(access.Unavailable, "", "no worker is polling task queue %s", names.TaskQueue)
	}
	return nil
}

// Workers counts the workers polling Firebreak's task queue for workflow
// tasks.
func (s *Service) Workers(ctx context.Context) (int, error) {
	resp, err := s.Client.DescribeTaskQueue(ctx, names.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return 0, fmt.Errorf("task queue: %w", err)
	}
	return len(resp.GetPollers()), nil
}

// linkIncident checks the incident a run names, or finds the incident
// whose Slack channel the run was started from.
func (s *Service) linkIncident(ctx context.Context, req *StartRequest, p *Prepared) error {
	if s.Incidents == nil {
		if req.Incident != "" {
			return access.Errorf(access.Invalid, "incident", "incidents are not available here")
		}
		return nil
	}
	if req.Incident == "" {
		if req.Notify == nil || req.Notify.SlackChannel == "" {
			return nil
		}
		id, err := s.Incidents.IncidentByChannel(ctx, req.Notify.SlackChannel)
		if err != nil {
			return err
		}
		p.Input.Incident = id
		return nil
	}
	inc, err := s.Incidents.GetIncident(ctx, req.Incident)
	if err != nil {
		if access.Is(err, access.NotFound) {
			return access.Errorf(access.Invalid, "incident", "no incident %q", req.Incident)
		}
		return err
	}
	if inc.Done() {
		return access.Errorf(access.Conflict, "incident", "incident %s is resolved", req.Incident)
	}
	return nil
}

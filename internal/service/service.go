// Package service is Firebreak's one interface for every transport: the
// HTTP API, the CLI (through the API), and later Slack and webhooks all
// start, list, read, approve and cancel runs through it.
package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/runbooks"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Kind classifies service errors so transports can pick a status code.
type Kind int

// Error kinds.
const (
	Invalid Kind = iota + 1
	NotFound
	Conflict
	Forbidden
	Unavailable
)

// Error is a service error meant for the caller, naming the field at fault
// where there is one.
type Error struct {
	Kind  Kind
	Field string
	Msg   string
}

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

func errorf(kind Kind, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Service implements Firebreak's operations on a Temporal client.
type Service struct {
	Client    client.Client
	Catalog   *runbooks.Catalog
	Namespace string
	// UIURL is the Temporal Web UI's base URL for links, if any.
	UIURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Automation configures the circuit breaker over automatic runs.
	Automation automationwire.AutomationSettings
	// Experiments is the chaos experiment and game day catalog.
	Experiments *experiments.Catalog
	// ChaosEscalation says where stuck chaos rollbacks and reports go.
	ChaosEscalation chaoswire.Escalation
	// Incidents is what every declared incident does (Slack channel,
	// paging, chaos halt).
	Incidents incidentwire.IncidentSettings

	cache   automationCache
	refresh sync.Mutex
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
	Principal *Principal `json:"-"`
	// Notify says where the run reports (the Slack channel it came from).
	Notify *runwire.Notify `json:"-"`
	// Incident links the run to an incident (INC-…): it reports its
	// steps, decisions and approvals there.
	Incident string `json:"incident,omitempty"`
}

// Principal is an authenticated person asking for something.
type Principal struct {
	ID     string
	Name   string
	Groups []string
	Source string
}

// mayRun decides whether p may start this run: anyone may dry-run; real
// runs need the principal (or one of its groups) in spec.access.run.
func mayRun(plan *runbooks.Plan, p *Principal, dryRun bool) error {
	if p == nil || dryRun {
		return nil
	}
	var allowed []string
	if a := plan.Runbook.Spec.Access; a != nil {
		allowed = a.Run
	}
	if len(allowed) == 0 {
		return errorf(Forbidden, "runbook", "runbook %s lists nobody in spec.access.run, so only dry runs are allowed (add --dry-run)", plan.Name())
	}
	if !runwire.Listed(allowed, p.ID, p.Groups) {
		return errorf(Forbidden, "runbook", "%s may not run %s for real (spec.access.run: %s); a dry run is allowed", p.displayName(), plan.Name(), strings.Join(allowed, ", "))
	}
	return nil
}

func (p *Principal) displayName() string {
	if p.Name != "" && p.Name != p.ID {
		return p.Name + " (" + p.ID + ")"
	}
	return p.ID
}

// RunRef identifies a run.
type RunRef struct {
	ID      string `json:"id"`
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
		return nil, errorf(Invalid, "runbook", "runbook is required")
	}
	if req.Incident != "" && !names.IsIncidentID(req.Incident) {
		return nil, errorf(Invalid, "incident", "incident must be an incident ID like INC-2026-0042, not %q", req.Incident)
	}
	plan, ok := s.Catalog.Get(req.Runbook)
	if !ok {
		return nil, errorf(Invalid, "runbook", "unknown runbook %q", req.Runbook)
	}
	if err := mayRun(plan, req.Principal, req.DryRun); err != nil {
		return nil, err
	}
	params, err := plan.Runbook.ResolveParams(req.Params)
	if err != nil {
		var pe *runbooks.ParamError
		if errors.As(err, &pe) {
			return nil, errorf(Invalid, "params."+pe.Param, "%s", pe.Error())
		}
		return nil, errorf(Invalid, "params", "%v", err)
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
			return nil, errorf(Invalid, "params", "spec.concurrency %s: %v", plan.Concurrency.Expr, err)
		}
		key, _ = v.(string)
		if key == "" {
			return nil, errorf(Invalid, "params", "spec.concurrency %s gave an empty key", plan.Concurrency.Expr)
		}
		if len(key) > 200 {
			return nil, errorf(Invalid, "params", "spec.concurrency gave a key longer than 200 characters")
		}
	}
	trigger := req.Trigger
	if trigger == "" && req.Principal != nil && req.Principal.Source == runwire.SourceSlack {
		trigger = runwire.TriggerSlack
	}
	if trigger == "" {
		trigger = runwire.TriggerAPI
	}
	id := names.RunWorkflowID(plan.Name(), key)
	return &Prepared{Plan: plan, ID: id, Input: runwire.RunInput{
		ID: id, Runbook: *plan.Runbook, Params: params, Key: key,
		DryRun: req.DryRun, Trigger: trigger, RequestedBy: req.RequestedBy, Notify: req.Notify,
		Incident: req.Incident,
	}}, nil
}

// StartOptions returns the Temporal options a prepared run starts with.
func (s *Service) StartOptions(p *Prepared) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       p.ID,
		TaskQueue:                names.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		EnableEagerStart:         true,
		// Without this the SDK hands back the open run instead of an error.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StaticSummary:                            fmt.Sprintf("%s (%s)", p.Plan.Name(), p.Input.Trigger),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporal.NewSearchAttributeKeyKeyword(names.SARunbook).ValueSet(p.Plan.Name()),
			temporal.NewSearchAttributeKeyKeyword(names.SAStatus).ValueSet(runwire.StatusRunning),
			temporal.NewSearchAttributeKeyKeyword(names.SATrigger).ValueSet(p.Input.Trigger),
			temporal.NewSearchAttributeKeyKeyword(names.SAKey).ValueSet(p.Input.Key),
			temporal.NewSearchAttributeKeyBool(names.SADryRun).ValueSet(p.Input.DryRun),
		),
	}
}

// StartRun validates and starts a run. A run already open for the same
// concurrency key is a Conflict naming it.
func (s *Service) StartRun(ctx context.Context, req StartRequest) (*RunRef, error) {
	p, err := s.Prepare(req)
	if err != nil {
		return nil, err
	}
	if err := s.linkIncident(ctx, &req, p); err != nil {
		return nil, err
	}
	run, err := s.Client.ExecuteWorkflow(ctx, s.StartOptions(p), names.RunbookWorkflow, p.Input)
	if err != nil {
		var started *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.As(err, &started) {
			return nil, errorf(Conflict, "", "runbook %s already has a run for %q: %s", p.Plan.Name(), p.Input.Key, p.ID)
		}
		return nil, s.temporalError(err)
	}
	return &RunRef{ID: p.ID, RunID: run.GetRunID(), Runbook: p.Plan.Name(), Status: runwire.StatusRunning,
		Key: p.Input.Key, DryRun: p.Input.DryRun, URL: s.runURL(p.ID, run.GetRunID())}, nil
}

func (s *Service) runURL(id, runID string) string {
	if s.UIURL == "" {
		return ""
	}
	u := fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimSuffix(s.UIURL, "/"), s.Namespace, pathEscape(id))
	if runID != "" {
		u += "/" + runID + "/history"
	}
	return u
}

func pathEscape(s string) string {
	return strings.NewReplacer("/", "%2F", " ", "%20", "?", "%3F", "#", "%23").Replace(s)
}

// ListFilter narrows a run listing.
type ListFilter struct {
	Runbook string
	Status  string
	Limit   int
}

var safeValue = regexp.MustCompile(`^[A-Za-z0-9_.:/-]*$`)

// RunSummary is one entry of a run listing.
type RunSummary struct {
	RunRef
	Trigger    string     `json:"trigger,omitempty"`
	StartedAt  time.Time  `json:"startedAt"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
}

// ListRuns lists runs, newest first.
func (s *Service) ListRuns(ctx context.Context, f ListFilter) ([]RunSummary, error) {
	if !safeValue.MatchString(f.Runbook) {
		return nil, errorf(Invalid, "runbook", "bad runbook filter %q", f.Runbook)
	}
	switch f.Status {
	case "", runwire.StatusRunning, runwire.StatusWaitingApproval, runwire.StatusSucceeded, runwire.StatusFailed, runwire.StatusCancelled:
	default:
		return nil, errorf(Invalid, "status", "status must be one of running, waiting_approval, succeeded, failed, cancelled")
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	q := fmt.Sprintf("WorkflowType = '%s'", names.RunbookWorkflow)
	if f.Runbook != "" {
		q += fmt.Sprintf(" AND %s = '%s'", names.SARunbook, f.Runbook)
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
	out := []RunSummary{}
	var token []byte
	for len(out) < f.Limit {
		resp, err := s.Client.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: s.Namespace, Query: q, PageSize: int32(f.Limit), NextPageToken: token,
		})
		if err != nil {
			return nil, s.temporalError(err)
		}
		for _, e := range resp.GetExecutions() {
			sum := RunSummary{RunRef: RunRef{ID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId()}}
			sa := temporal.NewSearchAttributes()
			if e.GetSearchAttributes() != nil {
				sa = decodeSearchAttributes(e.GetSearchAttributes().GetIndexedFields())
			}
			sum.Runbook, _ = sa.GetKeyword(temporal.NewSearchAttributeKeyKeyword(names.SARunbook))
			sum.Trigger, _ = sa.GetKeyword(temporal.NewSearchAttributeKeyKeyword(names.SATrigger))
			sum.Key, _ = sa.GetKeyword(temporal.NewSearchAttributeKeyKeyword(names.SAKey))
			sum.DryRun, _ = sa.GetBool(temporal.NewSearchAttributeKeyBool(names.SADryRun))
			recorded, _ := sa.GetKeyword(temporal.NewSearchAttributeKeyKeyword(names.SAStatus))
			sum.Status = runStatus(e.GetStatus(), recorded)
			sum.StartedAt = e.GetStartTime().AsTime()
			if e.GetCloseTime() != nil && e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
				t := e.GetCloseTime().AsTime()
				sum.FinishedAt = &t
			}
			sum.URL = s.runURL(sum.ID, sum.RunID)
			out = append(out, sum)
			if len(out) == f.Limit {
				break
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return out, nil
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

// GetRun returns a run's full state; runID may be empty for the latest
// run under that ID.
func (s *Service) GetRun(ctx context.Context, id, runID string) (*runwire.RunState, error) {
	if !names.IsRunWorkflowID(id) {
		return nil, errorf(NotFound, "id", "no run %q (run IDs look like runbook:<name>:<key>)", id)
	}
	resp, err := s.Client.QueryWorkflowWithOptions(ctx, &client.QueryWorkflowWithOptionsRequest{
		WorkflowID: id, RunID: runID, QueryType: names.StatusQuery,
	})
	if err != nil {
		return nil, s.runError(id, err)
	}
	var st runwire.RunState
	if err := resp.QueryResult.Get(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Approve records an approval decision and returns the approval as decided.
func (s *Service) Approve(ctx context.Context, id string, req runwire.ApprovalRequest) (*runwire.ApprovalState, error) {
	if req.Step == "" {
		return nil, errorf(Invalid, "step", "step is required")
	}
	if strings.TrimSpace(req.By) == "" {
		return nil, errorf(Invalid, "by", "by is required: who decides")
	}
	if !names.IsRunWorkflowID(id) {
		return nil, errorf(NotFound, "id", "no run %q", id)
	}
	out, err := s.approve(ctx, id, req)
	if err != nil {
		err = s.runError(id, err)
		var se *Error
		if errors.As(err, &se) && se.Kind == Forbidden {
			// A refusal is part of the run's record too.
			_ = s.Client.SignalWorkflow(ctx, id, "", names.AccessSignal, runwire.AccessDecision{
				At: s.now().UTC(), By: req.By, Source: req.Source, Action: "approve " + req.Step, Reason: se.Msg,
			})
		}
		return nil, err
	}
	return out, nil
}

func (s *Service) approve(ctx context.Context, id string, req runwire.ApprovalRequest) (*runwire.ApprovalState, error) {
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   id,
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

// Cancel asks a run to stop; it rolls back what it completed. A named
// principal must be allowed to run or approve the runbook.
func (s *Service) Cancel(ctx context.Context, id string, p *Principal) error {
	if !names.IsRunWorkflowID(id) {
		return errorf(NotFound, "id", "no run %q", id)
	}
	if p != nil {
		var allowed []string
		if plan, ok := s.Catalog.Get(names.RunbookOf(id)); ok && plan.Runbook.Spec.Access != nil {
			allowed = append(append(allowed, plan.Runbook.Spec.Access.Run...), plan.Runbook.Spec.Access.Approve...)
		}
		if !runwire.Listed(allowed, p.ID, p.Groups) {
			return errorf(Forbidden, "", "%s may not cancel %s: only people in the runbook's spec.access may", p.displayName(), id)
		}
	}
	desc, err := s.Client.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return s.runError(id, err)
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		return errorf(Conflict, "", "run %s has already finished", id)
	}
	if err := s.Client.CancelWorkflow(ctx, id, desc.GetWorkflowExecutionInfo().GetExecution().GetRunId()); err != nil {
		return s.runError(id, err)
	}
	return nil
}

// Ready reports whether Temporal answers and a worker polls Firebreak's
// task queue.
func (s *Service) Ready(ctx context.Context) error {
	if _, err := s.Client.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("temporal: %w", err)
	}
	resp, err := s.Client.DescribeTaskQueue(ctx, names.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
	if err != nil {
		return fmt.Errorf("task queue: %w", err)
	}
	if len(resp.GetPollers()) == 0 {
		return errors.New("no worker is polling task queue " + names.TaskQueue)
	}
	return nil
}

func (s *Service) runError(id string, err error) error {
	var nf *serviceerror.NotFound
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &appErr):
		switch appErr.Type() {
		case runwire.RejectUnknownStep:
			return errorf(NotFound, "step", "%s", appErr.Message())
		case runwire.RejectNotWaiting:
			return errorf(Conflict, "step", "%s", appErr.Message())
		case runwire.RejectNotAllowed:
			return errorf(Forbidden, "by", "%s", appErr.Message())
		case runwire.RejectInvalid:
			return errorf(Invalid, "", "%s", appErr.Message())
		}
		return errorf(Invalid, "", "%s", appErr.Message())
	case errors.As(err, &nf):
		if strings.Contains(nf.Error(), "already completed") {
			return errorf(Conflict, "", "run %s has already finished", id)
		}
		return errorf(NotFound, "id", "no run %q", id)
	}
	return s.temporalError(err)
}

func (s *Service) temporalError(err error) error {
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	if errors.As(err, &unavailable) || errors.As(err, &deadline) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: Unavailable, Msg: "temporal is unavailable: " + err.Error()}
	}
	return err
}

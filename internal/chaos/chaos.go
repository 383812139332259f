// Package chaos runs chaos experiments and game days: it starts, reads,
// aborts and reports experiment runs, holds the halt switch over all of
// them, and keeps a Temporal Schedule for every game day.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/ids"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/render/chart"
	"github.com/firebreak-ops/firebreak/internal/render/markdown"
	"github.com/firebreak-ops/firebreak/internal/temporalx"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// Service runs experiments and game days on a Temporal client.
type Service struct {
	Client    client.Client
	Namespace string
	// UIURL is the Temporal Web UI's base URL for links, if any.
	UIURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Experiments is the experiment and game day catalog.
	Experiments *experiments.Catalog
	// Escalation says where stuck rollbacks and reports go.
	Escalation chaoswire.Escalation
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// ExperimentRequest starts an experiment run.
type ExperimentRequest struct {
	Experiment string `json:"experiment"`
	DryRun     bool   `json:"dryRun"`
	// RequestedBy is filled from the caller's identity when known.
	RequestedBy string `json:"requestedBy,omitempty"`
	// Principal is the caller when the API knows it (nil: the operator).
	Principal *access.Principal `json:"-"`
}

// ExperimentRef answers a started experiment run.
type ExperimentRef struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	URL    string `json:"url,omitempty"`
}

// ExperimentList lists the catalog.
func (s *Service) ExperimentList() []plan.Summary {
	out := []plan.Summary{}
	if s.Experiments == nil {
		return out
	}
	for _, p := range s.Experiments.List() {
		out = append(out, p.Summary())
	}
	return out
}

// StartExperiment starts an experiment run, unless chaos is halted.
func (s *Service) StartExperiment(ctx context.Context, req ExperimentRequest) (*ExperimentRef, error) {
	if req.Experiment == "" {
		return nil, access.Errorf(access.Invalid, "experiment", "experiment is required")
	}
	var plan *plan.Plan
	if s.Experiments != nil {
		plan, _ = s.Experiments.Get(req.Experiment)
	}
	if plan == nil {
		return nil, access.Errorf(access.NotFound, "experiment", "no experiment is named %q (GET /v1/experiments lists them)", req.Experiment)
	}
	if err := mayInject(plan, req.Principal, req.DryRun); err != nil {
		return nil, err
	}
	if !req.DryRun {
		st, err := s.ChaosState(ctx)
		if err != nil {
			return nil, err
		}
		if st.Halted {
			return nil, access.Errorf(access.Conflict, "", "chaos is halted (%s); resume it before starting experiments", haltText(st))
		}
	}
	id := names.ExperimentRunID(req.Experiment, ids.NewSuffix())
	run, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: names.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}, names.ExperimentWorkflow, chaoswire.ExperimentInput{
		Experiment: plan.Experiment, DryRun: req.DryRun, RequestedBy: req.RequestedBy, Escalation: s.Escalation,
	})
	if err != nil {
		return nil, access.TemporalError(err)
	}
	return &ExperimentRef{ID: id, Status: chaoswire.ExperimentRunning, URL: temporalx.HistoryURL(s.UIURL, s.Namespace, id, run.GetRunID())}, nil
}

// mayInject applies spec.access.run to a real experiment run by a known
// caller. Halting and aborting stay open to everyone.
func mayInject(plan *plan.Plan, p *access.Principal, dryRun bool) error {
	var allowed []string
	if a := plan.Experiment.Spec.Access; a != nil {
		allowed = a.Run
	}
	return access.MayRun("experiment", plan.Name(), "inject "+plan.Name(), allowed, p, dryRun)
}

func haltText(st *chaoswire.ChaosState) string {
	parts := []string{"halted"}
	if st.By != "" {
		parts = append(parts, "by "+st.By)
	}
	if st.Reason != "" {
		parts = append(parts, "— "+st.Reason)
	}
	return strings.Join(parts, " ")
}

// GetExperimentRun returns an experiment run's state: the final result
// once it has finished (no worker needed), else the live state.
func (s *Service) GetExperimentRun(ctx context.Context, id string) (*chaoswire.ExperimentState, error) {
	if !names.IsExperimentWorkflowID(id) {
		return nil, access.Errorf(access.NotFound, "id", "no experiment run %q (IDs look like experiment:<name>:<suffix>)", id)
	}
	var st chaoswire.ExperimentState
	if err := s.readWorkflow(ctx, id, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// readWorkflow reads a finished workflow's result (no worker needed), or
// queries a running one's status.
func (s *Service) readWorkflow(ctx context.Context, id string, out any) error {
	if err := temporalx.ReadState(ctx, s.Client, id, names.StatusQuery, out); err != nil {
		return access.RunError(id, err)
	}
	return nil
}

// AbortExperiment rolls an experiment back now; it ends aborted.
func (s *Service) AbortExperiment(ctx context.Context, id string, h chaoswire.ChaosHalt) error {
	if !names.IsExperimentWorkflowID(id) {
		return access.Errorf(access.NotFound, "id", "no experiment run %q", id)
	}
	h.At = s.now().UTC()
	if err := s.Client.SignalWorkflow(ctx, id, "", names.AbortSignal, h); err != nil {
		return access.RunError(id, err)
	}
	return nil
}

// ChaosState returns the halt switch and the running experiments.
func (s *Service) ChaosState(ctx context.Context) (*chaoswire.ChaosState, error) {
	resp, err := s.Client.QueryWorkflow(ctx, names.ChaosWorkflowID, "", names.ChaosQuery)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return &chaoswire.ChaosState{Running: []string{}}, nil
		}
		return nil, access.TemporalError(err)
	}
	var st chaoswire.ChaosState
	if err := resp.Get(&st); err != nil {
		return nil, err
	}
	return &st, nil
}

// EnsureChaos starts the chaos workflow if it is not running, so every
// experiment can register with it.
func (s *Service) EnsureChaos(ctx context.Context) error {
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: names.ChaosWorkflowID, TaskQueue: names.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
	}, names.ChaosWorkflow, chaoswire.ChaosInput{})
	return access.TemporalError(err)
}

// HaltChaos rolls back every running experiment now and refuses new ones
// until ResumeChaos. The chaos workflow passes the halt to the experiments
// registered with it; this also signals every running experiment it
// finds in visibility, which covers runs that started before the chaos
// workflow existed.
func (s *Service) HaltChaos(ctx context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error) {
	st, err := s.chaosSignal(ctx, names.ChaosHaltSignal, h)
	if err != nil {
		return nil, err
	}
	registered := map[string]bool{}
	for _, id := range st.Running {
		registered[id] = true
	}
	var others []string
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", names.ExperimentWorkflow)
	err = temporalx.List(ctx, s.Client, s.Namespace, q, 500, func(ex *workflowpb.WorkflowExecutionInfo) bool {
		if id := ex.GetExecution().GetWorkflowId(); !registered[id] {
			others = append(others, id)
		}
		return true
	})
	if err != nil {
		return st, nil // the chaos workflow has the halt; this is a second net
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, id := range others {
		wg.Add(1)
		sem <- struct{}{}
		go func(id string) {
			defer func() { <-sem; wg.Done() }()
			_ = s.Client.SignalWorkflow(ctx, id, "", names.ChaosHaltSignal, h)
		}(id)
	}
	wg.Wait()
	st.Running = append(st.Running, others...)
	return st, nil
}

// ResumeChaos lifts a halt.
func (s *Service) ResumeChaos(ctx context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error) {
	return s.chaosSignal(ctx, names.ChaosResumeSignal, h)
}

func (s *Service) chaosSignal(ctx context.Context, signal string, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error) {
	h.At = s.now().UTC()
	_, err := s.Client.SignalWithStartWorkflow(ctx, names.ChaosWorkflowID, signal, h, client.StartWorkflowOptions{
		ID: names.ChaosWorkflowID, TaskQueue: names.TaskQueue,
	}, names.ChaosWorkflow, chaoswire.ChaosInput{})
	if err != nil {
		return nil, access.TemporalError(err)
	}
	return s.ChaosState(ctx)
}

// ExperimentReport renders a finished (or running) experiment run as
// Markdown with an embedded SVG chart of its probes.
func (s *Service) ExperimentReport(ctx context.Context, id string) (string, error) {
	st, err := s.GetExperimentRun(ctx, id)
	if err != nil {
		return "", err
	}
	return markdown.ExperimentMarkdown(st), nil
}

// ExperimentChart renders an experiment run's probes as SVG.
func (s *Service) ExperimentChart(ctx context.Context, id string) (string, error) {
	st, err := s.GetExperimentRun(ctx, id)
	if err != nil {
		return "", err
	}
	return chart.ProbeChart(st), nil
}

// gameDayExperiments returns the definitions of the experiments a game
// day names, as its schedule passes them to each run.
func (s *Service) gameDayExperiments(g *plan.GameDay) (map[string]*plan.Experiment, error) {
	out := map[string]*plan.Experiment{}
	for _, name := range g.Experiments() {
		p, ok := s.Experiments.Get(name)
		if !ok {
			return nil, fmt.Errorf("game day %s names unknown experiment %q", g.Name(), name)
		}
		out[name] = p.Experiment
	}
	return out, nil
}

// ExperimentRunSummary is one entry of an experiment run listing.
type ExperimentRunSummary struct {
	ID         string     `json:"id"`
	Experiment string     `json:"experiment"`
	Status     string     `json:"status"`
	StartedAt  time.Time  `json:"startedAt"`
	EndedAt    *time.Time `json:"endedAt,omitempty"`
}

// ListExperimentRuns lists the newest experiment runs (at most limit,
// default 50) from Temporal's visibility: no worker is asked, so the list
// costs one call however many runs there are.
func (s *Service) ListExperimentRuns(ctx context.Context, limit int) ([]ExperimentRunSummary, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	out := []ExperimentRunSummary{}
	q := fmt.Sprintf("WorkflowType = '%s'", names.ExperimentWorkflow)
	err := temporalx.List(ctx, s.Client, s.Namespace, q, limit, func(e *workflowpb.WorkflowExecutionInfo) bool {
		if e.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW {
			return true
		}
		id := e.GetExecution().GetWorkflowId()
		sum := ExperimentRunSummary{ID: id, Experiment: names.ExperimentOf(id), StartedAt: e.GetStartTime().AsTime(),
			Status: strings.ToLower(strings.TrimPrefix(e.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"))}
		if e.GetCloseTime() != nil && e.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t := e.GetCloseTime().AsTime()
			sum.EndedAt = &t
		}
		out = append(out, sum)
		return len(out) < limit
	})
	if err != nil {
		return nil, access.TemporalError(err)
	}
	return out, nil
}

// Package automation holds the kill switch and circuit breaker over
// automatic runs: it keeps the automation workflow running, pauses and
// resumes automation, and keeps a briefly cached view of the state fresh
// in the background so a busy webhook can ask whether starts are held back
// without a query per alert.
package automation

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/names"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
)

// automationCacheTTL bounds how stale the kill switch may look to a busy
// webhook: a pause takes effect everywhere within this time (at once on
// the instance that paused).
const automationCacheTTL = 250 * time.Millisecond

// automationCache remembers the automation state briefly, so an alert
// storm costs one read per TTL rather than one per alert. holding is what
// the alert path needs; state, when known, is the whole view.
type automationCache struct {
	mu      sync.Mutex
	state   *automationwire.AutomationState
	holding string
	at      time.Time
}

// Service keeps the automation workflow and a cached view of its state.
type Service struct {
	Client client.Client
	// Settings configure the circuit breaker.
	Settings automationwire.AutomationSettings

	cache   automationCache
	refresh sync.Mutex
}

// EnsureAutomation starts the automation workflow if it is not running.
func (s *Service) EnsureAutomation(ctx context.Context) error {
	_, err := s.Client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       names.AutomationWorkflowID,
		TaskQueue:                names.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            "Firebreak automation: kill switch and circuit breaker",
	}, names.AutomationWorkflow, automationwire.AutomationInput{Settings: s.Settings})
	return err
}

// AutomationState returns the kill switch, circuit breaker and recent
// suppressions.
func (s *Service) AutomationState(ctx context.Context) (*automationwire.AutomationState, error) {
	asOf := time.Now()
	resp, err := s.Client.QueryWorkflow(ctx, names.AutomationWorkflowID, "", names.AutomationQuery)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		if err := s.EnsureAutomation(ctx); err != nil {
			return nil, access.TemporalError(err)
		}
		resp, err = s.Client.QueryWorkflow(ctx, names.AutomationWorkflowID, "", names.AutomationQuery)
	}
	if err != nil {
		return nil, access.TemporalError(err)
	}
	var st automationwire.AutomationState
	if err := resp.Get(&st); err != nil {
		return nil, err
	}
	s.cache.store(&st, asOf)
	return &st, nil
}

// store keeps st unless the cache already holds a state known later: a
// query that began before a pause or resume finished must not undo it.
func (c *automationCache) store(st *automationwire.AutomationState, asOf time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || !asOf.Before(c.at) {
		c.state, c.holding, c.at = st, st.Holding(), asOf
	}
}

// storeHolding is store for the holding reason alone.
func (c *automationCache) storeHolding(h string, asOf time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.at.IsZero() || !asOf.Before(c.at) {
		c.holding, c.at = h, asOf
	}
}

// Holding returns why automatic runs are held back now, or "". It reads
// the state WatchAutomation keeps fresh; only when that is missing or stale
// (the watcher cannot reach Temporal) does it ask, once for all callers.
func (s *Service) Holding(ctx context.Context) (string, error) {
	if h, ok := s.cache.fresh(); ok {
		return h, nil
	}
	s.refresh.Lock()
	defer s.refresh.Unlock()
	if h, ok := s.cache.fresh(); ok {
		return h, nil
	}
	// The watcher is failing too: Temporal is probably down. Answer soon
	// so the sender retries, rather than after its own timeout.
	qctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return s.readHolding(qctx)
}

// fresh returns the cached holding reason unless it is older than the
// watcher's refreshes allow.
func (c *automationCache) fresh() (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.holding, !c.at.IsZero() && time.Since(c.at) <= 4*automationCacheTTL
}

// readHolding reads why starts are held back from the automation
// workflow's memo (names.HoldingMemo): Temporal answers it from the
// workflow's state, with no worker involved, so it stays fast while
// workers are busy with a burst. A workflow started by a version that
// did not publish the memo is asked with a query instead.
func (s *Service) readHolding(ctx context.Context) (string, error) {
	asOf := time.Now()
	desc, err := s.Client.DescribeWorkflowExecution(ctx, names.AutomationWorkflowID, "")
	var nf *serviceerror.NotFound
	if err != nil && !errors.As(err, &nf) {
		return "", access.TemporalError(err)
	}
	info := desc.GetWorkflowExecutionInfo()
	p, ok := info.GetMemo().GetFields()[names.HoldingMemo]
	if !ok || info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		// Not started yet (AutomationState starts it), or started by a
		// version without the memo.
		st, err := s.AutomationState(ctx)
		if err != nil {
			return "", err
		}
		return st.Holding(), nil
	}
	var h string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &h); err != nil {
		return "", fmt.Errorf("reading the automation memo: %w", err)
	}
	s.cache.storeHolding(h, asOf)
	return h, nil
}

// WatchAutomation keeps the holding reason (kill switch, circuit) fresh in
// the background until ctx ends, reading the automation workflow's memo,
// so webhooks never wait on a worker: a pause made elsewhere takes effect
// here within automationCacheTTL.
func (s *Service) WatchAutomation(ctx context.Context) {
	t := time.NewTicker(automationCacheTTL)
	defer t.Stop()
	for {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, _ = s.readHolding(qctx)
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Pause stops every new automatic run until Resume. Manual runs still work.
func (s *Service) Pause(ctx context.Context, req automationwire.SwitchRequest) (*automationwire.AutomationState, error) {
	return s.automationUpdate(ctx, names.PauseUpdate, req)
}

// Resume lifts a pause and closes an open circuit.
func (s *Service) Resume(ctx context.Context, req automationwire.SwitchRequest) (*automationwire.AutomationState, error) {
	return s.automationUpdate(ctx, names.ResumeUpdate, req)
}

func (s *Service) automationUpdate(ctx context.Context, name string, req automationwire.SwitchRequest) (*automationwire.AutomationState, error) {
	if req.By == "" {
		return nil, access.Errorf(access.Invalid, "by", "by is required: who")
	}
	if err := s.EnsureAutomation(ctx); err != nil {
		return nil, access.TemporalError(err)
	}
	h, err := s.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: names.AutomationWorkflowID, UpdateName: name, Args: []any{req},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return nil, access.RunError(names.AutomationWorkflowID, err)
	}
	var st automationwire.AutomationState
	if err := h.Get(ctx, &st); err != nil {
		return nil, access.RunError(names.AutomationWorkflowID, err)
	}
	s.cache.store(&st, time.Now())
	return &st, nil
}

// Package automation holds AutomationWorkflow, the kill switch and circuit
// breaker every automatic run consults, and DeliveryLedgerWorkflow, which
// remembers the webhook deliveries taken so a replayed one is not taken
// again. Their wire types are in workflows/wire/automation.
package automation

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/source"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Defaults of the circuit breaker.
const (
	DefaultBreakerFailures = 3
	DefaultBreakerWindow   = 30 * time.Minute
	// maxSuppressed bounds the suppression record kept in the workflow.
	maxSuppressed = 500
	// automationEventsPerRun triggers continue-as-new, keeping history small.
	automationEventsPerRun = 1000
)

// AutomationWorkflow holds the state every automatic start consults: the
// kill switch and the circuit breaker, which opens after too many failed
// automatic runs and stays open until a person resumes automation. It runs
// forever, continuing as new to keep its history short.
func AutomationWorkflow(ctx workflow.Context, in automationwire.AutomationInput) error {
	st := in.State
	if st == nil {
		st = &automationwire.AutomationState{Suppressed: []automationwire.Suppression{}}
	}
	set := in.Settings
	if set.Failures <= 0 {
		set.Failures = DefaultBreakerFailures
	}
	if set.Window <= 0 {
		set.Window = source.Duration(DefaultBreakerWindow)
	}
	if err := workflow.SetQueryHandler(ctx, names.AutomationQuery, func() (*automationwire.AutomationState, error) { return st, nil }); err != nil {
		return err
	}
	pub := &holdingPublisher{}
	if p, ok := workflow.GetInfo(ctx).Memo.GetFields()[names.HoldingMemo]; ok {
		_ = converter.GetDefaultDataConverter().FromPayload(p, &pub.last)
		pub.known = true
	}
	pub.publish(ctx, st)
	events := 0
	validate := func(_ workflow.Context, req automationwire.SwitchRequest) error {
		if req.By == "" {
			return temporal.NewApplicationError("say who (by)", runwire.RejectInvalid)
		}
		return nil
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.PauseUpdate, func(ctx workflow.Context, req automationwire.SwitchRequest) (*automationwire.AutomationState, error) {
		now := workflow.Now(ctx).UTC()
		st.Paused, st.PausedBy, st.PauseReason, st.PausedAt = true, req.By, req.Reason, &now
		events++
		pub.publish(ctx, st)
		return st, nil
	}, workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.ResumeUpdate, func(ctx workflow.Context, req automationwire.SwitchRequest) (*automationwire.AutomationState, error) {
		st.Paused, st.PausedBy, st.PauseReason, st.PausedAt = false, "", "", nil
		st.Circuit = automationwire.CircuitState{}
		events++
		pub.publish(ctx, st)
		return st, nil
	}, workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
		return err
	}

	finished := workflow.GetSignalChannel(ctx, names.RunFinishedSignal)
	suppressed := workflow.GetSignalChannel(ctx, names.SuppressedSignal)
	page := false
	for events < automationEventsPerRun {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(finished, func(c workflow.ReceiveChannel, _ bool) {
			var f runwire.RunFinished
			c.Receive(ctx, &f)
			events++
			page = recordFinished(st, set, f, workflow.Now(ctx).UTC()) || page
		})
		sel.AddReceive(suppressed, func(c workflow.ReceiveChannel, _ bool) {
			var batch []automationwire.Suppression
			c.Receive(ctx, &batch)
			events++
			for _, s := range batch {
				st.SuppressedTotal++
				st.Suppressed = append(st.Suppressed, s)
			}
			if over := len(st.Suppressed) - maxSuppressed; over > 0 {
				st.Suppressed = append([]automationwire.Suppression(nil), st.Suppressed[over:]...)
			}
		})
		sel.Select(ctx)
		pub.publish(ctx, st)
		if page {
			page = false
			pageCircuit(ctx, set, st)
		}
	}
	// Drain what arrived meanwhile, then start afresh with the same state.
	for {
		var f runwire.RunFinished
		if !finished.ReceiveAsync(&f) {
			break
		}
		// The failure that opens the circuit may be one of these: it pages
		// like any other.
		page = recordFinished(st, set, f, workflow.Now(ctx).UTC()) || page
	}
	for {
		var batch []automationwire.Suppression
		if !suppressed.ReceiveAsync(&batch) {
			break
		}
		st.Suppressed = append(st.Suppressed, batch...)
		st.SuppressedTotal += int64(len(batch))
	}
	// Paging for a circuit that opened while draining came later: a run
	// that drained such a failure before it replays without the page.
	if page && workflow.GetVersion(ctx, pageWhenDrainedChange, workflow.DefaultVersion, 1) == 1 {
		pageCircuit(ctx, set, st)
	}
	pub.publish(ctx, st)
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, names.AutomationWorkflow, automationwire.AutomationInput{Settings: in.Settings, State: st})
}

// holdingMemoChange versions the memo that publishes why starts are held
// back (see "Changing a workflow"): runs before it replay without it.
const holdingMemoChange = "automation-holding-memo"

// holdingPublisher keeps names.HoldingMemo equal to the state's Holding,
// so the alert path reads it from the workflow's mutable state instead of
// a query, which waits for a worker and timed out under bursts.
type holdingPublisher struct {
	last  string
	known bool
}

// publish upserts the memo when the holding reason changed.
func (p *holdingPublisher) publish(ctx workflow.Context, st *automationwire.AutomationState) {
	h := st.Holding()
	if p.known && h == p.last {
		return
	}
	if workflow.GetVersion(ctx, holdingMemoChange, workflow.DefaultVersion, 1) != 1 {
		return
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{names.HoldingMemo: h}); err == nil {
		p.last, p.known = h, true
	}
}

// pageWhenDrainedChange versions the page for a circuit opened by a
// failure drained before continue-as-new (see "Changing a workflow").
const pageWhenDrainedChange = "automation-page-when-drained"

// recordFinished counts an automatic run; it returns true when this run
// opened the circuit.
func recordFinished(st *automationwire.AutomationState, set automationwire.AutomationSettings, f runwire.RunFinished, now time.Time) bool {
	st.Finished++
	if f.Status != runwire.StatusFailed {
		return false
	}
	st.Failed++
	cutoff := now.Add(-set.Window.D())
	recent := st.Circuit.Failures[:0]
	for _, old := range st.Circuit.Failures {
		if old.At.After(cutoff) {
			recent = append(recent, old)
		}
	}
	st.Circuit.Failures = append(recent, f)
	if st.Circuit.Open || len(st.Circuit.Failures) < set.Failures {
		return false
	}
	st.Circuit.Open = true
	st.Circuit.OpenedAt = &now
	st.Circuit.Reason = fmt.Sprintf("%d automatic runs failed within %s (last: %s: %s); resume with `firebreak automation resume`",
		len(st.Circuit.Failures), set.Window, f.ID, f.Error)
	return true
}

// pageCircuit pages a human when the circuit opens, if configured. A
// paging failure is recorded in the workflow's history and nothing more:
// the circuit is open either way.
func pageCircuit(ctx workflow.Context, set automationwire.AutomationSettings, st *automationwire.AutomationState) {
	if set.PageRoutingKey == "" {
		return
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5, InitialInterval: 2 * time.Second},
	})
	_ = workflow.ExecuteActivity(actx, actions.PagerDutyTrigger, actions.Request{
		RunID: names.AutomationWorkflowID, Step: "circuit-open",
		With: map[string]any{
			"routingKey": set.PageRoutingKey,
			"summary":    "Firebreak automation halted: " + st.Circuit.Reason,
			"severity":   "critical",
			"dedupKey":   "firebreak-automation-circuit",
			"source":     "firebreak",
		},
	}).Get(ctx, nil)
}

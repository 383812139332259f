package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/source"
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

// AutomationSettings configure the circuit breaker.
type AutomationSettings struct {
	// Failures within Window open the circuit.
	Failures int             `json:"failures"`
	Window   source.Duration `json:"window"`
	// PageRoutingKey, when set, pages through PagerDuty when the circuit
	// opens.
	PageRoutingKey string `json:"pageRoutingKey,omitempty"`
}

// AutomationInput starts (or continues) the automation workflow.
type AutomationInput struct {
	Settings AutomationSettings `json:"settings"`
	State    *AutomationState   `json:"state,omitempty"`
}

// AutomationState is the kill switch, the circuit breaker and the record
// of suppressed automatic runs.
type AutomationState struct {
	Paused      bool          `json:"paused"`
	PausedBy    string        `json:"pausedBy,omitempty"`
	PauseReason string        `json:"pauseReason,omitempty"`
	PausedAt    *time.Time    `json:"pausedAt,omitempty"`
	Circuit     CircuitState  `json:"circuit"`
	Suppressed  []Suppression `json:"suppressed"`
	// Totals since the workflow first started.
	Finished        int64 `json:"finished"`
	Failed          int64 `json:"failed"`
	SuppressedTotal int64 `json:"suppressedTotal"`
}

// Holding reports why new automatic runs are held back, or "".
func (s *AutomationState) Holding() string {
	switch {
	case s.Paused:
		reason := "automation paused"
		if s.PausedBy != "" {
			reason += " by " + s.PausedBy
		}
		if s.PauseReason != "" {
			reason += ": " + s.PauseReason
		}
		return reason
	case s.Circuit.Open:
		return "circuit open: " + s.Circuit.Reason
	}
	return ""
}

// CircuitState is the breaker over failing automatic runs.
type CircuitState struct {
	Open     bool          `json:"open"`
	OpenedAt *time.Time    `json:"openedAt,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Failures []RunFinished `json:"recentFailures"`
}

// Suppression records an automatic run that was not started, and why.
type Suppression struct {
	At          time.Time `json:"at"`
	Source      string    `json:"source"`
	Runbook     string    `json:"runbook"`
	Key         string    `json:"key,omitempty"`
	Fingerprint string    `json:"fingerprint,omitempty"`
	Reason      string    `json:"reason"`
}

// SwitchRequest pauses or resumes automation.
type SwitchRequest struct {
	By     string `json:"by"`
	Reason string `json:"reason,omitempty"`
}

// AutomationWorkflow holds the state every automatic start consults: the
// kill switch and the circuit breaker, which opens after too many failed
// automatic runs and stays open until a person resumes automation. It runs
// forever, continuing as new to keep its history short.
func AutomationWorkflow(ctx workflow.Context, in AutomationInput) error {
	st := in.State
	if st == nil {
		st = &AutomationState{Suppressed: []Suppression{}}
	}
	set := in.Settings
	if set.Failures <= 0 {
		set.Failures = DefaultBreakerFailures
	}
	if set.Window <= 0 {
		set.Window = source.Duration(DefaultBreakerWindow)
	}
	if err := workflow.SetQueryHandler(ctx, names.AutomationQuery, func() (*AutomationState, error) { return st, nil }); err != nil {
		return err
	}
	events := 0
	validate := func(_ workflow.Context, req SwitchRequest) error {
		if req.By == "" {
			return temporal.NewApplicationError("say who (by)", RejectInvalid)
		}
		return nil
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.PauseUpdate, func(ctx workflow.Context, req SwitchRequest) (*AutomationState, error) {
		now := workflow.Now(ctx).UTC()
		st.Paused, st.PausedBy, st.PauseReason, st.PausedAt = true, req.By, req.Reason, &now
		events++
		return st, nil
	}, workflow.UpdateHandlerOptions{Validator: validate}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.ResumeUpdate, func(ctx workflow.Context, req SwitchRequest) (*AutomationState, error) {
		st.Paused, st.PausedBy, st.PauseReason, st.PausedAt = false, "", "", nil
		st.Circuit = CircuitState{}
		events++
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
			var f RunFinished
			c.Receive(ctx, &f)
			events++
			page = recordFinished(st, set, f, workflow.Now(ctx).UTC()) || page
		})
		sel.AddReceive(suppressed, func(c workflow.ReceiveChannel, _ bool) {
			var batch []Suppression
			c.Receive(ctx, &batch)
			events++
			for _, s := range batch {
				st.SuppressedTotal++
				st.Suppressed = append(st.Suppressed, s)
			}
			if over := len(st.Suppressed) - maxSuppressed; over > 0 {
				st.Suppressed = append([]Suppression(nil), st.Suppressed[over:]...)
			}
		})
		sel.Select(ctx)
		if page {
			page = false
			pageCircuit(ctx, set, st)
		}
	}
	// Drain what arrived meanwhile, then start afresh with the same state.
	for {
		var f RunFinished
		if !finished.ReceiveAsync(&f) {
			break
		}
		// The failure that opens the circuit may be one of these: it pages
		// like any other.
		page = recordFinished(st, set, f, workflow.Now(ctx).UTC()) || page
	}
	for {
		var batch []Suppression
		if !suppressed.ReceiveAsync(&batch) {
			break
		}
		st.Suppressed = append(st.Suppressed, batch...)
		st.SuppressedTotal += int64(len(batch))
	}
	if page {
		pageCircuit(ctx, set, st)
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, names.AutomationWorkflow, AutomationInput{Settings: in.Settings, State: st})
}

// recordFinished counts an automatic run; it returns true when this run
// opened the circuit.
func recordFinished(st *AutomationState, set AutomationSettings, f RunFinished, now time.Time) bool {
	st.Finished++
	if f.Status != StatusFailed {
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
func pageCircuit(ctx workflow.Context, set AutomationSettings, st *AutomationState) {
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

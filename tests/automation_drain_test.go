package tests

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"golang.org/x/sync/errgroup"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/source"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/workflows"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// TestCircuitOpenedWhileDrainingPages: the automation workflow continues as
// new every 1,000 events and drains the signals that arrived meanwhile.
// When the failure that opens the circuit breaker is one of those, the page
// must still go out. Signals that arrive while no worker polls reach the
// workflow in one task, which is how the drain sees them in production; the
// test stops the worker to get exactly that.
func TestCircuitOpenedWhileDrainingPages(t *testing.T) {
	t.Parallel()
	e := testenv.Engine(t, t.TempDir())
	c := testenv.Client(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var pages atomic.Int32
	page := func(_ context.Context, req actions.Request) (any, error) {
		pages.Add(1)
		return map[string]any{"status": "success"}, nil
	}
	const queue = "automation-drain"
	newWorker := func() worker.Worker {
		w := worker.New(c, queue, worker.Options{})
		workflows.Register(w)
		w.RegisterActivityWithOptions(page, activity.RegisterOptions{Name: actions.PagerDutyTrigger})
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := newWorker()
	const id = "automation-drain-test"
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, names.AutomationWorkflow,
		automationwire.AutomationInput{Settings: automationwire.AutomationSettings{Failures: 3, Window: source.Duration(30 * time.Minute), PageRoutingKey: "rk"}}); err != nil {
		t.Fatal(err)
	}
	// 998 successes, then two failures end the run's event budget; the
	// third failure, in the same batch, is drained and opens the circuit.
	const budget = 1000
	var g errgroup.Group
	g.SetLimit(16)
	for i := 0; i < budget-2; i++ {
		g.Go(func() error {
			return c.SignalWorkflow(ctx, id, "", names.RunFinishedSignal, runwire.RunFinished{ID: fmt.Sprintf("ok-%d", i), Status: runwire.StatusSucceeded})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	waitAutomation(t, ctx, c, id, func(st *automationwire.AutomationState) bool { return st.Finished == budget-2 })
	w.Stop()
	for _, f := range []string{"a", "b", "c"} {
		if err := c.SignalWorkflow(ctx, id, "", names.RunFinishedSignal, runwire.RunFinished{ID: f, Status: runwire.StatusFailed, Error: "boom", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	w = newWorker()
	defer w.Stop()
	st := waitAutomation(t, ctx, c, id, func(st *automationwire.AutomationState) bool { return st.Circuit.Open })
	if st.Finished != budget+1 {
		t.Errorf("finished %d, want %d", st.Finished, budget+1)
	}
	deadline := time.Now().Add(30 * time.Second)
	for pages.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := pages.Load(); n != 1 {
		t.Fatalf("the circuit opened while draining: %d pages, want 1", n)
	}
}

func waitAutomation(t *testing.T, ctx context.Context, c client.Client, id string, cond func(*automationwire.AutomationState) bool) *automationwire.AutomationState {
	t.Helper()
	var st automationwire.AutomationState
	for {
		v, err := c.QueryWorkflow(ctx, id, "", names.AutomationQuery)
		if err == nil {
			if err = v.Get(&st); err == nil && cond(&st) {
				return &st
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("automation state never reached the condition: %+v (%v)", st, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

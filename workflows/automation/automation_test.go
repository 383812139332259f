package automation_test

import (
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/source"
	automationwf "github.com/firebreak-ops/firebreak/workflows/automation"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

func automationEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(automationwf.AutomationWorkflow, workflow.RegisterOptions{Name: names.AutomationWorkflow})
	return env
}

func automationState(t *testing.T, env *testsuite.TestWorkflowEnvironment) automationwire.AutomationState {
	v, err := env.QueryWorkflow(names.AutomationQuery)
	if err != nil {
		t.Fatal(err)
	}
	var st automationwire.AutomationState
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestCircuitBreaker(t *testing.T) {
	env := automationEnv()
	fail := func(at time.Duration, id string) {
		env.RegisterDelayedCallback(func() {
			env.SignalWorkflow(names.RunFinishedSignal, runwire.RunFinished{ID: id, Status: runwire.StatusFailed, Error: "boom", At: env.Now()})
		}, at)
	}
	// Two failures far apart do not open it; three within 30m do.
	fail(time.Minute, "a")
	fail(40*time.Minute, "b")
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(names.RunFinishedSignal, runwire.RunFinished{ID: "ok", Status: runwire.StatusSucceeded})
		if st := automationState(t, env); st.Circuit.Open || st.Holding() != "" {
			t.Errorf("open too early: %+v", st.Circuit)
		}
	}, 45*time.Minute)
	fail(50*time.Minute, "c")
	fail(55*time.Minute, "d")
	env.RegisterDelayedCallback(func() {
		st := automationState(t, env)
		if !st.Circuit.Open || len(st.Circuit.Failures) != 3 || st.Failed != 4 || st.Finished != 5 {
			t.Errorf("want open with 3 recent failures: %+v", st)
		}
		env.UpdateWorkflow(names.ResumeUpdate, "r1", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Errorf("resume rejected: %v", err) }, OnComplete: func(any, error) {},
		}, automationwire.SwitchRequest{By: "alice"})
	}, 56*time.Minute)
	env.RegisterDelayedCallback(func() {
		if st := automationState(t, env); st.Circuit.Open {
			t.Errorf("resume did not close the circuit")
		}
		env.CancelWorkflow()
	}, 57*time.Minute)
	env.ExecuteWorkflow(names.AutomationWorkflow, automationwire.AutomationInput{Settings: automationwire.AutomationSettings{Failures: 3, Window: source.Duration(30 * time.Minute)}})
}

func TestPauseAndSuppressions(t *testing.T) {
	env := automationEnv()
	var rejected error
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(names.PauseUpdate, "p1", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { t.Errorf("pause rejected: %v", err) }, OnComplete: func(any, error) {},
		}, automationwire.SwitchRequest{By: "bob", Reason: "game day"})
		env.UpdateWorkflow(names.PauseUpdate, "p2", &testsuite.TestUpdateCallback{
			OnAccept: func() {}, OnReject: func(err error) { rejected = err }, OnComplete: func(any, error) {},
		}, automationwire.SwitchRequest{})
		batch := make([]automationwire.Suppression, 600)
		for i := range batch {
			batch[i] = automationwire.Suppression{Runbook: "r", Reason: "automation paused"}
		}
		env.SignalWorkflow(names.SuppressedSignal, batch)
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		if rejected == nil {
			t.Error("a pause without by was accepted")
		}
		st := automationState(t, env)
		if st.Holding() != "automation paused by bob: game day" || len(st.Suppressed) != 500 || st.SuppressedTotal != 600 {
			t.Errorf("state %q, %d kept, %d total", st.Holding(), len(st.Suppressed), st.SuppressedTotal)
		}
		env.CancelWorkflow()
	}, 2*time.Minute)
	env.ExecuteWorkflow(names.AutomationWorkflow, automationwire.AutomationInput{})
}

func TestAutomationContinuesAsNew(t *testing.T) {
	env := automationEnv()
	env.RegisterDelayedCallback(func() {
		for i := 0; i < 1000; i++ {
			env.SignalWorkflow(names.RunFinishedSignal, runwire.RunFinished{ID: "x", Status: runwire.StatusSucceeded})
		}
	}, time.Minute)
	env.ExecuteWorkflow(names.AutomationWorkflow, automationwire.AutomationInput{})
	err := env.GetWorkflowError()
	if err == nil || !workflow.IsContinueAsNewError(err) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
}

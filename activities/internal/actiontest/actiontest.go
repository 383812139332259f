// Package actiontest runs an action in tests the way a workflow runs it:
// as an activity, with Temporal's retries.
package actiontest

import (
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/activities"
	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Retried runs one action with Temporal's retries (up to attempts, one
// second apart on the test clock; each attempt sees the heartbeat details
// of the one before) and returns its output, or the error of the last
// attempt.
func Retried(t testing.TB, h actions.Handler, name string, req actions.Request, attempts int32) (map[string]any, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivityWithOptions(activities.Wrap(h), activity.RegisterOptions{Name: name})
	env.RegisterWorkflowWithOptions(func(ctx workflow.Context) (map[string]any, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumAttempts: attempts},
		})
		var res actions.Result
		if err := workflow.ExecuteActivity(ctx, name, req).Get(ctx, &res); err != nil {
			return nil, err
		}
		out, _ := res.Output.(map[string]any)
		return out, nil
	}, workflow.RegisterOptions{Name: "retried"})
	env.ExecuteWorkflow("retried")
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		return nil, err
	}
	var out map[string]any
	if err := env.GetWorkflowResult(&out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

// Package wfutil holds the small helpers that several workflow packages
// share: the run-status search attribute, the text of an activity failure,
// and the activity options of Slack calls. Like the workflows, it never
// touches the network.
package wfutil

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
)

// StatusKey is the search attribute that listings read a run's or an
// incident's status from.
var StatusKey = temporal.NewSearchAttributeKeyKeyword(names.SAStatus)

// ActionMessage keeps the cause of an activity failure and drops the
// wrapping that adds nothing for a reader.
func ActionMessage(err error, timeout time.Duration) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Message()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	return err.Error()
}

// GoDisconnected runs f in a new coroutine, on a context that the
// cancellation of ctx does not reach; done reports whether f has returned.
// Workflows run their Slack notifiers this way, so that a cancelled run
// still shows how it ended.
func GoDisconnected(ctx workflow.Context, f func(workflow.Context)) (done func() bool) {
	finished := false
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	workflow.Go(dctx, func(gctx workflow.Context) {
		f(gctx)
		finished = true
	})
	return func() bool { return finished }
}

// SlackOptions are the activity options of Slack calls made on the side of
// a workflow: short, retried for a while, never failing the workflow.
func SlackOptions(ctx workflow.Context, summary string) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 20 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second, MaximumAttempts: 6,
		},
		Summary: summary,
	})
}

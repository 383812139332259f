package chaosmesh

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Register registers the Chaos Mesh activities under their action names
// (actions.ChaosCreate, ChaosStatus, ChaosDelete, ChaosAwait). Errors a
// retry cannot fix reach the workflow as non-retryable.
func (a *Activities) Register(r worker.ActivityRegistry) {
	r.RegisterActivityWithOptions(withResult(a.Create), activity.RegisterOptions{Name: actions.ChaosCreate})
	r.RegisterActivityWithOptions(withResult(a.Status), activity.RegisterOptions{Name: actions.ChaosStatus})
	r.RegisterActivityWithOptions(func(ctx context.Context, o actions.ChaosObject) error {
		return temporalError(ctx, a.Delete(ctx, o))
	}, activity.RegisterOptions{Name: actions.ChaosDelete})
	r.RegisterActivityWithOptions(withResult(a.Await), activity.RegisterOptions{Name: actions.ChaosAwait})
}

// withResult converts the errors of an activity returning a result.
func withResult[Req, Res any](f func(context.Context, Req) (Res, error)) func(context.Context, Req) (Res, error) {
	return func(ctx context.Context, req Req) (Res, error) {
		out, err := f(ctx, req)
		return out, temporalError(ctx, err)
	}
}

// temporalError turns an error into an application error of type
// actions.ErrTypeFailed, non-retryable when it is permanent, carrying the
// attempt like the runbook actions' errors. Cancellation passes through.
func temporalError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), actions.ErrTypeFailed, temporal.ApplicationErrorOptions{
		NonRetryable: actions.IsPermanent(err),
		Details:      []any{actions.Failure{Attempt: activity.GetInfo(ctx).Attempt}},
	})
}

package chaosmesh

import (
	"context"
	"errors"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Typed returns each Chaos Mesh activity by its action name
// (actions.ChaosCreate, ChaosStatus, ChaosDelete, ChaosAwait), ready to
// register. Errors a retry cannot fix reach the workflow as non-retryable.
func (a *Activities) Typed() map[string]any {
	return map[string]any{
		actions.ChaosCreate: withResult(a.Create),
		actions.ChaosStatus: withResult(a.Status),
		actions.ChaosDelete: func(ctx context.Context, o actions.ChaosObject) error {
			return temporalError(ctx, a.Delete(ctx, o))
		},
		actions.ChaosAwait: withResult(a.Await),
	}
}

// Register registers the Chaos Mesh activities under their action names.
func (a *Activities) Register(r worker.ActivityRegistry) {
	for name, f := range a.Typed() {
		r.RegisterActivityWithOptions(f, activity.RegisterOptions{Name: name})
	}
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

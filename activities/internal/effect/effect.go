// Package effect lets the actions that change something outside Firebreak
// (a Slack post, a PagerDuty note, a channel) find their own earlier effect
// when Temporal retries them, so a retry never doubles it: a key naming one
// execution of an action across its attempts, whether this attempt is a
// retry, when the first attempt was scheduled, and checkpoints kept in the
// activity's heartbeat details, which Temporal hands to the next attempt.
package effect

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Key names one execution of an action across its retries: its workflow,
// that workflow's run and the activity. A later run under the same
// workflow ID (the next run for the same concurrency key) gets another
// key. Outside an activity (a test calling a handler) it is the request's
// run and step.
func Key(ctx context.Context, req actions.Request) string {
	if !activity.IsActivity(ctx) {
		return req.IdempotencyKey()
	}
	info := activity.GetInfo(ctx)
	return info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID + "/" + info.ActivityID
}

// Retry reports whether an earlier attempt of this activity ran, and so
// may have had its effect even though it failed.
func Retry(ctx context.Context) bool {
	return activity.IsActivity(ctx) && activity.GetInfo(ctx).Attempt > 1
}

// Since is when the first attempt was scheduled (zero outside an
// activity): no earlier effect of this execution can be older.
func Since(ctx context.Context) time.Time {
	if !activity.IsActivity(ctx) {
		return time.Time{}
	}
	return activity.GetInfo(ctx).ScheduledTime
}

// Save records what this attempt did, for later attempts. The first
// heartbeat of an attempt reaches Temporal at once, and an attempt that
// fails hands its last one on, so save once, right after the effect.
func Save(ctx context.Context, v any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, v)
	}
}

// Load reads what an earlier attempt saved into v; false when none did.
func Load(ctx context.Context, v any) bool {
	if !activity.IsActivity(ctx) || !activity.HasHeartbeatDetails(ctx) {
		return false
	}
	return activity.GetHeartbeatDetails(ctx, v) == nil
}

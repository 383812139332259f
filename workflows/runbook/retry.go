package runbook

import (
	"time"

	"go.temporal.io/sdk/workflow"

	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// maxRetryRecords bounds the retries one run records.
const maxRetryRecords = 20

// maxRetryReasonBytes bounds a retry's reason in the record.
const maxRetryReasonBytes = 1 << 10

// RetryRecordWait is how long a reset run waits, before it finishes, for
// the retry signal that Firebreak sends right after the reset. A run
// reset by hand outside Firebreak gets none and finishes after it.
const RetryRecordWait = 30 * time.Second

// awaitRetryRecord holds a run that was reset (its run ID is not the one
// its history started with) until it has recorded its retry, or
// RetryRecordWait passed. Everything after a reset point is new history,
// so waiting here replays on a worker. (The SDK's offline replayer runs a
// history under its original run ID, so it takes every history for one
// that was never reset: a captured reset run that had to wait here would
// not replay there.)
func (r *runner) awaitRetryRecord(ctx workflow.Context) {
	info := workflow.GetInfo(ctx)
	if info.WorkflowExecution.RunID == info.OriginalRunID || r.retryRecorded {
		return
	}
	if workflow.GetVersion(ctx, retryRecordChange, workflow.DefaultVersion, 1) < 1 {
		return
	}
	_, _ = workflow.AwaitWithTimeout(ctx, RetryRecordWait, func() bool { return r.retryRecorded })
}

// recordRetry puts a retry (who, from which step, why) into the run's
// record. The retry reset the run's history to the workflow task that
// started that step; this execution goes on from there.
func (r *runner) recordRetry(ctx workflow.Context, rec runwire.RetryRecord) {
	rec.Reason = runwire.Clip(rec.Reason, maxRetryReasonBytes)
	rec.By = runwire.Clip(rec.By, runwire.MaxLabelBytes)
	if len(r.state.Retries) >= maxRetryRecords {
		r.state.Retries = r.state.Retries[1:]
	}
	r.state.Retries = append(r.state.Retries, rec)
	// A run retried twice replays the first retry's signal too: only the
	// record sent to this Temporal run is the one it waits for.
	if rec.RunID == "" || rec.RunID == workflow.GetInfo(ctx).WorkflowExecution.RunID {
		r.retryRecorded = true
	}
	r.changed()
}

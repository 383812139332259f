package runbook

import (
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// maxRetryRecords bounds the retries one run records.
const maxRetryRecords = 20

// maxRetryReasonBytes bounds a retry's reason in the record.
const maxRetryReasonBytes = 1 << 10

// recordRetry puts a retry (who, from which step, why) into the run's
// record. The retry reset the run's history to the workflow task that
// started that step; this execution goes on from there.
func (r *runner) recordRetry(rec runwire.RetryRecord) {
	rec.Reason = runwire.Clip(rec.Reason, maxRetryReasonBytes)
	rec.By = runwire.Clip(rec.By, runwire.MaxLabelBytes)
	if len(r.state.Retries) >= maxRetryRecords {
		r.state.Retries = r.state.Retries[1:]
	}
	r.state.Retries = append(r.state.Retries, rec)
	r.changed()
}

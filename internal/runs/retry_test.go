package runs

import (
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/access"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// TestRetryStep: without a step named, a retry goes on from the step that
// failed; a named step must exist and have started.
func TestRetryStep(t *testing.T) {
	at := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	st := &runwire.RunState{ID: "runbook:r:k", Status: runwire.StatusFailed, Steps: []runwire.StepState{
		{Name: "hold", Status: runwire.StepSkipped},
		{Name: "drain", Status: runwire.StepSucceeded, StartedAt: &at},
		{Name: "verify", Status: runwire.StepFailed, StartedAt: &at},
		{Name: "report", Status: runwire.StepPending},
	}}
	succeeded := &runwire.RunState{ID: "runbook:r:k", Status: runwire.StatusSucceeded, Steps: st.Steps[:2]}
	for _, tc := range []struct {
		name  string
		state *runwire.RunState
		from  string
		want  string
		kind  access.Kind
	}{
		{"the failed step", st, "", "verify", 0},
		{"an earlier step", st, "drain", "drain", 0},
		{"a skipped step", st, "hold", "", access.Invalid},
		{"a step that never ran", st, "report", "", access.Invalid},
		{"no such step", st, "nope", "", access.NotFound},
		{"nothing failed", succeeded, "", "", access.Invalid},
		{"a succeeded run from a step", succeeded, "drain", "drain", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := retryStep(tc.state, tc.from)
			if tc.kind != 0 {
				if !access.Is(err, tc.kind) {
					t.Fatalf("err %v, want kind %d", err, tc.kind)
				}
				return
			}
			if err != nil || got.Name != tc.want {
				t.Fatalf("got %+v %v, want %s", got, err, tc.want)
			}
		})
	}
}

// TestRetryRequestID: the same run, Temporal run and step give the same
// request ID (a double click); any other gives another.
func TestRetryRequestID(t *testing.T) {
	a := RetryRequestID("runbook:r:k", "run-1", "verify")
	for _, other := range []string{
		RetryRequestID("runbook:r:k", "run-2", "verify"),
		RetryRequestID("runbook:r:k", "run-1", "drain"),
		RetryRequestID("runbook:r:j", "run-1", "verify"),
	} {
		if other == a {
			t.Errorf("%s repeats", other)
		}
	}
	if RetryRequestID("runbook:r:k", "run-1", "verify") != a || len(a) > maxRequestID {
		t.Errorf("request ID %q", a)
	}
}

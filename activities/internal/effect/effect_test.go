package effect_test

import (
	"context"
	"errors"
	"testing"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/internal/actiontest"
	"github.com/firebreak-ops/firebreak/activities/internal/effect"
)

// TestAcrossAttempts: the key names the workflow, its run and the
// activity, and stays the same across attempts; what an attempt saves,
// the next one loads, and knows it is a retry.
func TestAcrossAttempts(t *testing.T) {
	type saved struct{ Key string }
	var first bool
	h := func(ctx context.Context, req actions.Request) (any, error) {
		var s saved
		if !effect.Load(ctx, &s) {
			if effect.Retry(ctx) {
				return nil, errors.New("a retry without the first attempt's checkpoint")
			}
			first = true
			effect.Save(ctx, saved{Key: effect.Key(ctx, req)})
			return nil, errors.New("failing after the effect")
		}
		return map[string]any{"saved": s.Key, "now": effect.Key(ctx, req), "retry": effect.Retry(ctx), "since": !effect.Since(ctx).IsZero()}, nil
	}
	out, err := actiontest.Retried(t, h, actions.Log, actions.Request{RunID: "runbook:x:k", Step: "s"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !first || out["saved"] != out["now"] || out["retry"] != true || out["since"] != true {
		t.Fatalf("second attempt saw %v", out)
	}
	if key, _ := out["now"].(string); key != "default-test-workflow-id/default-test-run-id/1" {
		t.Errorf("key %q, want workflow/run/activity", key)
	}
	// Outside an activity: the request's run and step.
	if k := effect.Key(context.Background(), actions.Request{RunID: "runbook:x:k", Step: "s"}); k != "runbook:x:k/s" || effect.Retry(context.Background()) {
		t.Errorf("outside an activity: %q", k)
	}
}

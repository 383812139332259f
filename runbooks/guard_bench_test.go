package runbooks_test

import (
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/runbooks"
)

// BenchmarkCatalogGuard evaluates the `healthy` guard of service-health-check,
// compiled once, as the workflow does.
func BenchmarkCatalogGuard(b *testing.B) {
	cat, _ := runbooks.Builtin()
	plan, _ := cat.Get("service-health-check")
	var healthy *runbooks.StepPlan
	for _, s := range plan.Steps {
		if s.Name == "healthy" {
			healthy = s
		}
	}
	vars := map[string]any{
		runbooks.VarParams: map[string]any{"url": "http://x", "job": "checkout", "max_error_percent": int64(5)},
		runbooks.VarSteps: map[string]any{
			"probe":  map[string]any{"status": "succeeded", "output": map[string]any{"status": int64(200)}, "error": "", "attempts": int64(1)},
			"errors": map[string]any{"status": "succeeded", "output": map[string]any{"count": int64(1), "value": 0.012}, "error": "", "attempts": int64(1)},
		},
		runbooks.VarRun:   map[string]any{"id": "r"},
		runbooks.VarNow:   time.Now(),
		runbooks.VarAlert: map[string]any{},
		runbooks.VarEvent: map[string]any{},
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := healthy.When.EvalBool(vars); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

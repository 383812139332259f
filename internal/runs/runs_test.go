package runs

import (
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/runbooks"
)

// TestDryRunsNeverTakeTheLock: a real run's workflow ID is its target's
// lock; a dry run of the same target gets an ID of its own, a fresh one
// each time, and still records the key it would have run under.
func TestDryRunsNeverTakeTheLock(t *testing.T) {
	cat, err := runbooks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := &Service{Catalog: cat}
	params := map[string]any{"namespace": "prod", "deployment": "db"}
	prepare := func(dry bool) *Prepared {
		t.Helper()
		p, err := s.Prepare(StartRequest{Runbook: "restart-deployment", Params: params, DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	real := prepare(false)
	if real.ID != names.RunWorkflowID("restart-deployment", "prod/db") || real.Input.Key != "prod/db" {
		t.Fatalf("real run %s key %q", real.ID, real.Input.Key)
	}
	seen := map[string]bool{real.ID: true}
	for range 3 {
		dry := prepare(true)
		switch {
		case seen[dry.ID]:
			t.Fatalf("dry run %s shares an ID", dry.ID)
		case !names.IsDryRunWorkflowID(dry.ID) || !strings.HasPrefix(dry.ID, "dryrun:restart-deployment:"):
			t.Errorf("dry run ID %s is not in the dry-run space", dry.ID)
		case dry.Input.ID != dry.ID || !dry.Input.DryRun || dry.Input.Key != "prod/db":
			t.Errorf("dry run input %+v", dry.Input)
		case !dry.Attributes().DryRun:
			t.Errorf("dry run attributes %+v", dry.Attributes())
		}
		seen[dry.ID] = true
	}
}

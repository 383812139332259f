package names_test

import (
	"testing"

	"github.com/firebreak-ops/firebreak/internal/names"
)

// TestRunWorkflowIDs: a dry run's ID lives in its own space, so it can
// never be the ID a real run of the same target takes (its lock), and
// every helper still reads it as a run of its runbook.
func TestRunWorkflowIDs(t *testing.T) {
	for _, tc := range []struct {
		id      string
		run     bool
		dry     bool
		runbook string
	}{
		{names.RunWorkflowID("restart", "prod/db"), true, false, "restart"},
		{names.RunWorkflowID("restart", "dryrun:x"), true, false, "restart"},
		{names.DryRunWorkflowID("restart", "abcdefghij"), true, true, "restart"},
		{"runbook:restart", false, false, ""},
		{"dryrun:restart", false, false, ""},
		{"incident:INC-2026-0001", false, false, ""},
	} {
		if got := names.IsRunWorkflowID(tc.id); got != tc.run {
			t.Errorf("IsRunWorkflowID(%q) = %t", tc.id, got)
		}
		if got := names.IsDryRunWorkflowID(tc.id); got != tc.dry {
			t.Errorf("IsDryRunWorkflowID(%q) = %t", tc.id, got)
		}
		if tc.run {
			if got := names.RunbookOf(tc.id); got != tc.runbook {
				t.Errorf("RunbookOf(%q) = %q, want %q", tc.id, got, tc.runbook)
			}
		}
	}
	// Whatever a concurrency key holds, a real run's ID is never a dry
	// run's.
	for _, key := range []string{"x", "dryrun:restart:x", ":", "restart:abcdefghij"} {
		if id := names.RunWorkflowID("restart", key); names.IsDryRunWorkflowID(id) || id == names.DryRunWorkflowID("restart", key) {
			t.Errorf("key %q: real run ID %q is in the dry-run space", key, id)
		}
	}
}

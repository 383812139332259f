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

// TestRunNames: a run's name is told apart from every workflow ID, and
// step activity IDs differ between a step and its rollback.
func TestRunNames(t *testing.T) {
	for _, tc := range []struct {
		s    string
		name bool
	}{
		{names.RunName("abcd2345"), true},
		{"run-k3fq7x2a", true},
		{"run-abc", false},
		{"run-ABCD2345", false},
		{"run-abcd-2345", false},
		{"run-" + "a234567890123456789012345678901234", false},
		{names.RunWorkflowID("hello-world", "ops"), false},
		{names.DryRunWorkflowID("hello-world", "abcdefghij"), false},
		{"", false},
	} {
		if got := names.IsRunName(tc.s); got != tc.name {
			t.Errorf("IsRunName(%q) = %t", tc.s, got)
		}
		if names.IsRunName(tc.s) && names.IsRunWorkflowID(tc.s) {
			t.Errorf("%q is both a run name and a workflow ID", tc.s)
		}
	}
	if a, b := names.StepActivityID("restart", false), names.StepActivityID("restart", true); a == b || a != "step:restart" {
		t.Errorf("step %q, rollback %q", a, b)
	}
}

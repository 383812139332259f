package workflows_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/workflows"
)

// TestReplayHistories replays every history captured from the end-to-end
// tests (testdata/histories, see the README's "Changing a workflow") with
// today's workflow code. A change that would break a workflow already
// running in production — an open incident, a run waiting for approval, the
// automation and chaos switches — fails here with Temporal's
// non-determinism error, before it is deployed.
func TestReplayHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "histories", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no captured histories under testdata/histories")
	}
	kinds := map[string]int{}
	for _, f := range files {
		kinds[filepath.Base(filepath.Dir(f))]++
	}
	for _, want := range []string{"runbook", "incident", "incident-counter", "postmortem", "automation", "deliveries", "experiment", "chaos", "gameday"} {
		if kinds[want] == 0 {
			t.Errorf("no captured %s history: every workflow type must have one", want)
		}
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			workflows.Register(r)
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			h, err := client.HistoryFromJSON(bytes.NewReader(b), client.HistoryJSONOptions{})
			if err != nil {
				t.Fatalf("reading %s: %v", f, err)
			}
			// The workflow's own ID, as it ran: workflows may derive IDs
			// from it.
			opts := worker.ReplayWorkflowHistoryOptions{OriginalExecution: workflow.Execution{ID: names.HistoryWorkflowID(f)}}
			if err := r.ReplayWorkflowHistoryWithOptions(nil, h, opts); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
		})
	}
}

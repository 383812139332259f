package testenv

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/firebreak-ops/firebreak/internal/codec"
	"github.com/firebreak-ops/firebreak/internal/engine"
	"github.com/firebreak-ops/firebreak/internal/names"
)

// CaptureEnv names the directory that captured workflow histories go to.
// When it is set, every embedded engine a test starts writes the history
// of each of its workflow executions there before it stops, one JSON file
// per execution, in the format the Temporal CLI and the SDK's replayer
// read. The replay test in workflows/ replays the ones committed under
// workflows/testdata/histories.
const CaptureEnv = "FIREBREAK_CAPTURE_HISTORIES"

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// captureHistories writes every execution's history on e to dir/<test>/.
// It never fails the test: capture is a by-product, not a check.
func captureHistories(t testing.TB, e *engine.Engine, dir string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The test's keyring decrypts, so the captured histories are plain,
	// as the replayer reads them.
	opts := client.Options{HostPort: e.FrontendAddress(), Namespace: e.Namespace(), Logger: sdklog.NewStructuredLogger(Logger(t))}
	if err := codec.Apply(&opts, Keyring(t)); err != nil {
		t.Logf("capture histories: %v", err)
		return
	}
	c, err := client.Dial(opts)
	if err != nil {
		t.Logf("capture histories: %v", err)
		return
	}
	defer c.Close()
	out := filepath.Join(dir, unsafeName.ReplaceAllString(t.Name(), "_"))
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Logf("capture histories: %v", err)
		return
	}
	var token []byte
	n := 0
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: e.Namespace(), NextPageToken: token})
		if err != nil {
			t.Logf("capture histories: listing: %v", err)
			return
		}
		for _, ex := range resp.Executions {
			id, run := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
			h := &historypb.History{}
			it := c.GetWorkflowHistory(ctx, id, run, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Logf("capture histories: %s: %v", id, err)
					h = nil
					break
				}
				h.Events = append(h.Events, ev)
			}
			if h == nil || len(h.Events) < 3 {
				// Not read, or no workflow task yet: nothing to replay.
				continue
			}
			b, err := temporalproto.CustomJSONMarshalOptions{Indent: " "}.Marshal(h)
			if err != nil {
				t.Logf("capture histories: %s: %v", id, err)
				continue
			}
			name := names.HistoryFileName(ex.GetType().GetName(), id, run)
			if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
				t.Logf("capture histories: %v", err)
				return
			}
			n++
		}
		if token = resp.NextPageToken; len(token) == 0 {
			break
		}
	}
	t.Logf("captured %d workflow histories into %s", n, out)
}

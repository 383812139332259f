// Package temporalx holds the few Temporal helpers every domain package
// shares: paging through a visibility listing, Firebreak's search
// attributes in both encodings, links to the Web UI, updates to the
// singleton workflows (update-with-start), and reading a workflow's state
// whether or not a worker is up.
package temporalx

import (
	"context"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/internal/names"
)

// List pages through the executions a visibility query finds, newest
// first, and calls visit with each until visit returns false or the pages
// run out. An empty namespace means the client's. Errors are Temporal's,
// unmapped.
func List(ctx context.Context, c client.Client, namespace, query string, pageSize int, visit func(*workflowpb.WorkflowExecutionInfo) bool) error {
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, Query: query, PageSize: int32(pageSize), NextPageToken: token,
		})
		if err != nil {
			return err
		}
		for _, e := range resp.GetExecutions() {
			if !visit(e) {
				return nil
			}
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return nil
		}
	}
}

// HistoryURL links to a workflow in the Temporal Web UI at uiURL, to the
// history of one run when runID is set; "" without a UI.
func HistoryURL(uiURL, namespace, id, runID string) string {
	if uiURL == "" {
		return ""
	}
	u := fmt.Sprintf("%s/namespaces/%s/workflows/%s", strings.TrimSuffix(uiURL, "/"), namespace, pathEscape(id))
	if runID != "" {
		u += "/" + runID + "/history"
	}
	return u
}

func pathEscape(s string) string {
	return strings.NewReplacer("/", "%2F", " ", "%20", "?", "%3F", "#", "%23").Replace(s)
}

// Singleton names a long-lived workflow that one ID always holds (the
// incident counter, the delivery ledger): its type, input and summary for
// the start when it is not running.
type Singleton struct {
	ID      string
	Type    string
	Input   any
	Summary string
}

// UpdateSingleton sends an update to the singleton, starting it first when
// it is not running (update-with-start), waits for the update's result and
// decodes it into out. Errors are Temporal's, unmapped.
func UpdateSingleton(ctx context.Context, c client.Client, s Singleton, update string, arg, out any) error {
	op := c.NewWithStartWorkflowOperation(client.StartWorkflowOptions{
		ID:                       s.ID,
		TaskQueue:                names.TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            s.Summary,
	}, s.Type, s.Input)
	h, err := c.UpdateWithStartWorkflow(ctx, client.UpdateWithStartWorkflowOptions{
		StartWorkflowOperation: op,
		UpdateOptions: client.UpdateWorkflowOptions{
			UpdateName: update, Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
		},
	})
	if err != nil {
		return err
	}
	return h.Get(ctx, out)
}

// ReadState reads a workflow's state into out, without a worker when it
// can: the result of its latest run once that run has completed, else the
// answer to query, which a worker gives. Errors are Temporal's, unmapped.
func ReadState(ctx context.Context, c client.Client, id, query string, out any) error {
	desc, err := c.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return err
	}
	info := desc.GetWorkflowExecutionInfo()
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED {
		if err := c.GetWorkflow(ctx, id, info.GetExecution().GetRunId()).Get(ctx, out); err == nil {
			return nil
		}
	}
	resp, err := c.QueryWorkflow(ctx, id, "", query)
	if err != nil {
		return err
	}
	return resp.Get(out)
}

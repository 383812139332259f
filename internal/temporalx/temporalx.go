// Package temporalx holds the few Temporal helpers every domain package
// shares: paging through a visibility listing, Firebreak's search
// attributes in both encodings, and links to the Web UI.
package temporalx

import (
	"context"
	"fmt"
	"strings"

	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
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

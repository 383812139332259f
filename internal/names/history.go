package names

import (
	"net/url"
	"path/filepath"
	"strings"
)

// HistoryFileName names a captured workflow history:
// <type>@<workflow ID, query-escaped>@<first 8 characters of the run
// ID>.json. Replays read the workflow ID back from it (HistoryWorkflowID),
// since a workflow may use its own ID: a game day names its experiments'
// runs after it.
func HistoryFileName(workflowType, workflowID, runID string) string {
	return workflowType + "@" + url.QueryEscape(workflowID) + "@" + runID[:min(8, len(runID))] + ".json"
}

// HistoryWorkflowID is the workflow ID in a HistoryFileName, or "" when the
// name holds none.
func HistoryWorkflowID(file string) string {
	parts := strings.Split(strings.TrimSuffix(filepath.Base(file), ".json"), "@")
	if len(parts) < 3 {
		return ""
	}
	id, err := url.QueryUnescape(parts[len(parts)-2])
	if err != nil {
		return ""
	}
	return id
}

// Package experiment holds the activities chaos experiments need from
// Firebreak itself rather than from an outside system: the context their
// preconditions read, taken from Temporal's visibility store.
package experiment

import (
	"context"
	"fmt"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
)

// Activities reads Firebreak's own state through a Temporal client.
type Activities struct {
	Client client.Client
}

// Context counts open incidents: running incident workflows.
func (a *Activities) Context(ctx context.Context, _ struct{}) (actions.ExperimentContextResult, error) {
	q := fmt.Sprintf("WorkflowType = '%s' AND ExecutionStatus = 'Running'", names.IncidentWorkflow)
	resp, err := a.Client.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
	if err != nil {
		return actions.ExperimentContextResult{}, fmt.Errorf("counting open incidents: %w", err)
	}
	return actions.ExperimentContextResult{OpenIncidents: int(resp.GetCount())}, nil
}

// Typed returns each activity by its action name, ready to register.
func (a *Activities) Typed() map[string]any {
	return map[string]any{actions.ExperimentContext: a.Context}
}

package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
)

// Registry is the part of a Temporal worker, or of a replayer, that takes
// workflow functions.
type Registry interface {
	RegisterWorkflowWithOptions(w any, options workflow.RegisterOptions)
}

// Register registers every Firebreak workflow under its constant name. The
// worker and the replay test both call it, so a workflow that is served is
// also replayed.
func Register(r Registry) {
	for name, fn := range map[string]any{
		names.RunbookWorkflow:         RunbookWorkflow,
		names.AutomationWorkflow:      AutomationWorkflow,
		names.IncidentWorkflow:        IncidentWorkflow,
		names.IncidentCounterWorkflow: IncidentCounterWorkflow,
		names.PostmortemWorkflow:      PostmortemWorkflow,
		names.ExperimentWorkflow:      ExperimentWorkflow,
		names.ChaosWorkflow:           ChaosWorkflow,
		names.GameDayWorkflow:         GameDayWorkflow,
	} {
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	}
}

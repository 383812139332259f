// Package workflows registers Firebreak's deterministic workflows, which
// call actions by name through activities and never touch the network. The
// workflows live by domain in runbook, incident, chaos and automation; the
// types they exchange with the rest of Firebreak live in wire/run,
// wire/incident, wire/chaos and wire/automation, which hold no workflow
// code.
package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
	automationwf "github.com/firebreak-ops/firebreak/workflows/automation"
	chaoswf "github.com/firebreak-ops/firebreak/workflows/chaos"
	incidentwf "github.com/firebreak-ops/firebreak/workflows/incident"
	runbookwf "github.com/firebreak-ops/firebreak/workflows/runbook"
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
		names.RunbookWorkflow:         runbookwf.RunbookWorkflow,
		names.AutomationWorkflow:      automationwf.AutomationWorkflow,
		names.DeliveryLedgerWorkflow:  automationwf.DeliveryLedgerWorkflow,
		names.IncidentWorkflow:        incidentwf.IncidentWorkflow,
		names.IncidentCounterWorkflow: incidentwf.IncidentCounterWorkflow,
		names.PostmortemWorkflow:      incidentwf.PostmortemWorkflow,
		names.ExperimentWorkflow:      chaoswf.ExperimentWorkflow,
		names.ChaosWorkflow:           chaoswf.ChaosWorkflow,
		names.GameDayWorkflow:         chaoswf.GameDayWorkflow,
	} {
		r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: name})
	}
}

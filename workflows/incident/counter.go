package incident

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Bounds of the counter workflow.
const (
	// counterAllocationsPerRun triggers continue-as-new of the counter.
	counterAllocationsPerRun = 500
	// counterKeys is how many idempotency keys the counter remembers.
	counterKeys = 1000
)

// IncidentCounterWorkflow hands out incident numbers: one per allocate
// update, counting from 1 each year. Temporal runs updates of one workflow
// one after another and records each in history, so two declarations never
// get the same number and a number, once handed out, is never handed out
// again (a declaration that fails after allocating leaves a gap). Callers
// reach it with update-with-start, so it starts on first use.
func IncidentCounterWorkflow(ctx workflow.Context, in incidentwire.IncidentCounterInput) error {
	last := in.Last
	if last == nil {
		last = map[int]int{}
	}
	keys := in.Keys
	allocated := 0
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.AllocateIncidentUpdate,
		func(_ workflow.Context, req incidentwire.AllocateRequest) (string, error) {
			if req.Key != "" {
				for _, k := range keys {
					if k.Key == req.Key {
						return k.ID, nil
					}
				}
			}
			last[req.Year]++
			allocated++
			id := names.IncidentID(req.Year, last[req.Year])
			if req.Key != "" {
				keys = append(keys, incidentwire.AllocatedKey{Key: req.Key, ID: id})
				if over := len(keys) - counterKeys; over > 0 {
					keys = append([]incidentwire.AllocatedKey(nil), keys[over:]...)
				}
			}
			return id, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, req incidentwire.AllocateRequest) error {
			if req.Year < 2000 || req.Year > 9999 {
				return temporal.NewApplicationError(fmt.Sprintf("year %d is out of range", req.Year), runwire.RejectInvalid)
			}
			return nil
		}}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, names.IncidentQuery, func() (map[int]int, error) { return last, nil }); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool {
		return allocated >= counterAllocationsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
	}); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, names.IncidentCounterWorkflow, incidentwire.IncidentCounterInput{Last: last, Keys: keys})
}

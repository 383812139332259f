// Package chaos holds the chaos workflows: ExperimentWorkflow (one
// experiment, from preconditions to verdict), ChaosWorkflow (the halt
// switch) and GameDayWorkflow. Their wire types are in workflows/wire/chaos.
package chaos

import (
	"sort"

	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// chaosEventsPerRun triggers continue-as-new of the chaos workflow.
const chaosEventsPerRun = 2000

// ChaosWorkflow holds the chaos halt switch and the set of running
// experiments. A halt is passed on to every running experiment at once, and
// to any experiment that starts while chaos is halted.
func ChaosWorkflow(ctx workflow.Context, in chaoswire.ChaosInput) (*chaoswire.ChaosState, error) {
	st := in.State
	if st == nil {
		st = &chaoswire.ChaosState{}
	}
	running := map[string]bool{}
	for _, id := range st.Running {
		running[id] = true
	}
	list := func() []string { return runningList(running) }
	if err := workflow.SetQueryHandler(ctx, names.ChaosQuery, func() (*chaoswire.ChaosState, error) {
		return chaosView(st, running), nil
	}); err != nil {
		return nil, err
	}
	haltCh := workflow.GetSignalChannel(ctx, names.ChaosHaltSignal)
	resumeCh := workflow.GetSignalChannel(ctx, names.ChaosResumeSignal)
	startedCh := workflow.GetSignalChannel(ctx, names.ExperimentStartedSignal)
	finishedCh := workflow.GetSignalChannel(ctx, names.ExperimentFinishedSignal)

	haltOne := func(id string) {
		// Fire and forget: a run that has just finished no longer listens.
		workflow.SignalExternalWorkflow(ctx, id, "", names.ChaosHaltSignal, chaoswire.ChaosHalt{Reason: st.Reason, By: st.By})
	}
	for {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(haltCh, func(c workflow.ReceiveChannel, _ bool) {
			var h chaoswire.ChaosHalt
			c.Receive(ctx, &h)
			now := workflow.Now(ctx)
			st.Halted, st.Reason, st.By, st.At = true, h.Reason, h.By, &now
			st.Halts++
			for _, id := range list() {
				haltOne(id)
			}
		})
		sel.AddReceive(resumeCh, func(c workflow.ReceiveChannel, _ bool) {
			var h chaoswire.ChaosHalt
			c.Receive(ctx, &h)
			st.Halted, st.Reason, st.By, st.At = false, "", "", nil
		})
		sel.AddReceive(startedCh, func(c workflow.ReceiveChannel, _ bool) {
			var ref chaoswire.ExperimentRef
			c.Receive(ctx, &ref)
			running[ref.ID] = true
			if st.Halted {
				haltOne(ref.ID)
			}
		})
		sel.AddReceive(finishedCh, func(c workflow.ReceiveChannel, _ bool) {
			var ref chaoswire.ExperimentRef
			c.Receive(ctx, &ref)
			delete(running, ref.ID)
		})
		sel.Select(ctx)
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > chaosEventsPerRun {
			// Drain what already arrived so no signal is lost, then carry on
			// in a fresh history.
			for sel.HasPending() {
				sel.Select(ctx)
			}
			st.Running = list()
			return nil, workflow.NewContinueAsNewError(ctx, ChaosWorkflow, chaoswire.ChaosInput{State: st})
		}
	}
}

// runningList is the set of running experiments, sorted.
func runningList(running map[string]bool) []string {
	out := make([]string, 0, len(running))
	//workflowcheck:ignore sorted below
	for id := range running {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// chaosView is what the chaos query answers: a copy of the state with the
// running experiments filled in. Query handlers never change state.
func chaosView(st *chaoswire.ChaosState, running map[string]bool) *chaoswire.ChaosState {
	v := *st
	v.Running = runningList(running)
	return &v
}

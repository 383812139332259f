package slack

import (
	"context"
	"strings"
	"testing"

	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

func (f *fakeService) HaltChaos(_ context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error) {
	f.record("HaltChaos " + h.By + " " + h.Reason)
	return &chaoswire.ChaosState{Halted: true, By: h.By, Reason: h.Reason, Running: []string{"experiment:a:1", "experiment:b:2"}}, nil
}

func (f *fakeService) ResumeChaos(_ context.Context, h chaoswire.ChaosHalt) (*chaoswire.ChaosState, error) {
	f.record("ResumeChaos " + h.By)
	return &chaoswire.ChaosState{Running: []string{}}, nil
}

func (f *fakeService) ChaosState(context.Context) (*chaoswire.ChaosState, error) {
	f.record("ChaosState")
	return &chaoswire.ChaosState{Halted: true, By: "alice", Reason: "SEV1", Running: []string{"experiment:a:1"}}, nil
}

func (f *fakeService) AbortExperiment(_ context.Context, id string, h chaoswire.ChaosHalt) error {
	f.record("AbortExperiment " + id + " " + h.By)
	return nil
}

func TestChaosCommand(t *testing.T) {
	for _, tc := range []struct {
		text      string
		immediate string
		later     string
		call      string
	}{
		{text: "chaos halt checkout is burning", immediate: "halting chaos", later: "Chaos halted by <@U0ALICE>: checkout is burning. 2 running experiment(s) are rolling back",
			call: "HaltChaos alice (U0ALICE) checkout is burning"},
		{text: "chaos halt", immediate: "halting chaos", later: "Chaos halted by <@U0ALICE>. 2 running", call: "HaltChaos alice (U0ALICE) "},
		// Lifting a halt needs chaos.resume, which no default role grants.
		{text: "chaos resume", immediate: "alice (U0ALICE) may not chaos.resume"},
		{text: "chaos status", immediate: "looking", later: "Chaos is *halted* by alice: SEV1. 1 experiment(s) running.", call: "ChaosState"},
		{text: "chaos abort experiment:a:1", immediate: "aborting", later: "its fault is being removed", call: "AbortExperiment experiment:a:1 alice (U0ALICE)"},
		{text: "chaos abort", immediate: "Which experiment run?"},
		{text: "chaos", immediate: "Which chaos subcommand?"},
		{text: "chaos explode", immediate: "Unknown chaos subcommand"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			e := newEnv(t)
			a, later := e.command(tc.text)
			if a.Code != 200 || !strings.Contains(a.Text, tc.immediate) {
				t.Fatalf("immediate %d %q, want %q", a.Code, a.Text, tc.immediate)
			}
			if tc.later != "" && (len(later) != 1 || !strings.Contains(later[0], tc.later)) {
				t.Errorf("later %q, want %q", later, tc.later)
			}
			calls := e.svc.Calls()
			if tc.call == "" && len(calls) != 0 || tc.call != "" && (len(calls) != 1 || calls[0] != tc.call) {
				t.Errorf("calls %q, want %q", calls, tc.call)
			}
		})
	}
}

package automation_test

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
	automationwf "github.com/firebreak-ops/firebreak/workflows/automation"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
)

var ledgerStart = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// ledgerStep is one thing done to the ledger at a time after its start.
type ledgerStep struct {
	at       time.Duration
	claim    *automationwire.ClaimRequest
	settle   *automationwire.SettleRequest
	want     string // the claim's answer
	rejected string // the claim's rejection
}

func claim(at time.Duration, key string, occurred time.Time, token, want string) ledgerStep {
	return ledgerStep{at: at, claim: &automationwire.ClaimRequest{Key: key, OccurredAt: occurred, Token: token}, want: want}
}

func settle(at time.Duration, key, token string, delivered bool) ledgerStep {
	return ledgerStep{at: at, settle: &automationwire.SettleRequest{Key: key, Token: token, Delivered: delivered}}
}

// runLedger runs the ledger through the steps and checks each claim's
// answer; it returns the workflow's error (continue-as-new, or the
// cancellation that ends the test).
func runLedger(t *testing.T, in automationwire.DeliveryLedgerInput, steps []ledgerStep) error {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestWorkflowEnvironment()
	env.SetStartTime(ledgerStart)
	env.RegisterWorkflowWithOptions(automationwf.DeliveryLedgerWorkflow, workflow.RegisterOptions{Name: names.DeliveryLedgerWorkflow})
	// One callback per moment (the test environment holds only so many),
	// doing that moment's steps in order.
	last := time.Duration(0)
	byTime := map[time.Duration][]int{}
	var moments []time.Duration
	for i, st := range steps {
		last = max(last, st.at)
		if _, ok := byTime[st.at]; !ok {
			moments = append(moments, st.at)
		}
		byTime[st.at] = append(byTime[st.at], i)
	}
	do := func(i int, st ledgerStep) {
		switch {
		case st.claim != nil:
			env.UpdateWorkflow(names.ClaimDeliveryUpdate, fmt.Sprint(i), &testsuite.TestUpdateCallback{
				OnAccept: func() {},
				OnReject: func(err error) {
					if st.rejected == "" || !strings.Contains(err.Error(), st.rejected) {
						t.Errorf("step %d: claim %+v rejected: %v", i, st.claim, err)
					}
				},
				OnComplete: func(v any, err error) {
					res, _ := v.(automationwire.ClaimResult)
					if err != nil || res.Result != st.want {
						t.Errorf("step %d: claim %s at +%s answered %+v %v, want %s", i, st.claim.Key, st.at, res, err, st.want)
					}
				},
			}, *st.claim)
		case st.settle != nil:
			env.UpdateWorkflow(names.SettleDeliveryUpdate, fmt.Sprint(i), &testsuite.TestUpdateCallback{
				OnAccept:   func() {},
				OnReject:   func(err error) { t.Errorf("step %d: settle %+v rejected: %v", i, st.settle, err) },
				OnComplete: func(any, error) {},
			}, *st.settle)
		}
	}
	for _, at := range moments {
		env.RegisterDelayedCallback(func() {
			for _, i := range byTime[at] {
				do(i, steps[i])
			}
		}, at)
	}
	env.RegisterDelayedCallback(env.CancelWorkflow, last+time.Second)
	env.ExecuteWorkflow(names.DeliveryLedgerWorkflow, in)
	return env.GetWorkflowError()
}

// TestDeliveryLedger: a delivery is taken once. A replay of one delivered
// is a duplicate however much later it comes, within the window and
// after it (stale); one being delivered is busy until its request settles
// or its lease runs out; one given up may be taken again; past the
// capacity the oldest is forgotten and the horizon moves up to it.
func TestDeliveryLedger(t *testing.T) {
	occurred := ledgerStart.Add(-time.Minute)
	for _, tc := range []struct {
		name  string
		in    automationwire.DeliveryLedgerInput
		steps []ledgerStep
	}{
		{"delivered, then replayed", automationwire.DeliveryLedgerInput{}, []ledgerStep{
			claim(time.Second, "pagerduty:E1", occurred, "a", automationwire.ClaimNew),
			settle(2*time.Second, "pagerduty:E1", "a", true),
			claim(3*time.Second, "pagerduty:E1", occurred, "b", automationwire.ClaimDuplicate),
			claim(20*time.Hour, "pagerduty:E1", occurred, "c", automationwire.ClaimDuplicate),
			claim(25*time.Hour, "pagerduty:E1", occurred, "d", automationwire.ClaimStale),
			claim(25*time.Hour, "pagerduty:E2", ledgerStart.Add(25*time.Hour), "e", automationwire.ClaimNew),
		}},
		{"busy while delivered, taken over after the lease", automationwire.DeliveryLedgerInput{}, []ledgerStep{
			claim(time.Second, "pagerduty:E1", occurred, "a", automationwire.ClaimNew),
			claim(2*time.Second, "pagerduty:E1", occurred, "b", automationwire.ClaimBusy),
			claim(time.Second+automationwf.DeliveryLease+time.Second, "pagerduty:E1", occurred, "b", automationwire.ClaimNew),
			settle(35*time.Second, "pagerduty:E1", "a", true), // the late request's word counts for nothing
			claim(40*time.Second, "pagerduty:E1", occurred, "c", automationwire.ClaimBusy),
			settle(50*time.Second, "pagerduty:E1", "b", true),
			claim(4*time.Minute, "pagerduty:E1", occurred, "d", automationwire.ClaimDuplicate),
		}},
		{"given up, taken again", automationwire.DeliveryLedgerInput{}, []ledgerStep{
			claim(time.Second, "pagerduty:E1", occurred, "a", automationwire.ClaimNew),
			settle(2*time.Second, "pagerduty:E1", "a", false),
			claim(3*time.Second, "pagerduty:E1", occurred, "b", automationwire.ClaimNew),
		}},
		{"too old", automationwire.DeliveryLedgerInput{}, []ledgerStep{
			claim(time.Second, "pagerduty:E1", ledgerStart.Add(-25*time.Hour), "a", automationwire.ClaimStale),
		}},
		{"over capacity", automationwire.DeliveryLedgerInput{Capacity: 2}, []ledgerStep{
			claim(time.Second, "pagerduty:E1", occurred, "a", automationwire.ClaimNew),
			settle(time.Second+time.Second/2, "pagerduty:E1", "a", true),
			claim(2*time.Second, "pagerduty:E2", occurred.Add(time.Second), "b", automationwire.ClaimNew),
			settle(2*time.Second+time.Second/2, "pagerduty:E2", "b", true),
			claim(3*time.Second, "pagerduty:E3", occurred.Add(2*time.Second), "c", automationwire.ClaimNew),
			claim(4*time.Second, "pagerduty:E1", occurred, "d", automationwire.ClaimStale),
			claim(4*time.Second, "pagerduty:E2", occurred.Add(time.Second), "e", automationwire.ClaimDuplicate),
			claim(4*time.Second, "pagerduty:E0", occurred.Add(-time.Second), "f", automationwire.ClaimStale),
		}},
		{"bad claims", automationwire.DeliveryLedgerInput{}, []ledgerStep{
			{at: time.Second, claim: &automationwire.ClaimRequest{Key: "", OccurredAt: occurred, Token: "a"}, rejected: "delivery key"},
			{at: time.Second, claim: &automationwire.ClaimRequest{Key: "k", Token: "a"}, rejected: "the time the event occurred"},
			{at: time.Second, claim: &automationwire.ClaimRequest{Key: "k", OccurredAt: occurred}, rejected: "token"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := runLedger(t, tc.in, tc.steps); err == nil || !strings.Contains(err.Error(), "canceled") {
				t.Errorf("ledger ended with %v", err)
			}
		})
	}
}

// TestDeliveryLedgerContinuesAsNew: after many claims the ledger
// continues as new and carries what it remembers.
func TestDeliveryLedgerContinuesAsNew(t *testing.T) {
	var steps []ledgerStep
	for i := range 500 {
		key := fmt.Sprintf("pagerduty:E%d", i)
		at := time.Duration(i/50+1) * time.Second
		steps = append(steps, claim(at, key, ledgerStart, "t", automationwire.ClaimNew), settle(at+time.Second/2, key, "t", true))
	}
	err := runLedger(t, automationwire.DeliveryLedgerInput{}, steps)
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next automationwire.DeliveryLedgerInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if len(next.Deliveries) != 500 || next.Deliveries[0].Token != "" || !next.Horizon.Equal(ledgerStart.Add(10*time.Second).Add(-automationwf.DefaultDeliveryWindow)) {
		t.Errorf("carried %d deliveries, horizon %s", len(next.Deliveries), next.Horizon)
	}
}

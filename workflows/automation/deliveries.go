package automation

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ops/firebreak/internal/names"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Defaults and bounds of the delivery ledger.
const (
	// DefaultDeliveryWindow is how long a delivery is remembered after it
	// occurred; older ones are refused as stale.
	DefaultDeliveryWindow = 24 * time.Hour
	// DefaultDeliveryCapacity bounds how many deliveries are remembered
	// (the ledger travels in its continue-as-new input); past it the
	// oldest is forgotten and the horizon moves up to it.
	DefaultDeliveryCapacity = 5000
	// DeliveryLease is how long a claim holds a delivery before another
	// request may take it over (its request died).
	DeliveryLease = 30 * time.Second
	// claimsPerRun triggers continue-as-new of the ledger.
	claimsPerRun   = 500
	maxDeliveryKey = 300
)

// ledger is the state of DeliveryLedgerWorkflow.
type ledger struct {
	window   time.Duration
	capacity int
	// deliveries are kept in the order they occurred.
	deliveries []automationwire.Delivery
	horizon    time.Time
}

// DeliveryLedgerWorkflow remembers which webhook deliveries were taken,
// by event ID, so a delivery replayed later (PagerDuty's v3 signatures
// carry no timestamp, so a captured one stays valid) is not delivered
// again. A claim (an update, applied one at a time) takes a delivery that
// is new, holding it for DeliveryLease while its request delivers it; the
// request then settles it (an update too): delivered, or given up so the
// sender's retry may deliver it. Deliveries are remembered for a window
// after they occurred and up to a capacity; anything that occurred before
// what is remembered is stale, so no replay is ever taken.
func DeliveryLedgerWorkflow(ctx workflow.Context, in automationwire.DeliveryLedgerInput) error {
	l := &ledger{window: in.Window, capacity: in.Capacity, deliveries: in.Deliveries, horizon: in.Horizon}
	if l.window <= 0 {
		l.window = DefaultDeliveryWindow
	}
	if l.capacity <= 0 {
		l.capacity = DefaultDeliveryCapacity
	}
	claims := 0
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.ClaimDeliveryUpdate,
		func(ctx workflow.Context, req automationwire.ClaimRequest) (automationwire.ClaimResult, error) {
			claims++
			return l.claim(workflow.Now(ctx).UTC(), req), nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, req automationwire.ClaimRequest) error {
			switch {
			case req.Key == "" || len(req.Key) > maxDeliveryKey:
				return temporal.NewApplicationError(fmt.Sprintf("a delivery key has 1 to %d bytes", maxDeliveryKey), runwire.RejectInvalid)
			case req.Token == "":
				return temporal.NewApplicationError("a claim needs a token", runwire.RejectInvalid)
			case req.OccurredAt.IsZero():
				return temporal.NewApplicationError("a claim needs the time the event occurred", runwire.RejectInvalid)
			}
			return nil
		}}); err != nil {
		return err
	}
	// Settling is an update too, not a signal: when the request that
	// delivered an event answers, its settle has been applied, so the
	// next claim of the same event sees it.
	if err := workflow.SetUpdateHandlerWithOptions(ctx, names.SettleDeliveryUpdate,
		func(_ workflow.Context, req automationwire.SettleRequest) error {
			l.settle(req)
			return nil
		},
		workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, req automationwire.SettleRequest) error {
			if req.Key == "" || req.Token == "" {
				return temporal.NewApplicationError("a settle names the delivery and the claim's token", runwire.RejectInvalid)
			}
			return nil
		}}); err != nil {
		return err
	}
	if err := workflow.SetQueryHandler(ctx, names.DeliveryLedgerQuery, func() (automationwire.DeliveryLedgerState, error) {
		return automationwire.DeliveryLedgerState{Deliveries: l.deliveries, Horizon: l.horizon}, nil
	}); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool {
		return claims >= claimsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested()
	}); err != nil {
		return err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, names.DeliveryLedgerWorkflow, automationwire.DeliveryLedgerInput{
		Window: in.Window, Capacity: in.Capacity, Deliveries: l.deliveries, Horizon: l.horizon,
	})
}

// claim decides a claim at now.
func (l *ledger) claim(now time.Time, req automationwire.ClaimRequest) automationwire.ClaimResult {
	l.forget(now)
	at := req.OccurredAt.UTC()
	if at.Before(l.horizon) {
		return automationwire.ClaimResult{Result: automationwire.ClaimStale, Horizon: l.horizon}
	}
	lease := now.Add(DeliveryLease)
	if i := l.find(req.Key); i >= 0 {
		d := &l.deliveries[i]
		switch {
		case d.Token == "":
			return automationwire.ClaimResult{Result: automationwire.ClaimDuplicate}
		case d.Token != req.Token && d.Lease != nil && now.Before(*d.Lease):
			return automationwire.ClaimResult{Result: automationwire.ClaimBusy}
		}
		// The request that held it gave no word within its lease (or
		// this is that request again): this one takes it over.
		d.Token, d.Lease = req.Token, &lease
		return automationwire.ClaimResult{Result: automationwire.ClaimNew}
	}
	d := automationwire.Delivery{Key: req.Key, OccurredAt: at, Token: req.Token, Lease: &lease}
	i := len(l.deliveries)
	for i > 0 && l.deliveries[i-1].OccurredAt.After(at) {
		i--
	}
	l.deliveries = slices.Insert(l.deliveries, i, d)
	for len(l.deliveries) > l.capacity {
		// Forget the oldest; nothing that occurred before it (or with
		// it) can be told from a replay any more.
		l.horizon = l.deliveries[0].OccurredAt.Add(time.Nanosecond)
		l.deliveries = slices.Delete(l.deliveries, 0, 1)
	}
	if at.Before(l.horizon) {
		return automationwire.ClaimResult{Result: automationwire.ClaimStale, Horizon: l.horizon}
	}
	return automationwire.ClaimResult{Result: automationwire.ClaimNew}
}

// forget drops the deliveries that occurred before the window, and moves
// the horizon to the window's start.
func (l *ledger) forget(now time.Time) {
	if start := now.Add(-l.window); start.After(l.horizon) {
		l.horizon = start
	}
	n := 0
	for n < len(l.deliveries) && l.deliveries[n].OccurredAt.Before(l.horizon) {
		n++
	}
	if n > 0 {
		l.deliveries = slices.Delete(l.deliveries, 0, n)
	}
}

// settle ends the claim the token holds: delivered is remembered for the
// window; given up is forgotten, so a retry may deliver it.
func (l *ledger) settle(req automationwire.SettleRequest) {
	i := l.find(req.Key)
	if i < 0 || l.deliveries[i].Token == "" || l.deliveries[i].Token != req.Token {
		return
	}
	if req.Delivered {
		l.deliveries[i].Token, l.deliveries[i].Lease = "", nil
		return
	}
	l.deliveries = slices.Delete(l.deliveries, i, i+1)
}

func (l *ledger) find(key string) int {
	for i := len(l.deliveries) - 1; i >= 0; i-- {
		if l.deliveries[i].Key == key {
			return i
		}
	}
	return -1
}

package automation

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/temporalx"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
)

// Deliveries takes webhook deliveries through the delivery ledger
// workflow, so each event is delivered once however often it is sent:
// PagerDuty's retries, and replays of a captured delivery, whose v3
// signature carries no timestamp.
type Deliveries struct {
	Client client.Client
}

// Claim is a delivery claimed in the ledger.
type Claim struct {
	Key   string
	Token string
	automationwire.ClaimResult
}

// Claim asks the ledger for a delivery, by its key (source and event ID)
// and when it occurred, starting the ledger on first use
// (update-with-start).
func (d *Deliveries) Claim(ctx context.Context, key string, occurredAt time.Time) (*Claim, error) {
	c := &Claim{Key: key, Token: uuid.NewString()}
	err := temporalx.UpdateSingleton(ctx, d.Client, temporalx.Singleton{
		ID: names.DeliveryLedgerWorkflowID, Type: names.DeliveryLedgerWorkflow,
		Input: automationwire.DeliveryLedgerInput{}, Summary: "Firebreak webhook deliveries taken",
	}, names.ClaimDeliveryUpdate, automationwire.ClaimRequest{Key: key, OccurredAt: occurredAt, Token: c.Token}, &c.ClaimResult)
	if err != nil {
		return nil, access.RunError(names.DeliveryLedgerWorkflowID, fmt.Errorf("claiming delivery %s: %w", key, err))
	}
	return c, nil
}

// Settle ends a claim: delivered, or given up so the sender's retry may
// deliver it.
func (d *Deliveries) Settle(ctx context.Context, c *Claim, delivered bool) error {
	h, err := d.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   names.DeliveryLedgerWorkflowID,
		UpdateName:   names.SettleDeliveryUpdate,
		Args:         []any{automationwire.SettleRequest{Key: c.Key, Token: c.Token, Delivered: delivered}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	if err != nil {
		return access.TemporalError(fmt.Errorf("settling delivery %s: %w", c.Key, err))
	}
	return nil
}

package automation

import "time"

// Results of claiming a webhook delivery.
const (
	// ClaimNew: the delivery is this request's to deliver.
	ClaimNew = "new"
	// ClaimDuplicate: it was delivered before; deliver nothing.
	ClaimDuplicate = "duplicate"
	// ClaimBusy: another request is delivering it now; try again later.
	ClaimBusy = "busy"
	// ClaimStale: it occurred before what the ledger remembers, so it
	// cannot be told from a replay; deliver nothing.
	ClaimStale = "stale"
)

// DeliveryLedgerInput starts (or continues) the delivery ledger.
type DeliveryLedgerInput struct {
	// Window is how long a delivery is remembered after it occurred
	// (zero: the default); Capacity how many at most.
	Window   time.Duration `json:"window,omitempty"`
	Capacity int           `json:"capacity,omitempty"`
	// Deliveries are the deliveries remembered, oldest first.
	Deliveries []Delivery `json:"deliveries,omitempty"`
	// Horizon: deliveries that occurred before it are stale.
	Horizon time.Time `json:"horizon,omitzero"`
}

// Delivery is one delivery the ledger remembers, by its source's event
// ID. While a request delivers it, Token names that request and Lease
// says until when it holds it; once delivered both are empty.
type Delivery struct {
	Key        string     `json:"k"`
	OccurredAt time.Time  `json:"o"`
	Token      string     `json:"t,omitempty"`
	Lease      *time.Time `json:"l,omitempty"`
}

// ClaimRequest asks to deliver an event: its key (source and event ID),
// when it occurred (as the signed body says), and the request's token.
type ClaimRequest struct {
	Key        string    `json:"key"`
	OccurredAt time.Time `json:"occurredAt"`
	Token      string    `json:"token"`
}

// ClaimResult answers a claim.
type ClaimResult struct {
	Result string `json:"result"`
	// Horizon is the ledger's horizon, for a stale answer.
	Horizon time.Time `json:"horizon,omitzero"`
}

// SettleRequest ends a claim: delivered, or given up so a retry may
// deliver it.
type SettleRequest struct {
	Key       string `json:"key"`
	Token     string `json:"token"`
	Delivered bool   `json:"delivered"`
}

// DeliveryLedgerState is what the ledger's query answers.
type DeliveryLedgerState struct {
	Deliveries []Delivery `json:"deliveries"`
	Horizon    time.Time  `json:"horizon,omitzero"`
}

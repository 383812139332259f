// Package pagerduty receives PagerDuty v3 webhooks, checks their signature
// with go-pagerduty's webhookv3, takes each event once (by its ID, in the
// delivery ledger), and hands it to the router (to start or join runs) and
// to incidents (for the timelines of linked ones).
package pagerduty

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/PagerDuty/go-pagerduty/webhookv3"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/automation"
	"github.com/firebreak-ops/firebreak/internal/ingress"
	"github.com/firebreak-ops/firebreak/internal/router"
	automationwire "github.com/firebreak-ops/firebreak/workflows/wire/automation"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Path is where PagerDuty's webhook subscription posts.
const Path = "/v1/alerts/pagerduty"

// MaxBody matches the most webhookv3 reads.
const MaxBody = 2 << 20

// Payload is a v3 webhook body: one event.
type Payload struct {
	Event *Event `json:"event"`
}

// Event is a v3 webhook event. Data stays generic: its shape depends on
// the resource type, and runbook triggers read it with CEL.
type Event struct {
	ID           string         `json:"id"`
	EventType    string         `json:"event_type"`
	ResourceType string         `json:"resource_type"`
	OccurredAt   time.Time      `json:"occurred_at"`
	Agent        map[string]any `json:"agent"`
	Client       map[string]any `json:"client"`
	Data         map[string]any `json:"data"`
}

// Router is what the webhook needs of the router: events delivered to
// the runs they match.
type Router interface {
	Deliver(ctx context.Context, items []router.Incoming) ([]router.Outcome, error)
}

// Incidents is what the webhook needs of incidents: an event recorded in
// the timelines of the incidents linked to its PagerDuty incident.
type Incidents interface {
	ReportPagerDuty(ctx context.Context, ev map[string]any) ([]string, error)
}

// Deliveries is what the webhook needs of the delivery ledger: each event
// taken once, however often it is sent.
type Deliveries interface {
	Claim(ctx context.Context, key string, occurredAt time.Time) (*automation.Claim, error)
	Settle(ctx context.Context, c *automation.Claim, delivered bool) error
}

// Handler serves the webhook.
type Handler struct {
	API       *ingress.API
	Router    Router
	Incidents Incidents
	// Deliveries deduplicates deliveries by event ID; nil delivers every
	// one.
	Deliveries Deliveries
	// Secrets are the subscription's signing secrets; more than one while
	// a secret is being rotated.
	Secrets []string
}

// Register mounts the webhook on the API.
func Register(api *ingress.API, r Router, incidents Incidents, deliveries Deliveries, secrets []string) {
	api.HandleRaw("POST "+Path, ingress.LimitBody(MaxBody, &Handler{API: api, Router: r, Incidents: incidents, Deliveries: deliveries, Secrets: secrets}))
}

// settleTimeout bounds telling the ledger how a delivery went; it does
// not share the request's budget, which may be spent.
const settleTimeout = 5 * time.Second

// ServeHTTP verifies, decodes and delivers one event: unsigned or badly
// signed → 401, malformed → 400, and nothing is started in either case.
// A v3 signature carries no timestamp, so a captured delivery stays
// valid: each event ID is delivered once (the delivery ledger), and an
// event that occurred before what the ledger remembers (a day) is
// ignored, so neither a replay nor a retry reaches a run or a timeline
// twice.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.verify(r); err != nil {
		ingress.WriteJSON(w, http.StatusUnauthorized, ingress.ErrorBody{Error: err.Error()})
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		h.API.Error(w, r, err)
		return
	}
	p, ev, err := decode(body)
	if err != nil {
		ingress.WriteJSON(w, http.StatusBadRequest, ingress.ErrorBody{Error: err.Error()})
		return
	}
	ctx, cancel := h.API.WebhookContext(r)
	defer cancel()
	claim, done := h.claim(ctx, w, r, p.Event)
	if done {
		return
	}
	outcomes, err := h.Router.Deliver(ctx, []router.Incoming{{Source: runwire.TriggerPagerDuty, Event: ev}})
	if err != nil {
		var se *access.Error
		if !errors.As(err, &se) {
			err = &access.Error{Kind: access.Unavailable, Msg: "event not accepted, retry: " + err.Error()}
		}
		h.settle(claim, false)
		h.API.Error(w, r, err)
		return
	}
	// Events about a PagerDuty incident linked to a Firebreak incident go
	// into its timeline; a failure here makes PagerDuty retry, which the
	// timeline takes only once.
	incidents, err := h.Incidents.ReportPagerDuty(ctx, ev)
	if err != nil {
		h.settle(claim, false)
		h.API.Error(w, r, &access.Error{Kind: access.Unavailable, Msg: "event not recorded in its incident, retry: " + err.Error()})
		return
	}
	h.settle(claim, true)
	h.API.Log().Info("pagerduty event", "id", p.Event.ID, "type", p.Event.EventType, "outcomes", len(outcomes), "incidents", len(incidents))
	ingress.WriteJSON(w, http.StatusOK, map[string]any{"event": p.Event.ID, "outcomes": outcomes, "incidents": incidents})
}

// claim takes the event in the delivery ledger. When it must not be
// delivered (delivered before, too old to tell from a replay, being
// delivered by another request) or the ledger cannot be asked, it writes
// the answer and reports done.
func (h *Handler) claim(ctx context.Context, w http.ResponseWriter, r *http.Request, ev *Event) (*automation.Claim, bool) {
	if h.Deliveries == nil {
		return nil, false
	}
	c, err := h.Deliveries.Claim(ctx, runwire.TriggerPagerDuty+":"+ev.ID, ev.OccurredAt)
	if err != nil {
		h.API.Error(w, r, err)
		return nil, true
	}
	switch c.Result {
	case automationwire.ClaimNew:
		return c, false
	case automationwire.ClaimDuplicate:
		h.API.Log().Info("pagerduty event delivered before: ignored", "id", ev.ID, "type", ev.EventType)
		ingress.WriteJSON(w, http.StatusOK, map[string]any{"event": ev.ID, "duplicate": true})
	case automationwire.ClaimStale:
		reason := fmt.Sprintf("stale: the event occurred at %s, before %s, the oldest Firebreak remembers, so it cannot be told from a replay",
			ev.OccurredAt.UTC().Format(time.RFC3339), c.Horizon.UTC().Format(time.RFC3339))
		h.API.Log().Warn("pagerduty event ignored", "id", ev.ID, "type", ev.EventType, "reason", reason)
		ingress.WriteJSON(w, http.StatusOK, map[string]any{"event": ev.ID, "ignored": reason})
	default:
		h.API.Error(w, r, access.Errorf(access.Busy, "", "event %s is being delivered by another request; retry", ev.ID))
	}
	return nil, true
}

// settle tells the ledger how the delivery went; an error is only logged:
// a delivery the ledger still holds is free again when its lease ends.
func (h *Handler) settle(c *automation.Claim, delivered bool) {
	if c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	if err := h.Deliveries.Settle(ctx, c, delivered); err != nil {
		h.API.Log().Error("pagerduty delivery not settled", "key", c.Key, "delivered", delivered, "err", err)
	}
}

// decode checks a webhook body and returns it typed and as CEL sees it
// (PagerDuty's own field names).
func decode(body []byte) (*Payload, map[string]any, error) {
	var p Payload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, nil, fmt.Errorf("bad JSON body: %w", err)
	}
	if p.Event == nil || p.Event.ID == "" || p.Event.EventType == "" {
		return nil, nil, errors.New("payload needs event.id and event.event_type")
	}
	if p.Event.OccurredAt.IsZero() {
		// Replays are told from deliveries by when the event occurred.
		return nil, nil, errors.New("payload needs event.occurred_at")
	}
	var ev map[string]any
	raw, err := json.Marshal(p.Event)
	if err == nil {
		err = json.Unmarshal(raw, &ev)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("bad event: %w", err)
	}
	return &p, ev, nil
}

// verify accepts the request when any configured secret signed it.
func (h *Handler) verify(r *http.Request) error {
	if len(h.Secrets) == 0 {
		return errors.New("no PagerDuty webhook secret is configured (FIREBREAK_PAGERDUTY_WEBHOOK_SECRETS)")
	}
	var last error
	for _, s := range h.Secrets {
		// VerifySignature puts the body back after reading it.
		err := webhookv3.VerifySignature(r, s)
		if err == nil {
			return nil
		}
		last = err
		if errors.Is(err, webhookv3.ErrMalformedHeader) {
			break
		}
	}
	return fmt.Errorf("PagerDuty signature check failed: %w", last)
}

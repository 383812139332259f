// Package pagerduty receives PagerDuty v3 webhooks, checks their signature
// with go-pagerduty's webhookv3, and hands each event to the router (to
// start or join runs) and to incidents (for the timelines of linked ones).
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
	"github.com/firebreak-ops/firebreak/internal/ingress"
	"github.com/firebreak-ops/firebreak/internal/router"
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

// Handler serves the webhook.
type Handler struct {
	API       *ingress.API
	Router    Router
	Incidents Incidents
	// Secrets are the subscription's signing secrets; more than one while
	// a secret is being rotated.
	Secrets []string
}

// Register mounts the webhook on the API.
func Register(api *ingress.API, r Router, incidents Incidents, secrets []string) {
	api.HandleRaw("POST "+Path, ingress.LimitBody(MaxBody, &Handler{API: api, Router: r, Incidents: incidents, Secrets: secrets}))
}

// ServeHTTP verifies, decodes and delivers one event: unsigned or badly
// signed → 401, malformed → 400, and nothing is started in either case.
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
	outcomes, err := h.Router.Deliver(ctx, []router.Incoming{{Source: runwire.TriggerPagerDuty, Event: ev}})
	if err != nil {
		var se *access.Error
		if !errors.As(err, &se) {
			err = &access.Error{Kind: access.Unavailable, Msg: "event not accepted, retry: " + err.Error()}
		}
		h.API.Error(w, r, err)
		return
	}
	// Events about a PagerDuty incident linked to a Firebreak incident go
	// into its timeline; a failure here makes PagerDuty retry, which the
	// timeline takes only once.
	incidents, err := h.Incidents.ReportPagerDuty(ctx, ev)
	if err != nil {
		h.API.Error(w, r, &access.Error{Kind: access.Unavailable, Msg: "event not recorded in its incident, retry: " + err.Error()})
		return
	}
	h.API.Log().Info("pagerduty event", "id", p.Event.ID, "type", p.Event.EventType, "outcomes", len(outcomes), "incidents", len(incidents))
	ingress.WriteJSON(w, http.StatusOK, map[string]any{"event": p.Event.ID, "outcomes": outcomes, "incidents": incidents})
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

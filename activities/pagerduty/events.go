package pagerduty

import (
	"context"
	"fmt"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

type triggerInput struct {
	RoutingKey    string         `json:"routingKey"`
	Summary       string         `json:"summary"`
	Severity      string         `json:"severity"`
	Source        string         `json:"source"`
	Component     string         `json:"component"`
	Group         string         `json:"group"`
	Class         string         `json:"class"`
	DedupKey      string         `json:"dedupKey"`
	CustomDetails map[string]any `json:"customDetails"`
}

// Trigger opens a PagerDuty alert. The dedup key defaults to the run and
// step, so a retried step updates the same alert instead of paging twice.
func (a *Activities) Trigger(ctx context.Context, req actions.Request) (any, error) {
	var in triggerInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	switch in.Severity {
	case "":
		in.Severity = "error"
	case "critical", "error", "warning", "info":
	default:
		return nil, actions.Permanentf("severity must be critical, error, warning or info, not %q", in.Severity)
	}
	if in.Source == "" {
		in.Source = "firebreak"
	}
	if in.DedupKey == "" {
		in.DedupKey = req.IdempotencyKey()
	}
	ev := &pagerduty.V2Event{
		Action:   "trigger",
		DedupKey: in.DedupKey,
		Payload: &pagerduty.V2Payload{
			Summary: in.Summary, Source: in.Source, Severity: in.Severity,
			Component: in.Component, Group: in.Group, Class: in.Class, Details: in.CustomDetails,
		},
	}
	return a.send(ctx, req, in.RoutingKey, ev)
}

type dedupInput struct {
	RoutingKey string `json:"routingKey"`
	DedupKey   string `json:"dedupKey"`
}

// Acknowledge acknowledges a PagerDuty alert by dedup key.
func (a *Activities) Acknowledge(ctx context.Context, req actions.Request) (any, error) {
	return a.change(ctx, req, "acknowledge")
}

// Resolve resolves a PagerDuty alert by dedup key.
func (a *Activities) Resolve(ctx context.Context, req actions.Request) (any, error) {
	return a.change(ctx, req, "resolve")
}

func (a *Activities) change(ctx context.Context, req actions.Request, action string) (any, error) {
	var in dedupInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	if in.DedupKey == "" {
		return nil, actions.Permanentf("dedupKey is required")
	}
	return a.send(ctx, req, in.RoutingKey, &pagerduty.V2Event{Action: action, DedupKey: in.DedupKey})
}

func (a *Activities) send(ctx context.Context, req actions.Request, routingKey string, ev *pagerduty.V2Event) (any, error) {
	if routingKey == "" {
		routingKey = a.cfg.RoutingKey
	}
	if routingKey == "" {
		return nil, actions.Permanentf("no routing key: set with.routingKey or pagerduty.routingKey (FIREBREAK_PAGERDUTY_ROUTING_KEY)")
	}
	ev.RoutingKey = routingKey
	if req.DryRun {
		return map[string]any{"dryRun": true, "action": ev.Action, "dedupKey": ev.DedupKey}, nil
	}
	resp, err := a.client.ManageEventWithContext(ctx, ev)
	if err != nil {
		return nil, classify(fmt.Errorf("pagerduty %s: %w", ev.Action, err))
	}
	return map[string]any{"action": ev.Action, "status": resp.Status, "dedupKey": resp.DedupKey, "message": resp.Message}, nil
}

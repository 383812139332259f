// Package activities registers every action with a Temporal worker. Each
// integration lives in its own subpackage with an activity struct holding
// its clients; this package only wires them up by action name.
package activities

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/builtin"
	"github.com/firebreak-ops/firebreak/activities/incident"
	"github.com/firebreak-ops/firebreak/activities/kubernetes"
	"github.com/firebreak-ops/firebreak/activities/pagerduty"
	"github.com/firebreak-ops/firebreak/activities/probe"
	"github.com/firebreak-ops/firebreak/activities/report"
	"github.com/firebreak-ops/firebreak/activities/slack"
)

// Handler performs one action.
type Handler func(ctx context.Context, req actions.Request) (any, error)

// Deps are the clients and settings actions need.
type Deps struct {
	Logger        *slog.Logger
	HTTPClient    *http.Client
	PrometheusURL string
	PagerDuty     pagerduty.Config
	Kubernetes    kubernetes.Config
	Slack         slack.Config
	// Incidents declares incidents for incident.declare; Report says
	// where postmortems go.
	Incidents incident.Declarer
	Report    report.Config
}

// Handlers returns every action's handler by name.
func Handlers(d Deps) map[string]Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{}
	}
	b := &builtin.Activities{Logger: d.Logger}
	p := &probe.Activities{HTTP: d.HTTPClient, PrometheusURL: d.PrometheusURL}
	out := map[string]Handler{
		actions.Log:             b.Log,
		actions.HTTPRequest:     p.HTTPRequest,
		actions.PrometheusQuery: p.PrometheusQuery,
	}
	if d.PagerDuty.HTTP == nil {
		d.PagerDuty.HTTP = d.HTTPClient
	}
	for name, h := range pagerduty.New(d.PagerDuty).Handlers() {
		out[name] = h
	}
	for name, h := range kubernetes.New(d.Kubernetes).Handlers() {
		out[name] = h
	}
	if d.Slack.HTTP == nil {
		d.Slack.HTTP = d.HTTPClient
	}
	sl := slack.New(d.Slack)
	for name, h := range sl.Handlers() {
		out[name] = h
	}
	for name, h := range sl.IncidentHandlers() {
		out[name] = h
	}
	for name, h := range report.New(d.Report).Handlers() {
		out[name] = h
	}
	for name, h := range (&incident.Activities{Declarer: d.Incidents}).Handlers() {
		out[name] = h
	}
	return out
}

// Register registers every handler under its action name.
func Register(r worker.ActivityRegistry, handlers map[string]Handler) {
	for name, h := range handlers {
		r.RegisterActivityWithOptions(Wrap(h), activity.RegisterOptions{Name: name})
	}
}

// Wrap adapts a handler to the activity shape the workflows call: the
// result carries the attempt number, and errors carry it as details and say
// whether a retry can help.
func Wrap(h Handler) func(ctx context.Context, req actions.Request) (actions.Result, error) {
	return func(ctx context.Context, req actions.Request) (actions.Result, error) {
		attempt := activity.GetInfo(ctx).Attempt
		out, err := h(ctx, req)
		if err != nil {
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) {
				return actions.Result{}, err
			}
			return actions.Result{}, temporal.NewApplicationErrorWithOptions(err.Error(), actions.ErrTypeFailed,
				temporal.ApplicationErrorOptions{
					NonRetryable: actions.IsPermanent(err),
					Details:      []any{actions.Failure{Attempt: attempt}},
				})
		}
		return actions.Result{Output: out, Attempt: attempt}, nil
	}
}

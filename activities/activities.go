// Package activities registers every action with a Temporal worker. Each
// integration lives in its own subpackage with an activity struct holding
// its clients, and binds its handlers to the names the actions table
// declares; this package gathers the bindings and registers them, refusing
// a name the table does not declare.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/builtin"
	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
	"github.com/firebreak-ops/firebreak/activities/experiment"
	"github.com/firebreak-ops/firebreak/activities/incident"
	"github.com/firebreak-ops/firebreak/activities/kubernetes"
	"github.com/firebreak-ops/firebreak/activities/pagerduty"
	"github.com/firebreak-ops/firebreak/activities/probe"
	"github.com/firebreak-ops/firebreak/activities/report"
	"github.com/firebreak-ops/firebreak/activities/slack"
	"github.com/firebreak-ops/firebreak/internal/egress"
	"github.com/firebreak-ops/firebreak/internal/redact"
	"github.com/firebreak-ops/firebreak/internal/secrets"
)

// Handler performs one action.
type Handler = actions.Handler

// Deps are the clients and settings actions need.
type Deps struct {
	Logger *slog.Logger
	// HTTPClient reaches the configured integrations (Slack, PagerDuty,
	// Prometheus), whose URLs runbooks cannot choose.
	HTTPClient *http.Client
	// Egress limits where http.request (and so HTTP probes) may connect;
	// nil means egress.Default().
	Egress        *egress.Policy
	PrometheusURL string
	PagerDuty     pagerduty.Config
	// Kubernetes is the kubeconfig of the Kubernetes actions and of the
	// Chaos Mesh activities.
	Kubernetes kubernetes.Config
	Slack      slack.Config
	// Incidents declares incidents for incident.declare; Report says
	// where postmortems go.
	Incidents incident.Declarer
	Report    report.Config
	// Temporal is the client experiment.context counts open incidents
	// with.
	Temporal client.Client
	// Secrets resolves the secret references in with: values; nil means
	// the environment only (FIREBREAK_SECRET_*).
	Secrets secrets.Resolver
}

// egressTimeout bounds one http.request beyond its own timeout.
const egressTimeout = 2 * time.Minute

// Handlers returns the handler of every action that takes a with: map, by
// name.
func Handlers(d Deps) map[string]Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.HTTPClient == nil {
		d.HTTPClient = &http.Client{}
	}
	if d.PagerDuty.HTTP == nil {
		d.PagerDuty.HTTP = d.HTTPClient
	}
	if d.Slack.HTTP == nil {
		d.Slack.HTTP = d.HTTPClient
	}
	if d.Egress == nil {
		d.Egress = egress.Default()
	}
	if d.Secrets == nil {
		d.Secrets = secrets.NewStore(secrets.Env{})
	}
	out := map[string]Handler{}
	for _, bound := range []map[string]Handler{
		(&builtin.Activities{Logger: d.Logger}).Handlers(),
		(&probe.Activities{
			HTTP: d.Egress.Client(egressTimeout), Egress: d.Egress,
			PrometheusHTTP: d.HTTPClient, PrometheusURL: d.PrometheusURL,
		}).Handlers(),
		pagerduty.New(d.PagerDuty).Handlers(),
		kubernetes.New(d.Kubernetes).Handlers(),
		slack.New(d.Slack).Handlers(),
		report.New(d.Report).Handlers(),
		(&incident.Activities{Declarer: d.Incidents}).Handlers(),
	} {
		maps.Copy(out, bound)
	}
	for name, h := range out {
		out[name] = resolving(h, d.Secrets)
	}
	return out
}

// resolving resolves a request's secret references right before the
// handler runs and scrubs their values from what it returns: its output
// (a target echoing a header back) and its error. The request the
// workflow sent, and so Temporal's history, keeps the references.
func resolving(h Handler, r secrets.Resolver) Handler {
	return func(ctx context.Context, req actions.Request) (any, error) {
		if len(req.Secrets) == 0 {
			return h(ctx, req)
		}
		with, values, err := secrets.Fill(ctx, r, req.With, req.Secrets)
		if err != nil {
			// The error names the secret and provider, never a value;
			// retrying will not make a missing secret appear.
			return nil, actions.Permanent(err)
		}
		req.With = with
		out, err := h(ctx, req)
		if err != nil {
			if msg := secrets.ScrubText(err.Error(), values); msg != err.Error() {
				if actions.IsPermanent(err) {
					err = actions.Permanent(errors.New(msg))
				} else {
					err = errors.New(msg)
				}
			}
			return nil, err
		}
		return secrets.Scrub(out, values)
	}
}

// Typed returns the activities experiment workflows call with typed
// requests, by name: the Chaos Mesh resources and the experiment context.
// Nothing is contacted until one runs.
func Typed(d Deps) map[string]any {
	out := chaosmesh.New(d.Kubernetes).Typed()
	maps.Copy(out, (&experiment.Activities{Client: d.Temporal}).Typed())
	return out
}

// Register registers every handler under its action name. A name the
// actions table does not declare is a programming error and panics.
func Register(r worker.ActivityRegistry, handlers map[string]Handler) {
	for name, h := range handlers {
		mustDeclare(name)
		r.RegisterActivityWithOptions(Wrap(h), activity.RegisterOptions{Name: name})
	}
}

// RegisterTyped registers every typed activity under its action name,
// panicking like Register on an undeclared one.
func RegisterTyped(r worker.ActivityRegistry, typed map[string]any) {
	for name, f := range typed {
		mustDeclare(name)
		r.RegisterActivityWithOptions(f, activity.RegisterOptions{Name: name})
	}
}

func mustDeclare(name string) {
	if !actions.Declared(name) {
		panic(fmt.Sprintf("activities: %q has a handler but no spec in activities/actions", name))
	}
}

// Wrap adapts a handler to the activity shape the workflows call: the
// result carries the attempt number, and errors carry it as details and say
// whether a retry can help. Outputs and error texts are redacted (see
// internal/redact) before they leave the worker, so neither the workflow's
// history nor the run record holds a Set-Cookie, an Authorization header or
// a credential in a URL that a target sent back.
func Wrap(h Handler) func(ctx context.Context, req actions.Request) (actions.Result, error) {
	return func(ctx context.Context, req actions.Request) (actions.Result, error) {
		attempt := activity.GetInfo(ctx).Attempt
		out, err := h(ctx, req)
		if err != nil {
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) {
				return actions.Result{}, err
			}
			return actions.Result{}, temporal.NewApplicationErrorWithOptions(redact.Text(err.Error()), actions.ErrTypeFailed,
				temporal.ApplicationErrorOptions{
					NonRetryable: actions.IsPermanent(err),
					Details:      []any{actions.Failure{Attempt: attempt}},
				})
		}
		return actions.Result{Output: redact.Value(out), Attempt: attempt}, nil
	}
}

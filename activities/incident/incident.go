// Package incident holds the incident.declare action: a runbook step that
// declares an incident through the same service the API uses.
package incident

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/internal/effect"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// Declarer declares incidents; the service implements it.
type Declarer interface {
	DeclareIncident(ctx context.Context, req incidentwire.DeclareRequest, key string) (*incidentwire.Incident, error)
}

// Activities performs incident actions.
type Activities struct {
	Declarer Declarer
}

// Handlers returns the handler of each incident action.
func (a *Activities) Handlers() map[string]actions.Handler {
	return map[string]actions.Handler{
		actions.IncidentDeclare: a.Declare,
	}
}

type declareInput struct {
	Title      string   `json:"title"`
	Severity   string   `json:"severity"`
	Commander  string   `json:"commander"`
	Services   []string `json:"services"`
	Responders []string `json:"responders"`
	StartedAt  string   `json:"startedAt"`
	Page       bool     `json:"page"`
}

// Declare declares an incident linked to the run, and returns {"id",
// "severity", "status"}. It is keyed on the run (its workflow and that
// workflow's run) and the step's activity: a retried step gets the
// incident the first attempt declared, and a later run under the same
// workflow ID (the same concurrency key) declares its own.
func (a *Activities) Declare(ctx context.Context, req actions.Request) (any, error) {
	var in declareInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	in.Severity = strings.ToLower(strings.TrimSpace(in.Severity))
	switch {
	case strings.TrimSpace(in.Title) == "":
		return nil, actions.Permanentf("title is required")
	case !slices.Contains(incidentwire.Severities, in.Severity):
		return nil, actions.Permanentf("severity must be one of %s, not %q", strings.Join(incidentwire.Severities, ", "), in.Severity)
	case a.Declarer == nil:
		return nil, actions.Permanentf("incidents are not available in this worker")
	}
	d := incidentwire.DeclareRequest{
		Title: in.Title, Severity: in.Severity, Commander: in.Commander, Services: in.Services,
		Responders: in.Responders, Page: in.Page, Runs: []string{req.RunID},
		DeclaredBy: "run " + req.RunID, Source: "runbook",
	}
	if in.StartedAt != "" {
		t, err := time.Parse(time.RFC3339, in.StartedAt)
		if err != nil {
			return nil, actions.Permanentf("startedAt must be RFC 3339: %v", err)
		}
		d.StartedAt = &t
	}
	inc, err := a.Declarer.DeclareIncident(ctx, d, effect.Key(ctx, req))
	if err != nil {
		var perm interface{ Permanent() bool }
		if errors.As(err, &perm) && perm.Permanent() {
			return nil, actions.Permanent(err)
		}
		return nil, err
	}
	return map[string]any{"id": inc.ID, "severity": inc.Severity, "status": inc.Status}, nil
}

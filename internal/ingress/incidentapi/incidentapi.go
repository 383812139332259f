// Package incidentapi serves the HTTP endpoints of incidents and the
// audit export on the API.
package incidentapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/firebreak-ops/firebreak/internal/access"
	"github.com/firebreak-ops/firebreak/internal/audit"
	"github.com/firebreak-ops/firebreak/internal/incidents"
	"github.com/firebreak-ops/firebreak/internal/ingress"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// Incidents is what the endpoints need of incidents.
type Incidents interface {
	DeclareIncident(ctx context.Context, req incidentwire.DeclareRequest, key string) (*incidentwire.Incident, error)
	ListIncidents(ctx context.Context, f incidents.Filter) ([]incidentwire.IncidentSummary, error)
	GetIncident(ctx context.Context, id string) (*incidentwire.Incident, error)
	IncidentCommand(ctx context.Context, id string, cmd incidentwire.IncidentCommand) (*incidentwire.CommandResult, error)
	IncidentPostmortem(ctx context.Context, id string) (*incidentwire.PostmortemResult, error)
}

// Auditor is what the audit endpoint needs of the audit export.
type Auditor interface {
	Audit(ctx context.Context, since time.Time) ([]audit.Record, error)
}

type handlers struct {
	api       *ingress.API
	incidents Incidents
	auditor   Auditor
}

// Register mounts the incident and audit endpoints.
func Register(api *ingress.API, inc Incidents, auditor Auditor) {
	a := &handlers{api: api, incidents: inc, auditor: auditor}
	a.api.Handle("POST /v1/incidents", a.declareIncident)
	a.api.Handle("GET /v1/incidents", a.listIncidents)
	a.api.Handle("GET /v1/incidents/{id}", a.getIncident)
	a.api.Handle("POST /v1/incidents/{id}/status", a.incidentStatus)
	a.api.Handle("POST /v1/incidents/{id}/severity", a.incidentSeverity)
	a.api.Handle("POST /v1/incidents/{id}/notes", a.incidentNote)
	a.api.Handle("POST /v1/incidents/{id}/roles", a.incidentRole)
	a.api.Handle("POST /v1/incidents/{id}/links", a.incidentLink)
	a.api.Handle("POST /v1/incidents/{id}/action-items", a.incidentActionItem)
	a.api.Handle("POST /v1/incidents/{id}/resolve", a.resolveIncident)
	a.api.HandleAuthenticated("GET /v1/incidents/{id}/postmortem", ingress.LimitBody(ingress.MaxBody, http.HandlerFunc(a.postmortem)))
	a.api.HandleAuthenticated("GET /v1/audit", http.HandlerFunc(a.audit))
}

// DeclareBody is the body of POST /v1/incidents.
type DeclareBody struct {
	Title             string              `json:"title"`
	Severity          string              `json:"severity"`
	Commander         string              `json:"commander,omitempty"`
	Services          []string            `json:"services,omitempty"`
	Responders        []string            `json:"responders,omitempty"`
	Links             []incidentwire.Link `json:"links,omitempty"`
	StartedAt         *time.Time          `json:"startedAt,omitempty"`
	PagerDutyIncident string              `json:"pagerdutyIncident,omitempty"`
	Page              bool                `json:"page,omitempty"`
	// By is who declares; a named token's owner wins over it.
	By string `json:"by,omitempty"`
}

// who returns who is asking: the token's owner, else what the body says,
// else the transport.
func who(r *http.Request, by string) (string, string) {
	source := runwire.SourceAPI
	if r.Header.Get(ingress.ClientHeader) == runwire.TriggerCLI {
		source = runwire.TriggerCLI
	}
	if p := ingress.PrincipalOf(r); p != nil {
		return p.ID, source
	}
	if by == "" {
		by = source
	}
	return by, source
}

func (a *handlers) declareIncident(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	var b DeclareBody
	if err := ingress.DecodeJSON(r, &b); err != nil {
		return 0, nil, err
	}
	by, source := who(r, b.By)
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	inc, err := a.incidents.DeclareIncident(ctx, incidentwire.DeclareRequest{
		Title: b.Title, Severity: b.Severity, Commander: b.Commander, Services: b.Services, Responders: b.Responders,
		Links: b.Links, StartedAt: b.StartedAt, PagerDutyIncident: b.PagerDutyIncident, Page: b.Page,
		DeclaredBy: by, Source: source,
	}, "")
	if err != nil {
		return 0, nil, err
	}
	a.api.Log().Info("incident declared", "id", inc.ID, "severity", inc.Severity, "by", by)
	return http.StatusCreated, inc, nil
}

func (a *handlers) listIncidents(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	out, err := a.incidents.ListIncidents(r.Context(), incidents.Filter{Status: r.URL.Query().Get("status"), Limit: limit})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, out, nil
}

func (a *handlers) getIncident(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	inc, err := a.incidents.GetIncident(ctx, r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, inc, nil
}

// CommandBody is the body of the incident command endpoints; each uses
// the fields it needs.
type CommandBody struct {
	Status      string   `json:"status,omitempty"`
	Severity    string   `json:"severity,omitempty"`
	Note        string   `json:"note,omitempty"`
	Text        string   `json:"text,omitempty"`
	Summary     string   `json:"summary,omitempty"`
	Role        string   `json:"role,omitempty"`
	User        string   `json:"user,omitempty"`
	Kind        string   `json:"kind,omitempty"`
	Title       string   `json:"title,omitempty"`
	URL         string   `json:"url,omitempty"`
	ID          string   `json:"id,omitempty"`
	ActionItems []string `json:"actionItems,omitempty"`
	By          string   `json:"by,omitempty"`
}

func (a *handlers) incidentCommand(r *http.Request, build func(CommandBody) (incidentwire.IncidentCommand, error)) (int, any, error) {
	var b CommandBody
	if err := ingress.DecodeJSON(r, &b); err != nil {
		return 0, nil, err
	}
	cmd, err := build(b)
	if err != nil {
		return 0, nil, err
	}
	cmd.By, cmd.Source = who(r, b.By)
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	res, err := a.incidents.IncidentCommand(ctx, r.PathValue("id"), cmd)
	if err != nil {
		return 0, nil, err
	}
	a.api.Log().Info("incident command", "id", res.ID, "kind", cmd.Kind, "by", cmd.By)
	// A small acknowledgement, not the record: GET the incident for that.
	return http.StatusOK, res, nil
}

func required(field, value string) error {
	if value == "" {
		return &access.Error{Kind: access.Invalid, Field: field, Msg: field + " is required"}
	}
	return nil
}

func (a *handlers) incidentStatus(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.incidentCommand(r, func(b CommandBody) (incidentwire.IncidentCommand, error) {
		return incidentwire.IncidentCommand{Kind: incidentwire.CommandStatus, Status: b.Status, Text: b.Note}, required("status", b.Status)
	})
}

func (a *handlers) incidentSeverity(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.incidentCommand(r, func(b CommandBody) (incidentwire.IncidentCommand, error) {
		return incidentwire.IncidentCommand{Kind: incidentwire.CommandSeverity, Severity: b.Severity, Text: b.Note}, required("severity", b.Severity)
	})
}

func (a *handlers) incidentNote(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.incidentCommand(r, func(b CommandBody) (incidentwire.IncidentCommand, error) {
		return incidentwire.IncidentCommand{Kind: incidentwire.CommandNote, Text: b.Text}, required("text", b.Text)
	})
}

func (a *handlers) incidentActionItem(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.incidentCommand(r, func(b CommandBody) (incidentwire.IncidentCommand, error) {
		return incidentwire.IncidentCommand{Kind: incidentwire.CommandActionItem, Text: b.Text}, required("text", b.Text)
	})
}

func (a *handlers) incidentRole(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.incidentCommand(r, func(b CommandBody) (incidentwire.IncidentCommand, error) {
		if err := required("role", b.Role); err != nil {
			return incidentwire.IncidentCommand{}, err
		}
		return incidentwire.IncidentCommand{Kind: incidentwire.CommandRole, Role: b.Role, User: b.User}, required("user", b.User)
	})
}

func (a *handlers) incidentLink(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.incidentCommand(r, func(b CommandBody) (incidentwire.IncidentCommand, error) {
		if b.URL == "" && b.ID == "" {
			return incidentwire.IncidentCommand{}, &access.Error{Kind: access.Invalid, Field: "url", Msg: "url (or id) is required"}
		}
		return incidentwire.IncidentCommand{Kind: incidentwire.CommandLink, Link: &incidentwire.Link{Kind: b.Kind, Title: b.Title, URL: b.URL, ID: b.ID}}, nil
	})
}

func (a *handlers) resolveIncident(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	return a.incidentCommand(r, func(b CommandBody) (incidentwire.IncidentCommand, error) {
		return incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, Text: b.Summary, ActionItems: b.ActionItems}, nil
	})
}

// postmortem serves the Markdown; with Accept: application/json, the
// whole result.
func (a *handlers) postmortem(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	res, err := a.incidents.IncidentPostmortem(ctx, r.PathValue("id"))
	if err != nil {
		a.api.Error(w, r, err)
		return
	}
	if r.Header.Get("Accept") == "application/json" {
		ingress.WriteJSON(w, http.StatusOK, res)
		return
	}
	w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(res.Markdown))
}

// audit streams the audit records since a time (RFC 3339) or a duration
// ago (24h), as JSON lines.
func (a *handlers) audit(w http.ResponseWriter, r *http.Request) {
	since, err := parseSince(r.URL.Query().Get("since"), time.Now())
	if err != nil {
		a.api.Error(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	records, err := a.auditor.Audit(ctx, since)
	if err != nil {
		a.api.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	enc := json.NewEncoder(w)
	for _, rec := range records {
		if err := enc.Encode(rec); err != nil {
			return
		}
	}
}

func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return now.Add(-24 * time.Hour), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, &access.Error{Kind: access.Invalid, Field: "since", Msg: "since must be an RFC 3339 time or a duration such as 24h, not " + strconv.Quote(v)}
}

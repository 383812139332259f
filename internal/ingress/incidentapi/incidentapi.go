// Package incidentapi serves the HTTP endpoints of incidents and the
// audit export on the API.
package incidentapi

import (
	"context"
	"encoding/json"
	"fmt"
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
	AuditPage(ctx context.Context, req audit.PageRequest) (*audit.Page, error)
}

// Headers of an audit export page: the cursor of the next page (absent
// after the last), and how many runs and incidents the page could not
// read (each is an audit.missing line).
const (
	AuditNextHeader    = "Firebreak-Audit-Next"
	AuditMissingHeader = "Firebreak-Audit-Missing"
)

type handlers struct {
	api       *ingress.API
	incidents Incidents
	auditor   Auditor
}

// Register mounts the incident and audit endpoints.
func Register(api *ingress.API, inc Incidents, auditor Auditor) {
	a := &handlers{api: api, incidents: inc, auditor: auditor}
	a.api.Handle("POST /v1/incidents", a.declareIncident, access.IncidentsDeclare)
	a.api.Handle("GET /v1/incidents", a.listIncidents, access.IncidentsRead)
	a.api.Handle("GET /v1/incidents/{id}", a.getIncident, access.IncidentsRead)
	a.api.Handle("POST /v1/incidents/{id}/status", a.incidentStatus, access.IncidentsCommand)
	a.api.Handle("POST /v1/incidents/{id}/severity", a.incidentSeverity, access.IncidentsCommand)
	a.api.Handle("POST /v1/incidents/{id}/notes", a.incidentNote, access.IncidentsCommand)
	a.api.Handle("POST /v1/incidents/{id}/roles", a.incidentRole, access.IncidentsCommand)
	a.api.Handle("POST /v1/incidents/{id}/links", a.incidentLink, access.IncidentsCommand)
	a.api.Handle("POST /v1/incidents/{id}/action-items", a.incidentActionItem, access.IncidentsCommand)
	a.api.Handle("POST /v1/incidents/{id}/resolve", a.resolveIncident, access.IncidentsCommand)
	a.api.HandleAuthenticated("GET /v1/incidents/{id}/postmortem", ingress.LimitBody(ingress.MaxBody, http.HandlerFunc(a.postmortem)), access.IncidentsRead)
	a.api.HandleAuthenticated("GET /v1/audit", http.HandlerFunc(a.audit), access.AuditRead)
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

// IdempotencyHeader carries a client's key for a request it may retry:
// the same key from the same caller declares one incident.
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds the header (bytes).
const maxIdempotencyKey = 200

// idempotencyKey returns the declaration's key: the header's value, kept
// apart per caller (the token's owner, "-" for the operator token), or ""
// without the header.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get(IdempotencyHeader)
	if k == "" {
		return "", nil
	}
	if len(k) > maxIdempotencyKey {
		return "", access.Errorf(access.Invalid, IdempotencyHeader, "%s is longer than %d bytes", IdempotencyHeader, maxIdempotencyKey)
	}
	for _, c := range []byte(k) {
		if c < 0x21 || c > 0x7e {
			return "", access.Errorf(access.Invalid, IdempotencyHeader, "%s must be printable ASCII without spaces", IdempotencyHeader)
		}
	}
	caller := "-"
	if p := ingress.PrincipalOf(r); p != nil {
		caller = p.ID
	}
	return "api:" + caller + ":" + k, nil
}

func (a *handlers) declareIncident(_ http.ResponseWriter, r *http.Request) (int, any, error) {
	key, err := idempotencyKey(r)
	if err != nil {
		return 0, nil, err
	}
	var b DeclareBody
	if err := ingress.DecodeJSON(r, &b); err != nil {
		return 0, nil, err
	}
	if b.Page {
		if err := a.api.Authorize(r, access.IncidentsPage); err != nil {
			return 0, nil, err
		}
	}
	by, source := who(r, b.By)
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	inc, err := a.incidents.DeclareIncident(ctx, incidentwire.DeclareRequest{
		Title: b.Title, Severity: b.Severity, Commander: b.Commander, Services: b.Services, Responders: b.Responders,
		Links: b.Links, StartedAt: b.StartedAt, PagerDutyIncident: b.PagerDutyIncident, Page: b.Page,
		DeclaredBy: by, Source: source,
	}, key)
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

// audit writes one page of the audit export as JSON lines: the records
// since a time (RFC 3339) or a duration ago (24h), or after a cursor,
// oldest first, then a line for each run or incident that could not be
// read. Firebreak-Audit-Next holds the next page's cursor.
func (a *handlers) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := audit.PageRequest{Cursor: q.Get("cursor")}
	if req.Cursor == "" {
		since, err := parseSince(q.Get("since"), time.Now())
		if err != nil {
			a.api.Error(w, r, err)
			return
		}
		req.Since = since
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > audit.MaxPageLimit {
			a.api.Error(w, r, &access.Error{Kind: access.Invalid, Field: "limit", Msg: fmt.Sprintf("limit must be a number from 1 to %d", audit.MaxPageLimit)})
			return
		}
		req.Limit = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), 60*time.Second)
	defer cancel()
	page, err := a.auditor.AuditPage(ctx, req)
	if err != nil {
		a.api.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if page.Next != "" {
		w.Header().Set(AuditNextHeader, page.Next)
	}
	w.Header().Set(AuditMissingHeader, strconv.Itoa(len(page.Missing)))
	enc := json.NewEncoder(w)
	for _, rec := range page.Records {
		if err := enc.Encode(rec); err != nil {
			return
		}
	}
	for _, m := range page.Missing {
		if err := enc.Encode(m.Record()); err != nil {
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

package incidentapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/audit"
	"github.com/firebreak-ops/firebreak/internal/ingress"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// fakeIncidents records the key of each declaration.
type fakeIncidents struct {
	Incidents
	keys []string
}

func (f *fakeIncidents) DeclareIncident(_ context.Context, req incidentwire.DeclareRequest, key string) (*incidentwire.Incident, error) {
	f.keys = append(f.keys, key)
	return &incidentwire.Incident{ID: "INC-2026-0001", Title: req.Title, Severity: req.Severity}, nil
}

// TestDeclareIdempotencyKey: the Idempotency-Key header is the
// declaration's key, kept apart per caller, so a retried request declares
// one incident; a key that cannot be one is refused, naming the header.
func TestDeclareIdempotencyKey(t *testing.T) {
	inc := &fakeIncidents{}
	api := ingress.New(ingress.Options{Token: "operator", Principals: []ingress.Principal{{Token: "tok-alice", Name: "alice"}}})
	Register(api, inc, nil)
	for _, tc := range []struct {
		name, token, key string
		code             int
		want             string
	}{
		{name: "no key", token: "operator", code: 201, want: ""},
		{name: "operator", token: "operator", key: "3f1c-retry-me", code: 201, want: "api:-:3f1c-retry-me"},
		{name: "principal", token: "tok-alice", key: "3f1c-retry-me", code: 201, want: "api:alice:3f1c-retry-me"},
		{name: "too long", token: "operator", key: strings.Repeat("k", 201), code: 400},
		{name: "control character", token: "operator", key: "a\tb", code: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inc.keys = nil
			r := httptest.NewRequest("POST", "/v1/incidents", strings.NewReader(`{"title": "Checkout 5xx", "severity": "sev2"}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+tc.token)
			if tc.key != "" {
				r.Header.Set("Idempotency-Key", tc.key)
			}
			w := httptest.NewRecorder()
			api.ServeHTTP(w, r)
			if w.Code != tc.code {
				t.Fatalf("HTTP %d %s, want %d", w.Code, w.Body, tc.code)
			}
			if tc.code != http.StatusCreated {
				if !strings.Contains(w.Body.String(), `"field": "Idempotency-Key"`) || len(inc.keys) != 0 {
					t.Errorf("answer %s, declarations %q", w.Body, inc.keys)
				}
				return
			}
			if len(inc.keys) != 1 || inc.keys[0] != tc.want {
				t.Errorf("keys %q, want %q", inc.keys, tc.want)
			}
		})
	}
}

// fakeAuditor answers one page and records what was asked.
type fakeAuditor struct {
	reqs []audit.PageRequest
	page audit.Page
}

func (f *fakeAuditor) AuditPage(_ context.Context, req audit.PageRequest) (*audit.Page, error) {
	f.reqs = append(f.reqs, req)
	return &f.page, nil
}

// TestAuditPage: a page is its records, then a line for each run or
// incident it could not read; the headers carry the next page's cursor
// and the count of what is missing.
func TestAuditPage(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	au := &fakeAuditor{page: audit.Page{
		Records: []audit.Record{{At: at, Kind: audit.RunStarted, By: "alice", Subject: "runbook:a:1", Text: "started a (api)"}},
		Missing: []audit.Missing{{Kind: "run", Subject: "runbook:b:2", RunID: "r2", StartedAt: at, Error: "temporal did not answer in time"}},
		Next:    "next-page",
	}}
	api := ingress.New(ingress.Options{})
	Register(api, &fakeIncidents{}, au)
	get := func(query string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		api.ServeHTTP(w, httptest.NewRequest("GET", "/v1/audit?"+query, nil))
		return w
	}
	w := get("cursor=this-page&limit=50")
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	if w.Code != 200 || w.Header().Get(AuditNextHeader) != "next-page" || w.Header().Get(AuditMissingHeader) != "1" || len(lines) != 2 {
		t.Fatalf("HTTP %d %v\n%s", w.Code, w.Header(), w.Body)
	}
	var missing audit.Record
	if err := json.Unmarshal([]byte(lines[1]), &missing); err != nil || missing.Kind != audit.MissingKind || missing.Subject != "runbook:b:2" ||
		!strings.Contains(missing.Text, "Temporal run r2") || !strings.Contains(missing.Text, "did not answer") {
		t.Errorf("missing line %s: %v", lines[1], err)
	}
	if r := au.reqs[0]; r.Cursor != "this-page" || r.Limit != 50 {
		t.Errorf("asked %+v", r)
	}
	au.page.Next = ""
	if w := get("since=1h"); w.Code != 200 || w.Header().Get(AuditNextHeader) != "" || time.Since(au.reqs[1].Since) < time.Hour-time.Minute {
		t.Errorf("last page: HTTP %d %v, asked %+v", w.Code, w.Header(), au.reqs[1])
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "since=yesterday"} {
		if w := get(q); w.Code != http.StatusBadRequest {
			t.Errorf("%s: HTTP %d %s", q, w.Code, w.Body)
		}
	}
}

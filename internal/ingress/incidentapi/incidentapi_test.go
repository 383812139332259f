package incidentapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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

package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestDoIdempotent: a declaration answered 503 or 429 is sent again with
// the same Idempotency-Key, so the server can hand back the incident the
// first one declared; an answer that retrying cannot change is final.
func TestDoIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		answers  []int
		requests int
		ok       bool
	}{
		{"declared at once", []int{201}, 1, true},
		{"busy, then declared", []int{503, 429, 201}, 3, true},
		{"refused", []int{400, 201}, 1, false},
		{"busy every time", []int{503, 503, 503, 503, 503}, idempotentAttempts, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var keys []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				keys = append(keys, r.Header.Get("Idempotency-Key"))
				code := tc.answers[len(keys)-1]
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(code)
				_, _ = w.Write([]byte(`{"id": "INC-2026-0001", "error": "x"}`))
			}))
			defer srv.Close()
			c := &apiClient{base: srv.URL, http: srv.Client()}
			var out struct{ ID string }
			err := c.doIdempotent(context.Background(), "POST", "/v1/incidents", map[string]string{"title": "t"}, &out)
			if (err == nil) != tc.ok || len(keys) != tc.requests {
				t.Fatalf("err %v after %d requests", err, len(keys))
			}
			for _, k := range keys {
				if k == "" || k != keys[0] {
					t.Fatalf("keys %q", keys)
				}
			}
			if tc.ok && out.ID != "INC-2026-0001" {
				t.Errorf("out %+v", out)
			}
		})
	}
}

package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/access"
)

// TestSlowIsNotDown: Temporal answering too late is 429 with a short
// Retry-After; 503 is kept for a Temporal that does not answer its health
// check either.
func TestSlowIsNotDown(t *testing.T) {
	down := errors.New("connection refused")
	cases := []struct {
		name      string
		err       error
		reachable func(context.Context) error
		code      int
		retry     string
	}{
		{"slow, reachable", access.TemporalError(fmt.Errorf("start: %w", context.DeadlineExceeded)), func(context.Context) error { return nil }, http.StatusTooManyRequests, "2"},
		{"slow, health unknown", access.TemporalError(context.DeadlineExceeded), nil, http.StatusTooManyRequests, "2"},
		{"deadline, unreachable", access.TemporalError(context.DeadlineExceeded), func(context.Context) error { return down }, http.StatusServiceUnavailable, "5"},
		{"bare deadline, reachable", context.DeadlineExceeded, func(context.Context) error { return nil }, http.StatusTooManyRequests, "2"},
		{"refused", &access.Error{Kind: access.Unavailable, Msg: "temporal is unavailable"}, func(context.Context) error { return nil }, http.StatusServiceUnavailable, "5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := New(Options{Reachable: tc.reachable})
			w := httptest.NewRecorder()
			a.Error(w, httptest.NewRequest("POST", "/v1/alerts/alertmanager", nil), tc.err)
			if w.Code != tc.code || w.Header().Get("Retry-After") != tc.retry {
				t.Fatalf("got %d, Retry-After %q; want %d, %q (%s)", w.Code, w.Header().Get("Retry-After"), tc.code, tc.retry, w.Body)
			}
		})
	}
}

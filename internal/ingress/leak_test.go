package ingress

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/firebreak-ops/firebreak/internal/access"
)

// readyRuns is a Runs whose only working method is Ready.
type readyRuns struct {
	Runs
	err error
}

func (r readyRuns) Ready(context.Context) error { return r.err }

// TestAnswersKeepInternalsInTheLog: /readyz (open to anyone), 500s and
// Temporal's own errors answer in Firebreak's words; the addresses and
// texts behind them go to the log only.
func TestAnswersKeepInternalsInTheLog(t *testing.T) {
	const internal = "dial tcp 10.0.3.4:7233: connect: connection refused"
	for _, tc := range []struct {
		name string
		call func(a *API, w http.ResponseWriter)
		code int
		want string
	}{
		{"readyz, temporal down", func(a *API, w http.ResponseWriter) {
			a.readyz(w, httptest.NewRequest("GET", "/readyz", nil))
		}, http.StatusServiceUnavailable, "temporal is not reachable"},
		{"internal error", func(a *API, w http.ResponseWriter) {
			a.Error(w, httptest.NewRequest("GET", "/v1/runs", nil), errors.New("reading /var/lib/firebreak: "+internal))
		}, http.StatusInternalServerError, "internal error (logged as ref "},
		{"temporal unavailable", func(a *API, w http.ResponseWriter) {
			a.Error(w, httptest.NewRequest("GET", "/v1/runs", nil), access.TemporalError(serviceerror.NewUnavailable(internal)))
		}, http.StatusServiceUnavailable, "temporal is unavailable; retry later"},
		{"temporal slow", func(a *API, w http.ResponseWriter) {
			a.Error(w, httptest.NewRequest("GET", "/v1/runs", nil), access.TemporalError(fmt.Errorf("%s: %w", internal, context.DeadlineExceeded)))
		}, http.StatusTooManyRequests, "temporal did not answer in time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := New(Options{Runs: readyRuns{err: fmt.Errorf("temporal: %w", errors.New(internal))}})
			w := httptest.NewRecorder()
			tc.call(a, w)
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) || strings.Contains(w.Body.String(), "10.0.3.4") {
				t.Errorf("%d %s; want %d with %q and no internal address", w.Code, w.Body, tc.code, tc.want)
			}
		})
	}
}

package tests

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const pagingRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: page-oncall}
spec:
  steps:
    - name: page
      action: pagerduty.trigger
      with: {summary: "checkout is down", severity: critical}
      retry: {attempts: 5, backoff: 200ms}
    - {name: after, action: log, with: {message: "paged: ${{ steps.page.output.status }}"}}
`

// TestPagerDutyErrorsAreRetried: PagerDuty answering 500 and then 429 does
// not fail the run; the page is retried with backoff and goes out once.
func TestPagerDutyErrorsAreRetried(t *testing.T) {
	var calls atomic.Int32
	pd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
		case 2:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		default:
			w.WriteHeader(http.StatusAccepted)
			_, _ = w.Write([]byte(`{"status":"success","message":"Event processed","dedup_key":"k"}`))
		}
	}))
	defer pd.Close()
	cat := runbooks.NewCatalog()
	p := filepath.Join(t.TempDir(), "page.yaml")
	os.WriteFile(p, []byte(pagingRunbook), 0o600)
	if err := cat.LoadPath(p); err != nil {
		t.Fatal(err)
	}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Catalog: cat, Config: &config.Config{
		PagerDuty: config.PagerDuty{EventsURL: pd.URL, RoutingKey: "rk"}}})
	a := &api{t: t, base: fb.URL}
	ref := a.start(runs.StartRequest{Runbook: "page-oncall"})
	st := a.waitForLong(ref.ID, time.Minute, func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || step(st, "page").Attempts != 3 || calls.Load() != 3 {
		t.Fatalf("run %s, page %+v, PagerDuty saw %d calls", st.Status, step(st, "page"), calls.Load())
	}
}

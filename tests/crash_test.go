package tests

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

const crashRunbook = `
apiVersion: firebreak/v1
kind: Runbook
metadata: {name: side-effect}
spec:
  params:
    - {name: url, type: string, required: true}
  steps:
    - name: effect
      action: http.request
      with: {method: POST, url: "${{ params.url }}", body: {action: restart}}
      timeout: 4s
      retry: {attempts: 3, backoff: 1s}
    - {name: after, action: log, with: {message: "effect answered ${{ steps.effect.output.status }}"}}
`

// effectServer is an outside system that honours Idempotency-Key: a
// repeated key gets the first answer and does nothing again.
type effectServer struct {
	mu       sync.Mutex
	requests int
	effects  map[string]int
	arrived  chan struct{}
}

func (e *effectServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	e.mu.Lock()
	e.requests++
	first := e.requests == 1
	key := r.Header.Get("Idempotency-Key")
	e.effects[key]++
	e.mu.Unlock()
	if first {
		close(e.arrived)
		time.Sleep(3 * time.Second) // the worker dies while this is in flight
	}
	w.WriteHeader(http.StatusOK)
}

// TestWorkerKilledMidStep kills -9 the worker process while an action with
// a side effect is in flight; a new worker finishes the run, and the side
// effect happened once thanks to the idempotency key.
func TestWorkerKilledMidStep(t *testing.T) {
	bin := firebreakBinary(t)
	effect := &effectServer{effects: map[string]int{}, arrived: make(chan struct{})}
	srv := httptest.NewServer(effect)
	defer srv.Close()
	dir := t.TempDir()
	rbPath := filepath.Join(dir, "side-effect.yaml")
	if err := os.WriteFile(rbPath, []byte(crashRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	cat, err := runbooks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadPath(rbPath); err != nil {
		t.Fatal(err)
	}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Role: "api", Catalog: cat})
	worker := serve(t, bin, eng.FrontendAddress(), "worker", "--runbooks", rbPath)
	a := &api{t: t, base: fb.URL}

	ref := a.start(runs.StartRequest{Runbook: "side-effect", Params: fmtParams("url", srv.URL+"/restart")})
	select {
	case <-effect.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("the action never reached the outside system")
	}
	if err := worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = worker.Wait() // reaped: its cleanup then skips it
	serve(t, bin, eng.FrontendAddress(), "worker", "--runbooks", rbPath)

	st := a.waitForLong(ref.ID, 60*time.Second, func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || step(st, "effect").Attempts < 2 {
		t.Fatalf("run %s, effect %+v", st.Status, step(st, "effect"))
	}
	effect.mu.Lock()
	defer effect.mu.Unlock()
	if len(effect.effects) != 1 || effect.requests < 2 {
		t.Fatalf("requests %d, idempotency keys %v: want one key sent at least twice", effect.requests, effect.effects)
	}
	for key := range effect.effects {
		if key != ref.ID+"/effect" {
			t.Errorf("idempotency key %q, want run/step", key)
		}
	}
}

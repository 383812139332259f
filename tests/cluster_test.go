package tests

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// TestServeOnCluster runs Firebreak in production shape: two `serve --role
// api` and two `serve --role worker` processes, payloads encrypted, against
// the PostgreSQL-backed three-node Temporal cluster. serve registers its
// search attributes through the operator API; every process, workers
// included, answers /healthz and /readyz; a run started through one API
// instance is read to the end through the other.
func TestServeOnCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cluster, err := testenv.StartCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Stop)
	bin := firebreakBinary(t)
	// Workers serve their probes where the chart points them.
	var workers []*api
	for range 2 {
		port := testenv.FreePort(t)
		serve(t, bin, cluster.Frontend, "worker", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
		workers = append(workers, &api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)})
	}
	var apis []*api
	for range 2 {
		port := testenv.FreePort(t)
		serve(t, bin, cluster.Frontend, "api", "--listen", fmt.Sprintf("127.0.0.1:%d", port), "--insecure-no-auth")
		apis = append(apis, &api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)})
	}
	deadline := time.Now().Add(90 * time.Second)
	for _, a := range append(workers, apis...) {
		for a.tryGet("/readyz", nil) != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatalf("%s never became ready", a.base)
			}
			time.Sleep(250 * time.Millisecond)
		}
		if code := a.tryGet("/healthz", nil); code != http.StatusOK {
			t.Errorf("%s/healthz: HTTP %d", a.base, code)
		}
	}
	ref := apis[0].start(runs.StartRequest{Runbook: "hello-world", Params: fmtParams("name", "cluster", "times", 2)})
	st := apis[1].waitForLong(ref.ID, 60*time.Second, func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded {
		t.Fatalf("run on the cluster: %s %s", st.Status, st.Error)
	}
}

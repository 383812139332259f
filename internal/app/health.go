package app

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/internal/names"
)

// workerHealth answers a worker-only process's probes: /healthz while the
// process serves, /readyz when Temporal answers and the task queue has a
// poller (this worker polls as soon as it has started).
func workerHealth(c client.Client) http.Handler {
	mux := http.NewServeMux()
	write := func(w http.ResponseWriter, code int, body map[string]string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(body)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		write(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			write(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": "temporal is not reachable or not answering"})
			return
		}
		resp, err := c.DescribeTaskQueue(ctx, names.TaskQueue, enumspb.TASK_QUEUE_TYPE_WORKFLOW)
		if err != nil || len(resp.GetPollers()) == 0 {
			write(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": "the worker is not polling task queue " + names.TaskQueue + " yet"})
			return
		}
		write(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	return mux
}

// serveWorkerHealth serves workerHealth on ln until ctx ends.
func serveWorkerHealth(ctx context.Context, ln net.Listener, c client.Client) error {
	srv := &http.Server{Handler: workerHealth(c), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

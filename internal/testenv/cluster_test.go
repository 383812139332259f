package testenv

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TestClusterRunsWorkflows starts the PostgreSQL-backed three-node
// cluster, runs workflows on it, then kills -9 one history node: new
// workflows still complete on the other.
func TestClusterRunsWorkflows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := StartCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	cl, err := client.Dial(client.Options{HostPort: c.Frontend, Namespace: c.Namespace, Logger: sdklog.NewStructuredLogger(Logger(t))})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	w := worker.New(cl, "cluster-test", worker.Options{})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, n int) (int, error) { return n + 1, nil }, workflow.RegisterOptions{Name: "inc"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	run := func(n int) {
		t.Helper()
		r, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: "cluster-test"}, "inc", n)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := r.Get(ctx, &got); err != nil || got != n+1 {
			t.Fatalf("workflow: %d, %v", got, err)
		}
	}
	for i := range 5 {
		run(i)
	}
	if err := c.Kill("history-a"); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		run(i)
	}
}

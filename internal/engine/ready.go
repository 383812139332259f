package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/primitives"
)

// readyPollInterval is the pause between readiness probes.
const readyPollInterval = 100 * time.Millisecond

// waitReady blocks until the frontend at addr passes a health check and
// knows the namespace, then makes sure the custom search attributes exist.
func waitReady(ctx context.Context, addr, namespace string, sas map[string]enumspb.IndexedValueType, logger *slog.Logger) error {
	var (
		c       client.Client
		lastErr error
	)
	for c == nil {
		c, lastErr = client.DialContext(ctx, client.Options{
			HostPort:  addr,
			Namespace: namespace,
			Logger:    sdklog.NewStructuredLogger(logger),
		})
		if lastErr != nil {
			c = nil
			if err := pause(ctx); err != nil {
				return notReady(addr, err, lastErr)
			}
		}
	}
	defer c.Close()

	for {
		if lastErr = probe(ctx, c, namespace); lastErr == nil {
			break
		}
		if err := pause(ctx); err != nil {
			return notReady(addr, err, lastErr)
		}
	}
	return ensureSearchAttributes(ctx, c, namespace, sas)
}

// probe checks that the frontend is healthy and knows the namespace, and
// that requests it forwards reach matching and history. Every service must
// have joined the membership ring for that; until then the frontend answers
// but workflows stall with "Not enough hosts to serve the request".
func probe(ctx context.Context, c client.Client, namespace string) error {
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	svc := c.WorkflowService()
	if _, err := svc.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace}); err != nil {
		return err
	}
	// Matching: the server's own per-namespace worker queue always exists.
	if _, err := svc.DescribeTaskQueue(ctx, &workflowservice.DescribeTaskQueueRequest{
		Namespace:     namespace,
		TaskQueue:     &taskqueuepb.TaskQueue{Name: primitives.PerNSWorkerTaskQueue, Kind: enumspb.TASK_QUEUE_KIND_NORMAL},
		TaskQueueType: enumspb.TASK_QUEUE_TYPE_WORKFLOW,
	}); err != nil {
		return err
	}
	// History: a lookup of a workflow that does not exist is answered there.
	_, err := svc.DescribeWorkflowExecution(ctx, &workflowservice.DescribeWorkflowExecutionRequest{
		Namespace: namespace,
		Execution: &commonpb.WorkflowExecution{WorkflowId: "firebreak-engine-readiness-probe"},
	})
	var notFound *serviceerror.NotFound
	if err != nil && !errors.As(err, &notFound) {
		return err
	}
	return nil
}

// ensureSearchAttributes adds the search attributes in sas that the
// namespace lacks (a fresh database already has them from the namespace
// config; an existing one may predate them) and waits until the frontend
// accepts queries on them. An attribute that exists with another type is an
// error: Temporal cannot change the type of a search attribute.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string, sas map[string]enumspb.IndexedValueType) error {
	if len(sas) == 0 {
		return nil
	}
	list, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes of namespace %q: %w", namespace, err)
	}
	missing := make(map[string]enumspb.IndexedValueType)
	for _, name := range slices.Sorted(maps.Keys(sas)) {
		want := sas[name]
		have, ok := list.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = want
		case have != want:
			return fmt.Errorf("search attribute %q is registered in namespace %q as %v, not %v", name, namespace, have, want)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("adding search attributes to namespace %q: %w", namespace, err)
	}

	// The new aliases live in the namespace record, which each service
	// caches and reloads every couple of seconds. A visibility query naming
	// them fails until the frontend's copy has them.
	clauses := make([]string, 0, len(missing))
	for _, name := range slices.Sorted(maps.Keys(missing)) {
		clauses = append(clauses, "`"+name+"` IS NULL")
	}
	query := strings.Join(clauses, " AND ")
	for {
		_, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: namespace, Query: query})
		if err == nil {
			return nil
		}
		if perr := pause(ctx); perr != nil {
			return fmt.Errorf("waiting for new search attributes in namespace %q: %w (last error: %v)", namespace, perr, err)
		}
	}
}

// pause sleeps for readyPollInterval or until ctx is done.
func pause(ctx context.Context) error {
	t := time.NewTimer(readyPollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func notReady(addr string, cause, last error) error {
	return fmt.Errorf("temporal frontend at %s did not become ready: %w (last error: %v)", addr, cause, last)
}

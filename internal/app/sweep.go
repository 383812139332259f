package app

import (
	"context"
	"errors"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
	"github.com/firebreak-ops/firebreak/activities/kubernetes"
	"github.com/firebreak-ops/firebreak/internal/config"
)

// SweepChaos removes Chaos Mesh resources Firebreak created whose
// experiment run is closed. Runs roll their faults back themselves; this is
// defence in depth for a resource left by a run whose history was lost or
// that was terminated by hand. A cluster without Chaos Mesh, or no cluster
// at all, is not an error.
func SweepChaos(ctx context.Context, c client.Client, cfg *config.Config, logger *slog.Logger) {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	isOpen := func(ctx context.Context, runID string) (bool, error) {
		desc, err := c.DescribeWorkflowExecution(ctx, runID, "")
		if err != nil {
			var nf *serviceerror.NotFound
			if errors.As(err, &nf) {
				return false, nil
			}
			return true, err
		}
		return desc.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, nil
	}
	removed, err := chaosmesh.New(kubernetes.Config{Kubeconfig: cfg.Kubernetes.Kubeconfig}).Sweep(sctx, isOpen)
	if err != nil {
		logger.Debug("chaos orphan sweep skipped", "err", err)
		return
	}
	for _, o := range removed {
		logger.Warn("removed orphaned chaos resource", "kind", o.Kind, "namespace", o.Namespace, "name", o.Name)
	}
}

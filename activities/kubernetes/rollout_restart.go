package kubernetes

import (
	"context"
	"time"

	"k8s.io/client-go/util/retry"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

type rolloutRestartInput struct {
	common
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// RolloutRestart restarts a workload's pods the way `kubectl rollout
// restart` does: it stamps the pod template with restartedAt, so the
// controller rolls every pod. The template also gets the step's
// idempotency key (firebreak.dev/restart-id); when a retried attempt finds
// its own key there, the restart already happened and is not repeated.
func (a *Activities) RolloutRestart(ctx context.Context, req actions.Request) (any, error) {
	var in rolloutRestartInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	kind, err := workloadKind(in.Kind, kindDeployment, kindStatefulSet, kindDaemonSet)
	if err != nil {
		return nil, err
	}
	if err := requireName("name", in.Name); err != nil {
		return nil, err
	}
	c, err := a.clientsFor(in.Context)
	if err != nil {
		return nil, err
	}
	ns := c.ns(in.Namespace)
	restartID := req.IdempotencyKey()
	out := map[string]any{"kind": kind, "namespace": ns, "name": in.Name, "restartId": restartID, "dryRun": req.DryRun}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		w, err := c.getWorkload(ctx, kind, ns, in.Name)
		if err != nil {
			return err
		}
		ann := w.template.Annotations
		if ann[RestartIDAnnotation] == restartID {
			out["alreadyDone"] = true
			out["restartedAt"] = ann[RestartedAtAnnotation]
			out["generation"] = w.obj.GetGeneration()
			return nil
		}
		if w.deployment != nil && w.deployment.Spec.Paused {
			return actions.Permanentf("%s is paused: resume its rollout before restarting it", w.what())
		}
		if ann == nil {
			ann = map[string]string{}
		}
		now := time.Now().UTC().Format(time.RFC3339)
		ann[RestartedAtAnnotation] = now
		ann[RestartIDAnnotation] = restartID
		w.template.Annotations = ann
		updated, err := c.update(ctx, w, dryRun(req))
		if err != nil {
			return err
		}
		out["alreadyDone"] = false
		out["restartedAt"] = now
		out["previousGeneration"] = w.obj.GetGeneration()
		out["generation"] = updated.GetGeneration()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

package kubernetes

import (
	"context"
	"fmt"
	"math"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

type scaleInput struct {
	common
	Kind      string    `json:"kind"`
	Namespace string    `json:"namespace"`
	Name      string    `json:"name"`
	Replicas  *intValue `json:"replicas"`
	Min       *intValue `json:"min"`
	Max       *intValue `json:"max"`
}

// Scale sets a deployment's or statefulset's replicas through the scale
// subresource. A request outside [min, max] is clamped, and the output
// says so (clamped, reason). Scaling to the current count changes nothing.
func (a *Activities) Scale(ctx context.Context, req actions.Request) (any, error) {
	var in scaleInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	kind, err := workloadKind(in.Kind, kindDeployment, kindStatefulSet)
	if err != nil {
		return nil, err
	}
	if err := requireName("name", in.Name); err != nil {
		return nil, err
	}
	if in.Replicas == nil {
		return nil, actions.Permanentf("with.replicas is required")
	}
	requested := int64(*in.Replicas)
	lo, hi := int64(0), int64(-1)
	if in.Min != nil {
		lo = int64(*in.Min)
	}
	if in.Max != nil {
		hi = int64(*in.Max)
	}
	switch {
	case requested < 0:
		return nil, actions.Permanentf("replicas %d is negative", requested)
	case lo < 0:
		return nil, actions.Permanentf("min %d is negative", lo)
	case in.Max != nil && hi < lo:
		return nil, actions.Permanentf("max %d is below min %d", hi, lo)
	case requested > math.MaxInt32, lo > math.MaxInt32, hi > math.MaxInt32:
		return nil, actions.Permanentf("replicas, min and max must be below %d", int64(math.MaxInt32)+1)
	}
	target, reason := requested, ""
	if target < lo {
		target, reason = lo, fmt.Sprintf("requested %d, raised to min %d", requested, lo)
	}
	if in.Max != nil && target > hi {
		target, reason = hi, fmt.Sprintf("requested %d, lowered to max %d", requested, hi)
	}

	c, err := a.clientsFor(in.Context)
	if err != nil {
		return nil, err
	}
	ns := c.ns(in.Namespace)
	what := describe(kind, ns, in.Name)
	out := map[string]any{
		"kind": kind, "namespace": ns, "name": in.Name,
		"requested": requested, "replicas": target, "clamped": reason != "", "dryRun": req.DryRun,
		"min": lo,
	}
	if reason != "" {
		out["reason"] = reason
	}
	if in.Max != nil {
		out["max"] = hi
	}
	apps := c.typed.AppsV1()
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var (
			s   *autoscalingv1.Scale
			err error
		)
		if kind == kindDeployment {
			s, err = apps.Deployments(ns).GetScale(ctx, in.Name, metav1.GetOptions{})
		} else {
			s, err = apps.StatefulSets(ns).GetScale(ctx, in.Name, metav1.GetOptions{})
		}
		if err != nil {
			return Classify(err, what)
		}
		out["previousReplicas"] = int64(s.Spec.Replicas)
		out["changed"] = int64(s.Spec.Replicas) != target
		if int64(s.Spec.Replicas) == target {
			return nil
		}
		s.Spec.Replicas = int32(target)
		opts := metav1.UpdateOptions{DryRun: dryRun(req), FieldManager: fieldManager}
		if kind == kindDeployment {
			_, err = apps.Deployments(ns).UpdateScale(ctx, in.Name, s, opts)
		} else {
			_, err = apps.StatefulSets(ns).UpdateScale(ctx, in.Name, s, opts)
		}
		return Classify(err, what)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

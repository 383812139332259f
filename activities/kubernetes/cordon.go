package kubernetes

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

type nodeInput struct {
	common
	Node string `json:"node"`
}

// Cordon marks a node unschedulable, like `kubectl cordon`.
func (a *Activities) Cordon(ctx context.Context, req actions.Request) (any, error) {
	return a.setUnschedulable(ctx, req, true)
}

// Uncordon marks a node schedulable again, like `kubectl uncordon`.
func (a *Activities) Uncordon(ctx context.Context, req actions.Request) (any, error) {
	return a.setUnschedulable(ctx, req, false)
}

func (a *Activities) setUnschedulable(ctx context.Context, req actions.Request, unschedulable bool) (any, error) {
	var in nodeInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	if err := requireName("node", in.Node); err != nil {
		return nil, err
	}
	c, err := a.clientsFor(in.Context)
	if err != nil {
		return nil, err
	}
	what := "node " + in.Node
	nodes := c.typed.CoreV1().Nodes()
	n, err := nodes.Get(ctx, in.Node, metav1.GetOptions{})
	if err != nil {
		return nil, Classify(err, what)
	}
	out := map[string]any{
		"node": in.Node, "unschedulable": unschedulable, "changed": n.Spec.Unschedulable != unschedulable, "dryRun": req.DryRun,
	}
	if n.Spec.Unschedulable == unschedulable {
		return out, nil
	}
	patch := `{"spec":{"unschedulable":true}}`
	if !unschedulable {
		patch = `{"spec":{"unschedulable":null}}`
	}
	if _, err := nodes.Patch(ctx, in.Node, types.StrategicMergePatchType, []byte(patch),
		metav1.PatchOptions{DryRun: dryRun(req), FieldManager: fieldManager}); err != nil {
		return nil, Classify(err, what)
	}
	return out, nil
}

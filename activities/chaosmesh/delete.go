package chaosmesh

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Delete deletes a Chaos Mesh resource (background propagation), which
// makes Chaos Mesh recover its targets before the resource goes away. A
// resource that is already gone, or whose kind the cluster does not serve,
// counts as deleted.
func (a *Activities) Delete(ctx context.Context, o actions.ChaosObject) error {
	_, obj, err := lookup(o)
	if err != nil {
		return err
	}
	c, err := a.clientFor()
	if err != nil {
		return err
	}
	return deleteObject(ctx, c, obj, describe(o))
}

// deleteObject deletes obj, treating "not there" as done.
func deleteObject(ctx context.Context, c client.Client, obj client.Object, what string) error {
	err := c.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err == nil || apierrors.IsNotFound(err) || notInstalled(err) {
		return nil
	}
	return classify(err, "chaos: deleting "+what)
}

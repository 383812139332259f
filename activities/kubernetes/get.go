package kubernetes

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

type getInput struct {
	common
	objectRef
}

// Get reads any object by apiVersion, kind, namespace and name. The output
// is the object itself (without managedFields), for guards and later steps
// to read, e.g. output.status.readyReplicas.
func (a *Activities) Get(ctx context.Context, req actions.Request) (any, error) {
	var in getInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	c, err := a.clientsFor(in.Context)
	if err != nil {
		return nil, err
	}
	r, err := c.resolve(in.objectRef)
	if err != nil {
		return nil, err
	}
	u, err := r.client.Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		return nil, Classify(err, r.what())
	}
	return plain(u), nil
}

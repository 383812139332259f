package chaosmesh

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/names"
)

// Create creates a Chaos Mesh resource of the request's kind, its spec
// decoded strictly into the kind's Spec type, labelled as managed by
// Firebreak. With DryRun the API server validates it without persisting
// it. If the resource already exists with the same run label (a retried
// activity), Create succeeds with Existed true; with another run label it
// fails permanently.
func (a *Activities) Create(ctx context.Context, req actions.ChaosCreateRequest) (actions.ChaosCreateResult, error) {
	k, obj, err := lookup(req.Object)
	if err != nil {
		return actions.ChaosCreateResult{}, err
	}
	what := describe(req.Object)
	if err := decodeSpec(req.Spec, k.spec(obj)); err != nil {
		return actions.ChaosCreateResult{}, actions.Permanentf("chaos: %s: spec: %v", what, err)
	}
	labels := maps.Clone(req.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[names.LabelManagedBy] = names.LabelManagedByValue
	obj.SetLabels(labels)
	if len(req.Annotations) > 0 {
		obj.SetAnnotations(maps.Clone(req.Annotations))
	}

	c, err := a.clientFor()
	if err != nil {
		return actions.ChaosCreateResult{}, err
	}
	var opts []client.CreateOption
	if req.DryRun {
		opts = append(opts, client.DryRunAll)
	}
	err = c.Create(ctx, obj, opts...)
	if apierrors.IsAlreadyExists(err) {
		return a.existing(ctx, c, req, what)
	}
	if err != nil {
		return actions.ChaosCreateResult{}, classify(err, "chaos: creating "+what)
	}
	return result(req.Object, obj, false)
}

// existing answers a create whose resource is already there: success when
// the same run made it, a permanent error otherwise.
func (a *Activities) existing(ctx context.Context, c client.Client, req actions.ChaosCreateRequest, what string) (actions.ChaosCreateResult, error) {
	_, cur, _ := lookup(req.Object)
	if err := c.Get(ctx, client.ObjectKeyFromObject(cur), cur); err != nil {
		if apierrors.IsNotFound(err) {
			// Deleted in between: let the activity retry the create.
			return actions.ChaosCreateResult{}, errors.New("chaos: " + what + " already existed and is now gone")
		}
		return actions.ChaosCreateResult{}, classify(err, "chaos: reading existing "+what)
	}
	want, have := req.Labels[names.LabelRun], cur.GetLabels()[names.LabelRun]
	if want != have {
		owner := "not created by a Firebreak run"
		if have != "" {
			owner = "created by run " + have
		}
		return actions.ChaosCreateResult{}, actions.Permanentf("chaos: %s already exists, %s", what, owner)
	}
	return result(req.Object, cur, true)
}

// result renders the resource the API server returned.
func result(o actions.ChaosObject, obj resource, existed bool) (actions.ChaosCreateResult, error) {
	obj.GetObjectKind().SetGroupVersionKind(v1alpha1.SchemeGroupVersion.WithKind(o.Kind))
	obj.SetManagedFields(nil)
	b, err := yaml.Marshal(obj)
	if err != nil {
		return actions.ChaosCreateResult{}, actions.Permanentf("chaos: rendering %s: %v", describe(o), err)
	}
	return actions.ChaosCreateResult{Manifest: string(b), UID: string(obj.GetUID()), Existed: existed}, nil
}

// decodeSpec decodes raw into spec the way the API server reads JSON:
// case-sensitive, refusing unknown and duplicate fields.
func decodeSpec(raw []byte, spec any) error {
	if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return errors.New("missing")
	}
	strict, err := kjson.UnmarshalStrict(raw, spec)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = e.Error()
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

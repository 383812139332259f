package chaosmesh

import (
	"sort"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// resource is a Chaos Mesh object: every kind reports the same status.
type resource interface {
	client.Object
	GetStatus() *v1alpha1.ChaosStatus
}

// kind knows how to make the typed object, its list and its spec for one
// Chaos Mesh kind.
type kind struct {
	object func() resource
	list   func() client.ObjectList
	// spec returns a pointer to the object's Spec field.
	spec func(resource) any
}

// kinds are the Chaos Mesh kinds Firebreak creates.
var kinds = map[string]kind{
	v1alpha1.KindPodChaos: {
		object: func() resource { return &v1alpha1.PodChaos{} },
		list:   func() client.ObjectList { return &v1alpha1.PodChaosList{} },
		spec:   func(r resource) any { return &r.(*v1alpha1.PodChaos).Spec },
	},
	v1alpha1.KindNetworkChaos: {
		object: func() resource { return &v1alpha1.NetworkChaos{} },
		list:   func() client.ObjectList { return &v1alpha1.NetworkChaosList{} },
		spec:   func(r resource) any { return &r.(*v1alpha1.NetworkChaos).Spec },
	},
	v1alpha1.KindStressChaos: {
		object: func() resource { return &v1alpha1.StressChaos{} },
		list:   func() client.ObjectList { return &v1alpha1.StressChaosList{} },
		spec:   func(r resource) any { return &r.(*v1alpha1.StressChaos).Spec },
	},
	v1alpha1.KindHTTPChaos: {
		object: func() resource { return &v1alpha1.HTTPChaos{} },
		list:   func() client.ObjectList { return &v1alpha1.HTTPChaosList{} },
		spec:   func(r resource) any { return &r.(*v1alpha1.HTTPChaos).Spec },
	},
	v1alpha1.KindIOChaos: {
		object: func() resource { return &v1alpha1.IOChaos{} },
		list:   func() client.ObjectList { return &v1alpha1.IOChaosList{} },
		spec:   func(r resource) any { return &r.(*v1alpha1.IOChaos).Spec },
	},
}

// Kinds lists the Chaos Mesh kinds the activities handle, sorted.
func Kinds() []string {
	out := make([]string, 0, len(kinds))
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// lookup returns the kind of o and an empty object named like o, failing
// permanently for an unknown kind or a missing name.
func lookup(o actions.ChaosObject) (kind, resource, error) {
	k, ok := kinds[o.Kind]
	if !ok {
		return kind{}, nil, actions.Permanentf("chaos: kind %q is not one of %v", o.Kind, Kinds())
	}
	if o.Namespace == "" || o.Name == "" {
		return kind{}, nil, actions.Permanentf("chaos: %s needs a namespace and a name (got %q/%q)", o.Kind, o.Namespace, o.Name)
	}
	r := k.object()
	r.SetNamespace(o.Namespace)
	r.SetName(o.Name)
	r.GetObjectKind().SetGroupVersionKind(v1alpha1.SchemeGroupVersion.WithKind(o.Kind))
	return k, r, nil
}

// describe names an object in errors: PodChaos ns/name.
func describe(o actions.ChaosObject) string {
	return o.Kind + " " + o.Namespace + "/" + o.Name
}

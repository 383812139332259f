package kubernetes

import (
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// objectRef names any object by apiVersion and kind, for get and patch.
type objectRef struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
}

// resolved is an objectRef mapped to its resource through discovery.
type resolved struct {
	mapping   *meta.RESTMapping
	namespace string // "" for cluster-scoped kinds
	name      string
	client    dynamic.ResourceInterface
}

// what names the object: "deployment prod/checkout", "node n1".
func (r *resolved) what() string {
	kind := strings.ToLower(r.mapping.GroupVersionKind.Kind)
	if r.namespace == "" {
		return kind + " " + r.name
	}
	return kind + " " + r.namespace + "/" + r.name
}

// resolve maps apiVersion and kind to a resource with the discovery-based
// RESTMapper. The kind may also be written in lower case or as a resource
// name or short name (deployments, deploy). A kind unknown to the cached
// discovery is looked up once more after refreshing it (for new CRDs).
func (c *clients) resolve(ref objectRef) (*resolved, error) {
	if err := requireName("apiVersion", ref.APIVersion); err != nil {
		return nil, err
	}
	if err := requireName("kind", ref.Kind); err != nil {
		return nil, err
	}
	if err := requireName("name", ref.Name); err != nil {
		return nil, err
	}
	gv, err := schema.ParseGroupVersion(strings.TrimSpace(ref.APIVersion))
	if err != nil {
		return nil, actions.Permanentf("apiVersion %q: %v", ref.APIVersion, err)
	}
	kind := strings.TrimSpace(ref.Kind)
	lookup := func() (*meta.RESTMapping, error) {
		m, err := c.mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: kind}, gv.Version)
		if meta.IsNoMatchError(err) {
			gvk, kerr := c.mapper.KindFor(gv.WithResource(strings.ToLower(kind)))
			if kerr == nil && gvk.Group == gv.Group {
				return c.mapper.RESTMapping(gvk.GroupKind(), gv.Version)
			}
		}
		return m, err
	}
	m, err := lookup()
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = lookup()
	}
	if meta.IsNoMatchError(err) {
		return nil, actions.Permanentf("the cluster has no kind %q in apiVersion %q", ref.Kind, ref.APIVersion)
	}
	if err != nil {
		return nil, Classify(err, "discovering kind "+ref.Kind+" in "+ref.APIVersion)
	}
	r := &resolved{mapping: m, name: ref.Name}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		r.namespace = c.ns(ref.Namespace)
		r.client = c.dynamic.Resource(m.Resource).Namespace(r.namespace)
	} else {
		r.client = c.dynamic.Resource(m.Resource)
	}
	return r, nil
}

// plain returns an object for outputs, without its managedFields.
func plain(u *unstructured.Unstructured) map[string]any {
	obj := u.DeepCopy().Object
	if md, ok := obj["metadata"].(map[string]any); ok {
		delete(md, "managedFields")
	}
	return obj
}

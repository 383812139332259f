package kubernetes

import (
	"context"
	"encoding/json"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

type patchInput struct {
	common
	objectRef
	Patch any    `json:"patch"`
	Type  string `json:"type"`
}

var patchTypes = map[string]types.PatchType{
	"":          types.StrategicMergePatchType,
	"strategic": types.StrategicMergePatchType,
	"merge":     types.MergePatchType,
	"json":      types.JSONPatchType,
}

// Patch patches any object by apiVersion and kind with a strategic merge
// (the default, as kubectl; built-in kinds only), JSON merge or JSON
// patch. The output names the object, says whether the patch changed it
// (in a dry run: would change it) and holds the patched object.
func (a *Activities) Patch(ctx context.Context, req actions.Request) (any, error) {
	var in patchInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	pt, ok := patchTypes[strings.ToLower(strings.TrimSpace(in.Type))]
	if !ok {
		return nil, actions.Permanentf("type %q is not one of strategic, merge, json", in.Type)
	}
	data, err := patchData(in.Patch, pt)
	if err != nil {
		return nil, err
	}
	c, err := a.clientsFor(in.Context)
	if err != nil {
		return nil, err
	}
	r, err := c.resolve(in.objectRef)
	if err != nil {
		return nil, err
	}
	before, err := r.client.Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		return nil, Classify(err, r.what())
	}
	after, err := r.client.Patch(ctx, r.name, pt, data, metav1.PatchOptions{DryRun: dryRun(req), FieldManager: fieldManager})
	if err != nil {
		if pt == types.StrategicMergePatchType && apierrors.IsUnsupportedMediaType(err) {
			return nil, actions.Permanentf("%s: strategic merge patches only work on built-in kinds: use type merge", r.what())
		}
		return nil, Classify(err, r.what())
	}
	gvk := r.mapping.GroupVersionKind
	out := map[string]any{
		"apiVersion": gvk.GroupVersion().String(), "kind": gvk.Kind, "name": r.name,
		"resourceVersion": after.GetResourceVersion(), "generation": after.GetGeneration(),
		"changed": !equality.Semantic.DeepEqual(withoutVolatile(before), withoutVolatile(after)),
		"dryRun":  req.DryRun, "object": plain(after),
	}
	if r.namespace != "" {
		out["namespace"] = r.namespace
	}
	return out, nil
}

// patchData encodes the patch: a mapping or list as JSON, text (JSON or
// YAML) converted to JSON. A JSON patch must be a list of operations.
func patchData(p any, pt types.PatchType) ([]byte, error) {
	var (
		data []byte
		err  error
	)
	switch v := p.(type) {
	case nil:
		return nil, actions.Permanentf("with.patch is required")
	case string:
		data, err = yaml.YAMLToJSON([]byte(v))
		if err != nil {
			return nil, actions.Permanentf("patch is neither JSON nor YAML: %v", err)
		}
	default:
		data, err = json.Marshal(v)
		if err != nil {
			return nil, actions.Permanent(err)
		}
	}
	var decoded any
	if err := json.Unmarshal(data, &decoded); err != nil {
		return nil, actions.Permanentf("patch: %v", err)
	}
	switch decoded.(type) {
	case []any:
		if pt != types.JSONPatchType {
			return nil, actions.Permanentf("patch is a list: only type json takes a list of operations")
		}
	case map[string]any:
		if pt == types.JSONPatchType {
			return nil, actions.Permanentf("a json patch must be a list of operations")
		}
	default:
		return nil, actions.Permanentf("patch must be a mapping (or, for type json, a list)")
	}
	return data, nil
}

// withoutVolatile strips what changes on every write, to tell whether a patch
// changed anything.
func withoutVolatile(u *unstructured.Unstructured) map[string]any {
	obj := u.DeepCopy().Object
	if md, ok := obj["metadata"].(map[string]any); ok {
		delete(md, "managedFields")
		delete(md, "resourceVersion")
		delete(md, "generation")
	}
	return obj
}

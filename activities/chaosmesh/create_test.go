package chaosmesh_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
	"github.com/firebreak-ops/firebreak/internal/names"
)

const podFailure = `{"action":"pod-failure","mode":"fixed","value":"2","duration":"30s","selector":{"namespaces":["create"],"labelSelectors":{"app":"nothing"}}}`

// reader is a plain controller-runtime client to check what the
// activities wrote.
func reader(t *testing.T) client.Client {
	t.Helper()
	k, _ := chaosCluster(t)
	s, err := chaosmesh.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(k.Config, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCreate(t *testing.T) {
	k, _ := chaosCluster(t)
	k.Namespace(t, "create")
	ctx := context.Background()
	a := chaosmesh.NewFromREST(k.Config)
	c := reader(t)

	o := obj("PodChaos", "create", "fail-two")
	req := createReq(o, "run-1", podFailure)
	req.Labels["team"] = "payments"
	res, err := a.Create(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Existed || res.UID == "" {
		t.Fatalf("result: %+v", res)
	}
	var got v1alpha1.PodChaos
	if err := c.Get(ctx, client.ObjectKey{Namespace: "create", Name: "fail-two"}, &got); err != nil {
		t.Fatal(err)
	}
	wantLabels := map[string]string{
		names.LabelManagedBy: names.LabelManagedByValue, names.LabelRun: "run-1",
		names.LabelExperiment: "test", "team": "payments",
	}
	for k, v := range wantLabels {
		if got.Labels[k] != v {
			t.Errorf("label %s = %q, want %q (labels %v)", k, got.Labels[k], v, got.Labels)
		}
	}
	if got.Annotations[names.AnnotationRunID] != "experiment:test:run-1" {
		t.Errorf("annotations %v", got.Annotations)
	}
	s := got.Spec
	if s.Action != v1alpha1.PodFailureAction || s.Mode != v1alpha1.FixedMode || s.Value != "2" ||
		s.Duration == nil || *s.Duration != "30s" || s.Selector.LabelSelectors["app"] != "nothing" ||
		len(s.Selector.Namespaces) != 1 || s.Selector.Namespaces[0] != "create" {
		t.Errorf("spec not preserved: %+v", s)
	}
	var manifest v1alpha1.PodChaos
	if err := yaml.UnmarshalStrict([]byte(res.Manifest), &manifest); err != nil {
		t.Fatalf("manifest: %v\n%s", err, res.Manifest)
	}
	if manifest.Kind != "PodChaos" || manifest.APIVersion != "chaos-mesh.org/v1alpha1" || string(manifest.UID) != res.UID ||
		manifest.Spec.Action != v1alpha1.PodFailureAction || len(manifest.ManagedFields) != 0 {
		t.Errorf("manifest:\n%s", res.Manifest)
	}

	// A retried create of the same run succeeds and says so.
	again, err := a.Create(ctx, req)
	if err != nil || !again.Existed || again.UID != res.UID {
		t.Fatalf("retried create: %+v %v", again, err)
	}

	// Dry run: validated, returned, not persisted.
	dry := createReq(obj("NetworkChaos", "create", "dry"), "run-1",
		`{"action":"delay","mode":"all","selector":{"labelSelectors":{"app":"x"}},"delay":{"latency":"50ms"}}`)
	dry.DryRun = true
	dres, err := a.Create(ctx, dry)
	if err != nil || !strings.Contains(dres.Manifest, "latency: 50ms") || dres.Existed {
		t.Fatalf("dry run: %+v %v", dres, err)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "create", Name: "dry"}, &v1alpha1.NetworkChaos{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry run persisted the resource: %v", err)
	}

	tests := []struct {
		name string
		req  actions.ChaosCreateRequest
		want string
	}{
		{"other run", createReq(o, "run-2", podFailure), "created by run run-1"},
		{"unknown spec field", createReq(obj("PodChaos", "create", "typo"), "run-1",
			`{"action":"pod-kill","mode":"one","selector":{},"gracePeriodSeconds":5}`), `unknown field "gracePeriodSeconds"`},
		{"field in the wrong case", createReq(obj("PodChaos", "create", "case"), "run-1",
			`{"Action":"pod-kill","mode":"one","selector":{}}`), `unknown field "Action"`},
		{"no spec", createReq(obj("PodChaos", "create", "nospec"), "run-1", ``), "spec: missing"},
		{"unknown kind", createReq(obj("TimeChaos", "create", "t"), "run-1", `{}`), `kind "TimeChaos"`},
		{"no namespace", createReq(obj("PodChaos", "", "n"), "run-1", podFailure), "needs a namespace"},
		{"rejected by the CRD schema", createReq(obj("PodChaos", "create", "badmode"), "run-1",
			`{"action":"pod-kill","mode":"sometimes","selector":{}}`), "Unsupported value"},
		{"dry run rejected by the CRD schema", func() actions.ChaosCreateRequest {
			r := createReq(obj("PodChaos", "create", "badaction"), "run-1", `{"action":"explode","mode":"one","selector":{}}`)
			r.DryRun = true
			return r
		}(), "Unsupported value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Create(ctx, tt.req)
			if !actions.IsPermanent(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want a permanent error containing %q, got %v", tt.want, err)
			}
			if tt.req.Object.Namespace == "" || tt.req.Object.Name == "fail-two" {
				return
			}
			if tt.req.Object.Kind == "PodChaos" {
				err := c.Get(ctx, client.ObjectKey{Namespace: tt.req.Object.Namespace, Name: tt.req.Object.Name}, &v1alpha1.PodChaos{})
				if !apierrors.IsNotFound(err) {
					t.Fatalf("a refused create left %s behind: %v", tt.req.Object.Name, err)
				}
			}
		})
	}

	// Labels the caller gives cannot unset managed-by.
	spoof := createReq(obj("PodChaos", "create", "spoof"), "run-1", podFailure)
	spoof.Labels[names.LabelManagedBy] = "someone-else"
	if _, err := a.Create(ctx, spoof); err != nil {
		t.Fatal(err)
	}
	var sp v1alpha1.PodChaos
	if err := c.Get(ctx, client.ObjectKey{Namespace: "create", Name: "spoof"}, &sp); err != nil || sp.Labels[names.LabelManagedBy] != names.LabelManagedByValue {
		t.Fatalf("managed-by: %v %v", sp.Labels, err)
	}
}

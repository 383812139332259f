package tests

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/testenv"
)

// helmBinary is built by `make test-deps` into its tool cache
// ($FIREBREAK_HELM_BIN).
func helmBinary(t *testing.T) string {
	if p := os.Getenv("FIREBREAK_HELM_BIN"); p != "" {
		return p
	}
	ps, _ := filepath.Glob(filepath.Join(testenv.ToolCache(), "helm-*", "helm"))
	if len(ps) == 0 {
		t.Fatalf("no helm in %s: run `make test-deps` (builds helm) or the tests through `make test`", testenv.ToolCache())
	}
	return ps[len(ps)-1]
}

// TestHelmChart renders deploy/helm/firebreak and has a real kube-apiserver
// accept every object with server-side dry run and strict field
// validation: the chart is valid for the Kubernetes it targets.
func TestHelmChart(t *testing.T) {
	helm := helmBinary(t)
	runbook, err := os.ReadFile("../runbooks/catalog/hello-world.yaml")
	if err != nil {
		t.Fatal(err)
	}
	values := filepath.Join(t.TempDir(), "values.yaml")
	v, _ := yaml.Marshal(map[string]any{
		"runbooks": map[string]string{"extra.yaml": string(runbook)},
		"config":   map[string]any{"prometheus": map[string]any{"url": "http://prometheus.monitoring:9090"}},
	})
	os.WriteFile(values, v, 0o600)
	out, err := exec.Command(helm, "template", "fb", "../deploy/helm/firebreak", "--namespace", "firebreak", "-f", values).CombinedOutput()
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, out)
	}

	kube := testenv.Kube(t)
	ctx := context.Background()
	if _, err := kube.Clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "firebreak"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	kinds := map[string]int{}
	for _, doc := range bytes.Split(out, []byte("\n---")) {
		if len(bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(doc), []byte("---")))) == 0 {
			continue
		}
		var obj unstructured.Unstructured
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if len(obj.Object) == 0 {
			continue
		}
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", gvk, err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			ri = dyn.Resource(m.Resource).Namespace("firebreak")
		}
		if gvk.Kind == "ConfigMap" {
			// The rendered firebreak.yaml must be a config Firebreak accepts.
			data, _, _ := unstructured.NestedStringMap(obj.Object, "data")
			p := filepath.Join(t.TempDir(), "firebreak.yaml")
			os.WriteFile(p, []byte(data["firebreak.yaml"]), 0o600)
			if _, err := config.Load(p, func(string) string { return "" }); err != nil {
				t.Errorf("rendered firebreak.yaml: %v\n%s", err, data["firebreak.yaml"])
			}
		}
		_, err = ri.Create(ctx, &obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"})
		if err != nil {
			t.Errorf("%s %s rejected: %v", gvk.Kind, obj.GetName(), err)
		}
		kinds[gvk.Kind]++
	}
	for kind, n := range map[string]int{"Deployment": 2, "Service": 1, "ConfigMap": 1, "ServiceAccount": 1,
		"ClusterRole": 1, "ClusterRoleBinding": 1, "PodDisruptionBudget": 2} {
		if kinds[kind] != n {
			t.Errorf("chart rendered %d %s, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}
	if !strings.Contains(string(out), "--runbooks=/etc/firebreak/runbook-extra.yaml") || !strings.Contains(string(out), "--role=worker") {
		t.Error("deployments do not load the extra runbook or set their roles")
	}
	// Nothing was created for real.
	if deps, _ := kube.Clientset.AppsV1().Deployments("firebreak").List(ctx, metav1.ListOptions{}); len(deps.Items) != 0 {
		t.Fatalf("dry run created %d deployments", len(deps.Items))
	}
}

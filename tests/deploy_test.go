package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/secrets"
	"github.com/firebreak-ops/firebreak/internal/secrets/kubesecret"
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
	runbook, err := os.ReadFile("../runbooks/catalog/hello-world.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, objs := renderChart(t, "fb", "firebreak", map[string]any{
		"runbooks":   map[string]string{"extra.yaml": string(runbook)},
		"config":     map[string]any{"prometheus": map[string]any{"url": "http://prometheus.monitoring:9090"}},
		"secrets":    map[string]any{"kubernetes": map[string]any{"names": []string{"checkout-api"}}},
		"principals": map[string]any{"fileKey": "principals.yaml"},
	})

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
	for _, obj := range objs {
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
		opts := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldValidation: "Strict"}
		switch gvk.Kind {
		case "ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding":
			// Created for real: the RBAC checks below impersonate the
			// chart's service account.
			opts.DryRun = nil
		}
		_, err = ri.Create(ctx, obj, opts)
		if err != nil {
			t.Errorf("%s %s rejected: %v", gvk.Kind, obj.GetName(), err)
		}
		kinds[gvk.Kind]++
	}
	for kind, n := range map[string]int{"Deployment": 2, "Service": 1, "ConfigMap": 1, "ServiceAccount": 1,
		"ClusterRole": 1, "ClusterRoleBinding": 1, "PodDisruptionBudget": 2, "Role": 1, "RoleBinding": 1} {
		if kinds[kind] != n {
			t.Errorf("chart rendered %d %s, want %d (all: %v)", kinds[kind], kind, n, kinds)
		}
	}
	if !strings.Contains(string(out), "--runbooks=/etc/firebreak/runbook-extra.yaml") || !strings.Contains(string(out), "--role=worker") {
		t.Error("deployments do not load the extra runbook or set their roles")
	}
	if strings.Count(string(out), "FIREBREAK_PAYLOAD_KEY_FILE") != 2 || strings.Count(string(out), "key: \"payload-keys.yaml\"") != 2 {
		t.Error("deployments do not mount the payload key file from the Secret")
	}
	if strings.Count(string(out), "FIREBREAK_PRINCIPALS_FILE") != 1 || strings.Count(string(out), "key: \"principals.yaml\"") != 1 {
		t.Error("the API deployment does not mount the principals file from the Secret")
	}
	checkChartSecretsRole(t, kube)
	// Nothing else was created for real.
	if deps, _ := kube.Clientset.AppsV1().Deployments("firebreak").List(ctx, metav1.ListOptions{}); len(deps.Items) != 0 {
		t.Fatalf("dry run created %d deployments", len(deps.Items))
	}
}

// checkChartSecretsRole impersonates the chart's service account on the
// real kube-apiserver (RBAC on): the Kubernetes secret provider reads the
// Secret named in secrets.kubernetes.names, and may not read another; the
// roles allow what the actions, experiments and orphan sweep do, and not
// more.
func checkChartSecretsRole(t *testing.T, kube *testenv.KubeEnv) {
	t.Helper()
	ctx := context.Background()
	for name, value := range map[string]string{"checkout-api": "kube-held-s3cret", "payments-db": "not-for-firebreak"} {
		_, err := kube.Clientset.CoreV1().Secrets("firebreak").Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: map[string]string{"token": value},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	}
	sa := rest.CopyConfig(kube.Config)
	sa.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:firebreak:fb"}
	provider := kubesecret.New("firebreak", func() (*rest.Config, error) { return sa, nil })
	store := secrets.NewStore(secrets.Env{Getenv: func(string) (string, bool) { return "", false }}, provider)
	if v, err := store.Resolve(ctx, "checkout-api"); err != nil || v != "kube-held-s3cret" {
		t.Errorf("checkout-api as the chart's service account: %q, %v", v, err)
	}
	if v, err := store.Resolve(ctx, "checkout-api/token"); err != nil || v != "kube-held-s3cret" {
		t.Errorf("checkout-api/token: %q, %v", v, err)
	}
	_, err := store.Resolve(ctx, "payments-db")
	if err == nil || !strings.Contains(err.Error(), "may not get Secret payments-db in namespace firebreak") || strings.Contains(err.Error(), "not-for-firebreak") {
		t.Errorf("a Secret the chart does not name: %v, want Forbidden without its value", err)
	}
	// The chart's roles, asked as its service account: what the actions,
	// experiments and the sweep do is allowed, anything else is not.
	sac, err := kubernetes.NewForConfig(sa)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		group, resource, verb, namespace, name string
		allowed                                bool
	}{
		{"chaos-mesh.org", "podchaos", "create", "prod", "", true},
		{"chaos-mesh.org", "networkchaos", "delete", "prod", "x", true},
		{"chaos-mesh.org", "stresschaos", "list", "", "", true},
		{"apps", "deployments", "patch", "prod", "checkout", true},
		{"apps", "deployments", "update", "prod", "checkout", true},
		{"", "pods", "delete", "prod", "checkout-1", true},
		{"", "secrets", "get", "firebreak", "checkout-api", true},
		{"", "secrets", "get", "firebreak", "payments-db", false},
		{"", "secrets", "delete", "firebreak", "checkout-api", false},
		{"", "resourcequotas", "update", "prod", "quota", false},
		{"chaos-mesh.org", "podchaos", "update", "prod", "x", false},
		{"", "nodes", "patch", "", "node-1", true},
		{"apps", "replicasets", "get", "prod", "checkout-1", true},
		// Nothing lists or watches workloads, or watches chaos resources.
		{"apps", "deployments", "list", "prod", "", false},
		{"apps", "deployments", "watch", "", "", false},
		{"apps", "replicasets", "list", "prod", "", false},
		{"chaos-mesh.org", "podchaos", "watch", "", "", false},
	} {
		ssar, err := sac.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
			Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
				Group: tc.group, Resource: tc.resource, Verb: tc.verb, Namespace: tc.namespace, Name: tc.name,
			}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ssar.Status.Allowed != tc.allowed {
			t.Errorf("the chart's service account %s %s/%s %s/%s: allowed %v, want %v", tc.verb, tc.group, tc.resource, tc.namespace, tc.name, ssar.Status.Allowed, tc.allowed)
		}
	}
	// Configuration credentials come through the same providers.
	cfg := &config.Config{Slack: config.Slack{BotToken: `${{ secret("checkout-api") }}`}}
	if err := cfg.ResolveSecrets(ctx, store); err != nil || cfg.Slack.BotToken != "kube-held-s3cret" {
		t.Errorf("slack.botToken from a Kubernetes Secret: %q, %v", cfg.Slack.BotToken, err)
	}
}

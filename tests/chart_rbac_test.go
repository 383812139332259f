package tests

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
	kubeactions "github.com/firebreak-ops/firebreak/activities/kubernetes"
	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/chaos"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	"github.com/firebreak-ops/firebreak/runbooks"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// quotaRunbook asks for what the chart's role does not grant: a
// ResourceQuota patch. Its step must fail with Forbidden, which shows the
// check below sees a Forbidden when there is one.
const quotaRunbook = `apiVersion: firebreak/v1
kind: Runbook
metadata: {name: raise-quota}
spec:
  params:
    - {name: namespace, type: string, required: true}
  steps:
    - name: raise
      action: kubernetes.patch
      with:
        apiVersion: v1
        kind: ResourceQuota
        namespace: ${{ params.namespace }}
        name: compute
        patch: {spec: {hard: {pods: "50"}}}
`

// forbidden reports whether a run's or experiment's recorded state holds
// an authorization failure of the service account.
func forbidden(state any, user string) bool {
	b, _ := json.Marshal(state)
	s := strings.ToLower(string(b))
	return strings.Contains(s, "forbidden") || strings.Contains(s, strings.ToLower(user))
}

// impersonating writes a copy of the control plane's kubeconfig whose
// user acts as user (kubeconfig's "as"): every client built from it is
// authorized as that user, RBAC on.
func impersonating(t *testing.T, kube *testenv.KubeEnv, user string) (string, *rest.Config) {
	t.Helper()
	kc, err := clientcmd.LoadFromFile(kube.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, ai := range kc.AuthInfos {
		ai.Impersonate = user
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		t.Fatal(err)
	}
	cfg := rest.CopyConfig(kube.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	return p, cfg
}

// shippedExperiments loads experiments/catalog as shipped, but acting in
// namespace ns instead of prod, with durations and intervals in seconds
// instead of minutes, short inject and recovery timeouts, and without the
// weekend freeze precondition (it would make the outcome depend on the
// day the test runs). What they ask of Kubernetes is unchanged.
func shippedExperiments(t *testing.T, ns string) *experiments.Catalog {
	t.Helper()
	files, err := filepath.Glob("../experiments/catalog/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped experiments: %v", err)
	}
	cat := experiments.NewCatalog()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := regexp.MustCompile(`\bprod\b`).ReplaceAllString(string(b), ns)
		s = regexp.MustCompile(`(?m)^  duration: \S+$`).ReplaceAllString(s, "  duration: 6s")
		s = regexp.MustCompile(`(?m)^  interval: \S+$`).ReplaceAllString(s, "  interval: 1s\n  injectTimeout: 20s\n  recoveryTimeout: 20s")
		s = strings.ReplaceAll(s, "    - \"!context.inFreeze\"\n", "")
		if err := cat.LoadFile(filepath.Base(f), []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if err := cat.Check(); err != nil {
		t.Fatal(err)
	}
	return cat
}

// cartMetrics serves what network-latency-cart's precondition and probe
// query: an error budget, and cart's requests, none of them failing.
func cartMetrics(t *testing.T) string {
	reg := prometheus.NewRegistry()
	budget := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "slo:error_budget_remaining:ratio", Help: "error budget left"}, []string{"service"})
	budget.WithLabelValues("cart").Set(0.9)
	start := time.Now()
	reg.MustRegister(budget,
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "http_requests_total", Help: "requests",
			ConstLabels: prometheus.Labels{"app": "cart", "code": "200"}}, func() float64 { return 10 * time.Since(start).Seconds() }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "http_requests_total", Help: "requests",
			ConstLabels: prometheus.Labels{"app": "cart", "code": "500"}}, func() float64 { return 0 }))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestChartRunsAsServiceAccount creates the chart's ServiceAccount and
// roles on the shared control plane (RBAC on, Chaos Mesh's real
// controller), runs a Firebreak worker whose Kubernetes clients
// impersonate that service account, and runs every shipped runbook,
// experiment and game day, and the orphan sweep, through it: none may
// meet a Forbidden. Outcomes vary (targets and alerts are synthetic);
// what is checked is that no step, phase or probe was refused. What the
// role does not grant (a Secret deleted, a ResourceQuota changed) is
// Forbidden, through Firebreak and directly.
func TestChartRunsAsServiceAccount(t *testing.T) {
	// Long and mostly waiting: it overlaps the package's other slow tests.
	t.Parallel()
	kube, _ := cluster.ChaosMesh(t)
	const release, ns, prod = "fbsa", "chart-sa", "chart-sa-prod"
	user := "system:serviceaccount:" + ns + ":" + release
	ctx := context.Background()
	kube.Namespace(t, ns)
	kube.Deployment(t, prod, "checkout", 2)
	kube.Deployment(t, prod, "cart", 3)
	// Faults that need a chaos-daemon (NetworkChaos) are never injected
	// here, and Chaos Mesh's finalizer keeps them after their delete:
	// release them so the shared control plane is left clean.
	t.Cleanup(func() { releaseChaos(t, kube, prod) })

	// The chart's service account and roles, created for real.
	_, objs := renderChart(t, release, ns, map[string]any{})
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range objs {
		var ri dynamic.ResourceInterface
		switch obj.GetKind() {
		case "ServiceAccount":
			ri = dyn.Resource(corev1.SchemeGroupVersion.WithResource("serviceaccounts")).Namespace(ns)
		case "ClusterRole", "ClusterRoleBinding":
			gvr := obj.GroupVersionKind().GroupVersion().WithResource(strings.ToLower(obj.GetKind()) + "s")
			ri = dyn.Resource(gvr)
			t.Cleanup(func() { _ = ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}) })
		case "Role", "RoleBinding":
			t.Fatalf("chart rendered a %s with no secrets.kubernetes.names", obj.GetKind())
		default:
			continue
		}
		if _, err := ri.Create(ctx, obj, metav1.CreateOptions{}); err != nil {
			t.Fatalf("%s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
	kubeconfig, saConfig := impersonating(t, kube, user)
	sa, err := kubernetes.NewForConfig(saConfig)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC is cached by the authorizer: wait until the role applies.
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := sa.AppsV1().Deployments(prod).Get(ctx, "checkout", metav1.GetOptions{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the chart's service account cannot read a Deployment: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A node of this test's own, so cordoning it disturbs no other test.
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "chart-sa-node"}}
	if _, err := kube.Clientset.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kube.Clientset.CoreV1().Nodes().Delete(ctx, node.Name, metav1.DeleteOptions{}) })

	metricsURL := cartMetrics(t)
	promURL := testenv.Prometheus(t, strings.TrimPrefix(metricsURL, "http://"))
	books, err := runbooks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	shipped := books.List()
	extra := filepath.Join(t.TempDir(), "raise-quota.yaml")
	if err := os.WriteFile(extra, []byte(quotaRunbook), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := books.LoadPath(extra); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	cfg.Kubernetes.Kubeconfig = kubeconfig
	cfg.Prometheus.URL = promURL
	cfg.Egress.Allow = []string{"127.0.0.1"}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: cfg, Catalog: books, Experiments: shippedExperiments(t, prod)})
	a := &api{t: t, base: fb.URL}

	t.Run("every shipped runbook", func(t *testing.T) {
		// How each shipped runbook is run; a new one must be added here.
		type runPlan struct {
			params  map[string]any
			approve string // the approval step to approve when asked
			// until: the run is cancelled once this step succeeded (the
			// runbook would wait for alerts to resolve).
			until string
		}
		plans := map[string]runPlan{
			"hello-world":          {params: fmtParams("name", "chart", "times", 2)},
			"cordon-node":          {params: fmtParams("node", node.Name), approve: "approve"},
			"disk-pressure":        {params: fmtParams("node", node.Name), until: "report"},
			"restart-deployment":   {params: fmtParams("namespace", prod, "deployment", "checkout")},
			"scale-on-saturation":  {params: fmtParams("namespace", prod, "deployment", "checkout", "max_replicas", 4)},
			"service-health-check": {params: fmtParams("url", metricsURL+"/metrics", "job", "cart")},
		}
		for _, rb := range shipped {
			name := rb.Name()
			t.Run(name, func(t *testing.T) {
				p, ok := plans[name]
				if !ok {
					t.Fatalf("shipped runbook %s has no plan in this test: add one", name)
				}
				ref := a.start(runs.StartRequest{Runbook: name, Params: p.params})
				st := a.waitForLong(ref.ID, 90*time.Second, func(s *runwire.RunState) bool {
					return s.Done() || s.Status == runwire.StatusWaitingApproval || (p.until != "" && step(s, p.until).Status == runwire.StepSucceeded)
				})
				switch {
				case st.Status == runwire.StatusWaitingApproval && p.approve != "":
					if code := a.do("POST", runURL(ref.ID)+"/approvals", map[string]any{"step": p.approve, "approve": true, "by": "oncall"}, nil); code != http.StatusOK {
						t.Fatalf("approve: HTTP %d", code)
					}
				case !st.Done() && p.until != "":
					if code := a.do("POST", runURL(ref.ID)+"/cancel", nil, nil); code != http.StatusAccepted {
						t.Fatalf("cancel: HTTP %d", code)
					}
				}
				st = a.waitForLong(ref.ID, 90*time.Second, func(s *runwire.RunState) bool { return s.Done() })
				if forbidden(st, user) {
					t.Errorf("run %s met a Forbidden: %+v", st.Status, st)
				}
				var acted []string
				for _, s := range append(st.Steps, st.Rollback...) {
					acted = append(acted, s.Name+"="+s.Status)
				}
				t.Logf("%s: %s (%s)", name, st.Status, strings.Join(acted, " "))
			})
		}
		n, err := kube.Clientset.CoreV1().Nodes().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil || !n.Spec.Unschedulable {
			t.Errorf("cordon-node did not cordon %s as the service account: %v", node.Name, err)
		}
	})

	t.Run("every shipped experiment", func(t *testing.T) {
		var list []plan.Summary
		a.do("GET", "/v1/experiments", nil, &list)
		if len(list) < 2 {
			t.Fatalf("experiments %v", list)
		}
		for _, e := range list {
			t.Run(e.Name, func(t *testing.T) {
				var ref chaos.ExperimentRef
				if code := a.do("POST", "/v1/experiments/runs", chaos.ExperimentRequest{Experiment: e.Name}, &ref); code != http.StatusCreated {
					t.Fatalf("start: HTTP %d", code)
				}
				st := waitExperiment(t, a, ref.ID, 120*time.Second)
				if forbidden(st, user) {
					t.Errorf("experiment met a Forbidden: %+v", st)
				}
				var phases []string
				for _, ph := range st.Phases {
					phases = append(phases, ph.Name+"="+ph.Status)
				}
				t.Logf("%s: verdict %s (%s), phases %s", e.Name, st.Verdict, st.Reason, strings.Join(phases, " "))
				// Chaos Mesh's controller injects PodChaos without a
				// chaos-daemon: that fault must have been on.
				if e.Name == "pod-kill-checkout" && st.InjectedAt == nil {
					t.Errorf("pod-kill-checkout was never injected: %+v", st.Phases)
				}
			})
		}
	})

	t.Run("every shipped game day", func(t *testing.T) {
		var days []chaos.GameDaySummary
		a.do("GET", "/v1/gamedays", nil, &days)
		if len(days) == 0 {
			t.Fatal("no game days")
		}
		for _, day := range days {
			var got chaos.GameDaySummary
			if code := a.do("POST", "/v1/gamedays/"+url.PathEscape(day.Name)+"/trigger", nil, &got); code != http.StatusOK {
				t.Fatalf("trigger %s: HTTP %d", day.Name, code)
			}
			deadline := time.Now().Add(20 * time.Second)
			for len(got.Recent) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("%s: the schedule started nothing", day.Name)
				}
				time.Sleep(200 * time.Millisecond)
				var all []chaos.GameDaySummary
				a.do("GET", "/v1/gamedays", nil, &all)
				for _, d := range all {
					if d.Name == day.Name {
						got = d
					}
				}
			}
			id := got.Recent[0].WorkflowID
			var st chaoswire.GameDayState
			deadline = time.Now().Add(240 * time.Second)
			for st.Status != chaoswire.ExperimentCompleted {
				if time.Now().After(deadline) {
					t.Fatalf("game day %s not done: %+v", id, st)
				}
				time.Sleep(500 * time.Millisecond)
				a.do("GET", "/v1/gamedays/runs/"+url.PathEscape(id), nil, &st)
			}
			if forbidden(st, user) {
				t.Errorf("game day %s met a Forbidden: %+v", day.Name, st)
			}
			for _, r := range st.Results {
				t.Logf("%s: %s %s", day.Name, r.Experiment, r.Verdict)
			}
		}
	})

	t.Run("orphan sweep", func(t *testing.T) {
		orphan := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "PodChaos",
			"metadata": map[string]any{
				"name": "orphan", "namespace": prod,
				"labels":      map[string]any{names.LabelManagedBy: names.LabelManagedByValue},
				"annotations": map[string]any{names.AnnotationRunID: "experiment:orphan@chart-sa"},
			},
			"spec": map[string]any{"action": "pod-kill", "mode": "one",
				"selector": map[string]any{"namespaces": []any{prod}, "labelSelectors": map[string]any{"app": "nothing-here"}}},
		}}
		if _, err := dyn.Resource(podChaosGVR).Namespace(prod).Create(ctx, orphan, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Only this test's orphan counts as closed: the sweep lists every
		// namespace, and must leave other tests' resources alone.
		isOpen := func(_ context.Context, id string) (bool, error) { return id != "experiment:orphan@chart-sa", nil }
		removed, err := chaosmesh.New(kubeactions.Config{Kubeconfig: kubeconfig}).Sweep(ctx, isOpen)
		if err != nil {
			t.Fatalf("sweep as the chart's service account: %v", err)
		}
		if len(removed) != 1 || removed[0] != (actions.ChaosObject{Kind: "PodChaos", Namespace: prod, Name: "orphan"}) {
			t.Errorf("swept %v, want the orphan", removed)
		}
	})

	t.Run("outside the role is Forbidden", func(t *testing.T) {
		quota := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "compute"},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("20")}}}
		if _, err := kube.Clientset.CoreV1().ResourceQuotas(prod).Create(ctx, quota, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "payments-db"}, StringData: map[string]string{"password": "x"}}
		if _, err := kube.Clientset.CoreV1().Secrets(ns).Create(ctx, secret, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// Through Firebreak: the step fails, and the check above sees why.
		ref := a.start(runs.StartRequest{Runbook: "raise-quota", Params: fmtParams("namespace", prod)})
		st := a.waitForLong(ref.ID, 60*time.Second, func(s *runwire.RunState) bool { return s.Done() })
		if st.Status != runwire.StatusFailed || !forbidden(st, user) {
			t.Errorf("raise-quota as the chart's service account: %s, step %+v; want failed with Forbidden", st.Status, step(st, "raise"))
		}
		// Directly, as the service account.
		_, err := sa.CoreV1().ResourceQuotas(prod).Update(ctx, quota, metav1.UpdateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("update ResourceQuota: %v, want Forbidden", err)
		}
		_, err = sa.CoreV1().ResourceQuotas(prod).Patch(ctx, "compute", "application/merge-patch+json", []byte(`{"spec":{"hard":{"pods":"50"}}}`), metav1.PatchOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("patch ResourceQuota: %v, want Forbidden", err)
		}
		if err := sa.CoreV1().Secrets(ns).Delete(ctx, "payments-db", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("delete Secret: %v, want Forbidden", err)
		}
		if _, err := sa.CoreV1().Secrets(ns).Get(ctx, "payments-db", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("get Secret: %v, want Forbidden", err)
		}
	})
}

// releaseChaos removes the finalizers of the Chaos Mesh resources left in
// namespace ns, so their pending deletes complete.
func releaseChaos(t *testing.T, kube *testenv.KubeEnv, ns string) {
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Error(err)
		return
	}
	ctx := context.Background()
	for _, kind := range chaosmesh.Kinds() {
		gvr := podChaosGVR
		gvr.Resource = strings.ToLower(kind)
		list, err := dyn.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for _, it := range list.Items {
			if len(it.GetFinalizers()) > 0 {
				_, _ = dyn.Resource(gvr).Namespace(ns).Patch(ctx, it.GetName(), "application/merge-patch+json", []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
			}
		}
	}
}

// waitExperiment polls an experiment run until it completes.
func waitExperiment(t *testing.T, a *api, id string, d time.Duration) *chaoswire.ExperimentState {
	t.Helper()
	deadline := time.Now().Add(d)
	var st chaoswire.ExperimentState
	for {
		st = chaoswire.ExperimentState{}
		code := a.do("GET", "/v1/experiments/runs/"+url.PathEscape(id), nil, &st)
		if code == http.StatusOK && st.Status == chaoswire.ExperimentCompleted {
			return &st
		}
		if time.Now().After(deadline) {
			t.Fatalf("experiment %s not complete within %s: HTTP %d %+v", id, d, code, st)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

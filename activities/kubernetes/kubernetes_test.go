package kubernetes_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/kubernetes"
	"github.com/firebreak-ops/firebreak/internal/testenv"
)

// One control plane for the whole package, started by the first test that
// needs it and stopped by TestMain.
var (
	kubeOnce sync.Once
	kube     *testenv.KubeEnv
	kubeErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if kube != nil {
		if code != 0 {
			fmt.Fprintln(os.Stderr, kube.Logs())
		}
		kube.Stop()
	}
	os.Exit(code)
}

// cluster returns the package's control plane and activities using it.
func cluster(t *testing.T) (*testenv.KubeEnv, *kubernetes.Activities) {
	t.Helper()
	kubeOnce.Do(func() {
		start := time.Now()
		kube, kubeErr = testenv.StartKube()
		if kubeErr == nil {
			t.Logf("control plane ready in %s", time.Since(start).Round(100*time.Millisecond))
		}
	})
	if kubeErr != nil {
		t.Fatal(kubeErr)
	}
	return kube, kubernetes.New(kubernetes.Config{Kubeconfig: kube.Kubeconfig})
}

func call(t *testing.T, a *kubernetes.Activities, action string, req actions.Request) (map[string]any, error) {
	t.Helper()
	h, ok := a.Handlers()[action]
	if !ok {
		t.Fatalf("no handler for %s", action)
	}
	out, err := h(context.Background(), req)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

// mustCall calls an action that must succeed, with fields its spec lists.
func mustCall(t *testing.T, a *kubernetes.Activities, action string, req actions.Request) map[string]any {
	t.Helper()
	spec, ok := actions.Lookup(action)
	if !ok {
		t.Fatalf("no spec for %s", action)
	}
	for k := range req.With {
		if _, ok := spec.Fields[k]; !ok {
			t.Fatalf("%s: with.%s is not in the spec", action, k)
		}
	}
	out, err := call(t, a, action, req)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return out
}

func wantErr(t *testing.T, err error, want string, permanent bool) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v, want %q", err, want)
	}
	if actions.IsPermanent(err) != permanent {
		t.Fatalf("%v: permanent=%v, want %v", err, actions.IsPermanent(err), permanent)
	}
}

func with(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestSpecs(t *testing.T) {
	a := kubernetes.New(kubernetes.Config{})
	handlers := a.Handlers()
	for _, name := range []string{
		actions.KubernetesRolloutRestart, actions.KubernetesScale, actions.KubernetesDeletePod, actions.KubernetesCordon,
		actions.KubernetesUncordon, actions.KubernetesWaitRollout, actions.KubernetesGet, actions.KubernetesPatch,
	} {
		s, ok := actions.Lookup(name)
		if !ok || handlers[name] == nil {
			t.Fatalf("%s: spec %v handler %v", name, ok, handlers[name] != nil)
		}
		if !s.DryRun || s.Fields["context"].Kind != actions.KindString {
			t.Errorf("%s: every Kubernetes action dry-runs and takes a context: %+v", name, s)
		}
		readOnly := name == actions.KubernetesGet || name == actions.KubernetesWaitRollout
		if s.Mutating == readOnly {
			t.Errorf("%s: mutating=%v", name, s.Mutating)
		}
	}
	if len(handlers) != 8 {
		t.Errorf("%d handlers", len(handlers))
	}
}

// TestWithoutCluster: bad input fails before any kubeconfig is read, and a
// missing kubeconfig is a permanent error at call time, not at New.
func TestWithoutCluster(t *testing.T) {
	dir := t.TempDir()
	a := kubernetes.New(kubernetes.Config{Kubeconfig: filepath.Join(dir, "missing")})
	for _, tc := range []struct {
		name, action string
		with         map[string]any
		wantErr      string
	}{
		{"restart bad kind", actions.KubernetesRolloutRestart, with("kind", "pod", "name", "x"), `kind "pod" is not one of deployment, statefulset, daemonset`},
		{"restart no name", actions.KubernetesRolloutRestart, with("kind", "deployment"), "with.name is required"},
		{"unknown field", actions.KubernetesRolloutRestart, with("name", "x", "replicas", 1), `unknown field "replicas"`},
		{"scale daemonset", actions.KubernetesScale, with("kind", "ds", "name", "x", "replicas", 1), "is not one of deployment, statefulset"},
		{"scale negative", actions.KubernetesScale, with("name", "x", "replicas", -1), "replicas -1 is negative"},
		{"scale min above max", actions.KubernetesScale, with("name", "x", "replicas", 1, "min", 3, "max", 2), "max 2 is below min 3"},
		{"scale not a number", actions.KubernetesScale, with("name", "x", "replicas", "many"), "is not a whole number"},
		{"scale no replicas", actions.KubernetesScale, with("name", "x"), "with.replicas is required"},
		{"delete both", actions.KubernetesDeletePod, with("name", "x", "labelSelector", "app=x"), "exactly one of"},
		{"delete neither", actions.KubernetesDeletePod, with(), "exactly one of"},
		{"delete bad selector", actions.KubernetesDeletePod, with("labelSelector", "app in (x"), "labelSelector"},
		{"delete maxPods 0", actions.KubernetesDeletePod, with("labelSelector", "app=x", "maxPods", 0), "maxPods 0 must be at least 1"},
		{"cordon no node", actions.KubernetesCordon, with(), "with.node is required"},
		{"wait bad timeout", actions.KubernetesWaitRollout, with("name", "x", "timeout", "soon"), "is not a duration"},
		{"patch bad type", actions.KubernetesPatch, with("apiVersion", "v1", "kind", "Node", "name", "n", "patch", with(), "type", "apply"), `type "apply"`},
		{"patch list for merge", actions.KubernetesPatch, with("apiVersion", "v1", "kind", "Node", "name", "n", "patch", []any{}, "type", "merge"), "only type json takes a list"},
		{"patch map for json", actions.KubernetesPatch, with("apiVersion", "v1", "kind", "Node", "name", "n", "patch", with("a", 1), "type", "json"), "must be a list of operations"},
		{"patch bad text", actions.KubernetesPatch, with("apiVersion", "v1", "kind", "Node", "name", "n", "patch", "{a: [", "type", "merge"), "neither JSON nor YAML"},
		{"missing kubeconfig", actions.KubernetesGet, with("apiVersion", "v1", "kind", "Node", "name", "n"), "kubernetes: kubeconfig " + filepath.Join(dir, "missing")},
		{"missing kubeconfig, mutating", actions.KubernetesCordon, with("node", "n"), "kubernetes: kubeconfig " + filepath.Join(dir, "missing")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, a, tc.action, actions.Request{With: tc.with})
			wantErr(t, err, tc.wantErr, true)
		})
	}
}

// TestNoConfiguration: with no kubeconfig anywhere and outside a cluster,
// actions fail permanently and say what to do.
func TestNoConfiguration(t *testing.T) {
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "none"))
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	a := kubernetes.New(kubernetes.Config{})
	_, err := call(t, a, actions.KubernetesRolloutRestart, actions.Request{With: with("name", "web")})
	wantErr(t, err, "kubernetes: no configuration: set KUBECONFIG, create ~/.kube/config, or run in a cluster", true)
}

func TestRolloutRestart(t *testing.T) {
	k, a := cluster(t)
	ctx := context.Background()
	ns := uniq("restart")
	before := k.Deployment(t, ns, "web", 2)

	req := actions.Request{RunID: "run-1", Step: "restart", With: with("kind", "Deployment", "namespace", ns, "name", "web")}
	out := mustCall(t, a, actions.KubernetesRolloutRestart, req)
	if out["alreadyDone"] != false || out["restartId"] != "run-1/restart" || out["dryRun"] != false ||
		out["generation"].(int64) != before.Generation+1 || out["kind"] != "deployment" {
		t.Fatalf("first restart: %v", out)
	}
	if _, err := time.Parse(time.RFC3339, out["restartedAt"].(string)); err != nil {
		t.Fatalf("restartedAt: %v", err)
	}
	// A retried attempt of the same step finds its restart-id: no second restart.
	again := mustCall(t, a, actions.KubernetesRolloutRestart, req)
	if again["alreadyDone"] != true || again["restartedAt"] != out["restartedAt"] || again["generation"] != out["generation"] {
		t.Fatalf("retried restart: %v (first %v)", again, out)
	}

	// wait-rollout, in a Temporal activity environment to see its heartbeats.
	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivityWithOptions(a.WaitRollout, activity.RegisterOptions{Name: actions.KubernetesWaitRollout})
	beats := 0
	aenv.SetOnActivityHeartbeatListener(func(*activity.Info, converter.EncodedValues) { beats++ })
	val, err := aenv.ExecuteActivity(actions.KubernetesWaitRollout, actions.Request{With: with("namespace", ns, "name", "web", "timeout", "60s")})
	if err != nil {
		t.Fatal(err)
	}
	var waited map[string]any
	if err := val.Get(&waited); err != nil {
		t.Fatal(err)
	}
	if waited["complete"] != true || waited["desired"] != 2.0 || waited["updated"] != 2.0 || waited["available"] != 2.0 || waited["ready"] != 2.0 || beats == 0 {
		t.Fatalf("wait-rollout: %v after %d heartbeats", waited, beats)
	}

	// Exactly one new ReplicaSet, carrying the restart-id, owns every pod.
	rss, err := k.Clientset.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rss.Items) != 2 {
		t.Fatalf("%d ReplicaSets, want the old one and one new one", len(rss.Items))
	}
	var newRS *appsv1.ReplicaSet
	for i, rs := range rss.Items {
		if rs.Spec.Template.Annotations[kubernetes.RestartIDAnnotation] == "run-1/restart" {
			newRS = &rss.Items[i]
		} else if rs.Status.Replicas != 0 {
			t.Fatalf("old ReplicaSet %s still has %d replicas", rs.Name, rs.Status.Replicas)
		}
	}
	if newRS == nil || newRS.Status.AvailableReplicas != 2 {
		t.Fatalf("new ReplicaSet: %+v", newRS)
	}
	pods, err := k.Clientset.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, p := range pods.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		live++
		if p.OwnerReferences[0].Name != newRS.Name || !podReady(&p) {
			t.Fatalf("pod %s: owner %s ready %v", p.Name, p.OwnerReferences[0].Name, podReady(&p))
		}
	}
	if live != 2 {
		t.Fatalf("%d live pods", live)
	}

	// A later step restarts again.
	next := mustCall(t, a, actions.KubernetesRolloutRestart, actions.Request{RunID: "run-1", Step: "restart-again", With: req.With})
	if next["alreadyDone"] != false || next["generation"].(int64) != out["generation"].(int64)+1 {
		t.Fatalf("next restart: %v", next)
	}
}

func TestRolloutRestartDryRun(t *testing.T) {
	k, a := cluster(t)
	ctx := context.Background()
	ns := uniq("dryrun")
	before := k.Deployment(t, ns, "web", 1)
	out := mustCall(t, a, actions.KubernetesRolloutRestart, actions.Request{RunID: "run-2", Step: "s", DryRun: true,
		With: with("namespace", ns, "name", "web")})
	if out["dryRun"] != true || out["alreadyDone"] != false || out["restartedAt"] == "" || out["previousGeneration"] != before.Generation {
		t.Fatalf("dry run: %v", out)
	}
	after, err := k.Clientset.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after.Generation != before.Generation || after.Spec.Template.Annotations[kubernetes.RestartedAtAnnotation] != "" {
		t.Fatalf("dry run changed the deployment: generation %d → %d, annotations %v", before.Generation, after.Generation, after.Spec.Template.Annotations)
	}
}

func TestStatefulSetRestart(t *testing.T) {
	k, a := cluster(t)
	ctx := context.Background()
	ns := uniq("sts")
	k.Namespace(t, ns)
	labels := map[string]string{"app": "db"}
	one := int32(1)
	var zero int64
	_, err := k.Clientset.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db"},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &one, ServiceName: "db",
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{NodeName: k.NodeName, TerminationGracePeriodSeconds: &zero,
					Containers: []corev1.Container{{Name: "db", Image: "fake"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target := with("kind", "statefulset", "namespace", ns, "name", "db")
	wait := with("timeout", "60s")
	for k, v := range target {
		wait[k] = v
	}
	if out := mustCall(t, a, actions.KubernetesWaitRollout, actions.Request{With: wait}); out["available"] != int64(1) {
		t.Fatalf("initial rollout: %v", out)
	}
	before, err := k.Clientset.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := mustCall(t, a, actions.KubernetesRolloutRestart, actions.Request{RunID: "r", Step: "s", With: target})
	if out["kind"] != "statefulset" || out["alreadyDone"] != false {
		t.Fatalf("restart: %v", out)
	}
	done := mustCall(t, a, actions.KubernetesWaitRollout, actions.Request{With: wait})
	after, err := k.Clientset.AppsV1().StatefulSets(ns).Get(ctx, "db", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if done["complete"] != true || done["updated"] != int64(1) || after.Status.UpdateRevision == before.Status.UpdateRevision ||
		after.Status.CurrentRevision != after.Status.UpdateRevision {
		t.Fatalf("restart rollout: %v; revisions %s → current %s, update %s", done, before.Status.UpdateRevision, after.Status.CurrentRevision, after.Status.UpdateRevision)
	}
}

func TestScale(t *testing.T) {
	k, a := cluster(t)
	ctx := context.Background()
	ns := uniq("scale")
	k.Deployment(t, ns, "web", 1)
	for _, tc := range []struct {
		name       string
		with       map[string]any
		dryRun     bool
		want       int64 // replicas in the output
		clamped    string
		changed    bool
		wantStored int32
	}{
		{name: "up", with: with("replicas", 3), want: 3, changed: true, wantStored: 3},
		{name: "same", with: with("replicas", 3), want: 3, wantStored: 3},
		{name: "clamped to max", with: with("replicas", 50, "min", 1, "max", 4), want: 4, clamped: "requested 50, lowered to max 4", changed: true, wantStored: 4},
		{name: "clamped to min", with: with("replicas", 0, "min", 2), want: 2, clamped: "requested 0, raised to min 2", changed: true, wantStored: 2},
		{name: "text number", with: with("replicas", "1"), want: 1, changed: true, wantStored: 1},
		{name: "dry run", with: with("replicas", 5), dryRun: true, want: 5, changed: true, wantStored: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := with("kind", "deployment", "namespace", ns, "name", "web")
			for k, v := range tc.with {
				w[k] = v
			}
			out := mustCall(t, a, actions.KubernetesScale, actions.Request{With: w, DryRun: tc.dryRun})
			if out["replicas"] != tc.want || out["clamped"] != (tc.clamped != "") || out["changed"] != tc.changed || out["dryRun"] != tc.dryRun {
				t.Fatalf("out %v", out)
			}
			if tc.clamped != "" && out["reason"] != tc.clamped {
				t.Fatalf("reason %q, want %q", out["reason"], tc.clamped)
			}
			d, err := k.Clientset.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if *d.Spec.Replicas != tc.wantStored {
				t.Fatalf("stored replicas %d, want %d", *d.Spec.Replicas, tc.wantStored)
			}
		})
	}
}

func TestDeletePod(t *testing.T) {
	k, a := cluster(t)
	ctx := context.Background()
	ns := uniq("pods")
	k.Deployment(t, ns, "web", 3)
	pods := livePods(t, k, ns, "app=web")
	victim := pods[0].Name

	out := mustCall(t, a, actions.KubernetesDeletePod, actions.Request{With: with("namespace", ns, "name", victim, "gracePeriodSeconds", 0)})
	if fmt.Sprint(out["deleted"]) != "["+victim+"]" || out["count"] != int64(1) || out["gracePeriodSeconds"] != int64(0) {
		t.Fatalf("delete by name: %v", out)
	}
	waitFor(t, "the pod to be gone", func() bool {
		_, err := k.Clientset.CoreV1().Pods(ns).Get(ctx, victim, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	_, err := call(t, a, actions.KubernetesDeletePod, actions.Request{With: with("namespace", ns, "name", victim)})
	wantErr(t, err, "pod "+ns+"/"+victim+" not found", true)

	// The deployment replaces the pod; a selector matching all 3 is refused.
	waitFor(t, "3 live pods", func() bool { return len(livePods(t, k, ns, "app=web")) == 3 })
	_, err = call(t, a, actions.KubernetesDeletePod, actions.Request{With: with("namespace", ns, "labelSelector", "app=web")})
	wantErr(t, err, "labelSelector app=web matches 3 pods in "+ns+", more than maxPods 1: refusing", true)

	// Allowed with maxPods, in a dry run: reported, nothing deleted.
	out = mustCall(t, a, actions.KubernetesDeletePod, actions.Request{DryRun: true, With: with("namespace", ns, "labelSelector", "app=web", "maxPods", 3)})
	if out["count"] != int64(3) || out["matched"] != int64(3) || out["dryRun"] != true {
		t.Fatalf("dry-run delete: %v", out)
	}
	if n := len(livePods(t, k, ns, "app=web")); n != 3 {
		t.Fatalf("dry run deleted pods: %d left", n)
	}
	out = mustCall(t, a, actions.KubernetesDeletePod, actions.Request{With: with("namespace", ns, "labelSelector", "app=nothing")})
	if out["count"] != int64(0) || out["matched"] != int64(0) {
		t.Fatalf("no match: %v", out)
	}

	// As an activity: a selector picks one pod; a retried attempt (with the
	// first attempt's heartbeat details) deletes that pod, not its
	// replacement.
	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivityWithOptions(a.DeletePod, activity.RegisterOptions{Name: actions.KubernetesDeletePod})
	var recorded []map[string]any
	aenv.SetOnActivityHeartbeatListener(func(_ *activity.Info, d converter.EncodedValues) { _ = d.Get(&recorded) })
	k.Deployment(t, ns, "single", 1)
	first := livePods(t, k, ns, "app=single")[0]
	req := actions.Request{RunID: "r", Step: "s", With: with("namespace", ns, "labelSelector", "app=single")}
	if _, err := aenv.ExecuteActivity(actions.KubernetesDeletePod, req); err != nil {
		t.Fatal(err)
	}
	if len(recorded) != 1 || recorded[0]["name"] != first.Name {
		t.Fatalf("heartbeat details %v, want pod %s", recorded, first.Name)
	}
	waitFor(t, "a replacement pod", func() bool {
		p := livePods(t, k, ns, "app=single")
		return len(p) == 1 && p[0].Name != first.Name
	})
	replacement := livePods(t, k, ns, "app=single")[0]
	retry := env.NewTestActivityEnvironment()
	retry.RegisterActivityWithOptions(a.DeletePod, activity.RegisterOptions{Name: actions.KubernetesDeletePod})
	retry.SetHeartbeatDetails(recorded)
	val, err := retry.ExecuteActivity(actions.KubernetesDeletePod, req)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	_ = val.Get(&res)
	if res["count"] != 0.0 || fmt.Sprint(res["alreadyGone"]) != "["+first.Name+"]" {
		t.Fatalf("retried delete: %v", res)
	}
	if p, err := k.Clientset.CoreV1().Pods(ns).Get(ctx, replacement.Name, metav1.GetOptions{}); err != nil || p.DeletionTimestamp != nil {
		t.Fatalf("the retry deleted the replacement pod: %v", err)
	}
}

func TestCordon(t *testing.T) {
	k, a := cluster(t)
	ctx := context.Background()
	node := func() bool {
		n, err := k.Clientset.CoreV1().Nodes().Get(ctx, k.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return n.Spec.Unschedulable
	}
	for _, tc := range []struct {
		name      string
		action    string
		dryRun    bool
		changed   bool
		wantAfter bool
	}{
		{"cordon dry run", actions.KubernetesCordon, true, true, false},
		{"cordon", actions.KubernetesCordon, false, true, true},
		{"cordon again", actions.KubernetesCordon, false, false, true},
		{"uncordon dry run", actions.KubernetesUncordon, true, true, true},
		{"uncordon", actions.KubernetesUncordon, false, true, false},
		{"uncordon again", actions.KubernetesUncordon, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := mustCall(t, a, tc.action, actions.Request{DryRun: tc.dryRun, With: with("node", k.NodeName)})
			if out["node"] != k.NodeName || out["changed"] != tc.changed || out["dryRun"] != tc.dryRun ||
				out["unschedulable"] != (tc.action == actions.KubernetesCordon) {
				t.Fatalf("out %v", out)
			}
			if got := node(); got != tc.wantAfter {
				t.Fatalf("unschedulable %v, want %v", got, tc.wantAfter)
			}
		})
	}
	_, err := call(t, a, actions.KubernetesCordon, actions.Request{With: with("node", "no-such-node")})
	wantErr(t, err, "node no-such-node not found", true)
}

func TestGet(t *testing.T) {
	k, a := cluster(t)
	ns := uniq("get")
	k.Deployment(t, ns, "web", 1)
	for _, tc := range []struct {
		name      string
		with      map[string]any
		wantErr   string
		permanent bool
		check     func(t *testing.T, obj map[string]any)
	}{
		{name: "deployment", with: with("apiVersion", "apps/v1", "kind", "Deployment", "namespace", ns, "name", "web"), check: func(t *testing.T, obj map[string]any) {
			md := obj["metadata"].(map[string]any)
			if obj["kind"] != "Deployment" || md["name"] != "web" || md["namespace"] != ns || obj["spec"].(map[string]any)["replicas"] != int64(1) {
				t.Fatalf("object %v", obj)
			}
			if _, ok := md["managedFields"]; ok {
				t.Fatal("managedFields kept")
			}
			if obj["status"].(map[string]any)["availableReplicas"] != int64(1) {
				t.Fatalf("status %v", obj["status"])
			}
		}},
		{name: "lower-case kind and short name", with: with("apiVersion", "apps/v1", "kind", "deploy", "namespace", ns, "name", "web"), check: func(t *testing.T, obj map[string]any) {
			if obj["kind"] != "Deployment" {
				t.Fatalf("object %v", obj["kind"])
			}
		}},
		{name: "node (cluster-scoped; namespace ignored)", with: with("apiVersion", "v1", "kind", "Node", "namespace", ns, "name", k.NodeName), check: func(t *testing.T, obj map[string]any) {
			md := obj["metadata"].(map[string]any)
			if obj["kind"] != "Node" || md["name"] != k.NodeName || md["annotations"].(map[string]any)[testenv.KubeNodeAnnotation] != "fake" {
				t.Fatalf("object %v", obj)
			}
		}},
		{name: "default namespace from the context", with: with("apiVersion", "v1", "kind", "ServiceAccount", "name", "default"), check: func(t *testing.T, obj map[string]any) {
			if obj["metadata"].(map[string]any)["namespace"] != "default" {
				t.Fatalf("object %v", obj)
			}
		}},
		{name: "explicit context", with: with("context", testenv.KubeContext, "apiVersion", "v1", "kind", "Namespace", "name", ns)},
		{name: "missing deployment", with: with("apiVersion", "apps/v1", "kind", "Deployment", "namespace", ns, "name", "nope"), wantErr: "deployment " + ns + "/nope not found", permanent: true},
		{name: "bad kind", with: with("apiVersion", "apps/v1", "kind", "Gadget", "name", "x"), wantErr: `the cluster has no kind "Gadget" in apiVersion "apps/v1"`, permanent: true},
		{name: "bad apiVersion", with: with("apiVersion", "apps/v9", "kind", "Deployment", "name", "x"), wantErr: `no kind "Deployment" in apiVersion "apps/v9"`, permanent: true},
		{name: "malformed apiVersion", with: with("apiVersion", "a/b/c", "kind", "Deployment", "name", "x"), wantErr: `apiVersion "a/b/c"`, permanent: true},
		{name: "unknown context", with: with("context", "prod", "apiVersion", "v1", "kind", "Node", "name", "x"), wantErr: `context "prod"`, permanent: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := call(t, a, actions.KubernetesGet, actions.Request{With: tc.with})
			if tc.wantErr != "" {
				wantErr(t, err, tc.wantErr, tc.permanent)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, out)
			}
		})
	}
}

func TestPatch(t *testing.T) {
	k, a := cluster(t)
	ctx := context.Background()
	ns := uniq("patch")
	before := k.Deployment(t, ns, "web", 1)
	target := with("apiVersion", "apps/v1", "kind", "Deployment", "namespace", ns, "name", "web")
	patch := func(dry bool, kv ...any) (map[string]any, error) {
		w := with(kv...)
		for k, v := range target {
			w[k] = v
		}
		return call(t, a, actions.KubernetesPatch, actions.Request{DryRun: dry, With: w})
	}
	get := func() *appsv1.Deployment {
		d, err := k.Clientset.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	// Dry run: reported as a change, stored nothing.
	out, err := patch(true, "type", "merge", "patch", with("metadata", with("labels", with("tier", "web"))))
	if err != nil {
		t.Fatal(err)
	}
	obj := out["object"].(map[string]any)
	if out["changed"] != true || out["dryRun"] != true || obj["metadata"].(map[string]any)["labels"].(map[string]any)["tier"] != "web" {
		t.Fatalf("dry-run patch: %v", out)
	}
	if d := get(); d.Labels["tier"] != "" || d.ResourceVersion != before.ResourceVersion {
		t.Fatalf("dry run stored the patch: %v", d.Labels)
	}

	for _, tc := range []struct {
		name    string
		kv      []any
		changed bool
		check   func(d *appsv1.Deployment) bool
	}{
		{"merge", []any{"type", "merge", "patch", with("metadata", with("labels", with("tier", "web")))}, true,
			func(d *appsv1.Deployment) bool { return d.Labels["tier"] == "web" }},
		{"merge again changes nothing", []any{"type", "merge", "patch", with("metadata", with("labels", with("tier", "web")))}, false,
			func(d *appsv1.Deployment) bool { return d.Labels["tier"] == "web" }},
		{"strategic YAML text", []any{"patch", "spec:\n  template:\n    spec:\n      containers:\n      - name: app\n        env:\n        - {name: MODE, value: safe}\n"}, true,
			func(d *appsv1.Deployment) bool {
				c := d.Spec.Template.Spec.Containers
				return len(c) == 1 && c[0].Image == "fake" && len(c[0].Env) == 1 && c[0].Env[0].Value == "safe"
			}},
		{"json patch", []any{"type", "json", "patch", []any{with("op", "add", "path", "/spec/minReadySeconds", "value", 1)}}, true,
			func(d *appsv1.Deployment) bool { return d.Spec.MinReadySeconds == 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := patch(false, tc.kv...)
			if err != nil {
				t.Fatal(err)
			}
			if out["changed"] != tc.changed || out["kind"] != "Deployment" || out["apiVersion"] != "apps/v1" || out["namespace"] != ns {
				t.Fatalf("out %v", out)
			}
			if d := get(); !tc.check(d) {
				t.Fatalf("deployment after patch: %+v", d.Spec.Template.Spec.Containers)
			}
		})
	}

	_, err = patch(false, "type", "merge", "patch", with("spec", with("replicas", "three")))
	wantErr(t, err, "deployment "+ns+"/web", true)
	_, err = call(t, a, actions.KubernetesPatch, actions.Request{With: with("apiVersion", "v1", "kind", "ConfigMap", "namespace", ns, "name", "nope", "patch", with("data", with("a", "b")))})
	wantErr(t, err, "configmap "+ns+"/nope not found", true)
}

func TestErrors(t *testing.T) {
	k, a := cluster(t)
	ns := uniq("errors")
	k.Deployment(t, ns, "present", 1)
	for _, tc := range []struct {
		name, action string
		with         map[string]any
		wantErr      string
		permanent    bool
	}{
		{"restart missing", actions.KubernetesRolloutRestart, with("namespace", ns, "name", "missing"), "deployment " + ns + "/missing not found", true},
		{"restart missing statefulset", actions.KubernetesRolloutRestart, with("kind", "StatefulSet", "namespace", ns, "name", "db"), "statefulset " + ns + "/db not found", true},
		{"scale missing", actions.KubernetesScale, with("namespace", ns, "name", "missing", "replicas", 1), "deployment " + ns + "/missing not found", true},
		{"wait missing", actions.KubernetesWaitRollout, with("namespace", ns, "name", "missing"), "deployment " + ns + "/missing not found", true},
		{"restart bad kind", actions.KubernetesRolloutRestart, with("kind", "CronJob", "namespace", ns, "name", "present"), `kind "CronJob" is not one of`, true},
		{"invalid patch", actions.KubernetesPatch, with("apiVersion", "apps/v1", "kind", "Deployment", "namespace", ns, "name", "present",
			"type", "merge", "patch", with("spec", with("replicas", -1))), "deployment " + ns + "/present: ", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := call(t, a, tc.action, actions.Request{With: tc.with})
			wantErr(t, err, tc.wantErr, tc.permanent)
		})
	}

	// A cluster that does not answer is worth retrying.
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: down, context: {cluster: c, user: u}}]
current-context: down
`), 0o600); err != nil {
		t.Fatal(err)
	}
	down := kubernetes.New(kubernetes.Config{Kubeconfig: kc})
	_, err := call(t, down, actions.KubernetesRolloutRestart, actions.Request{With: with("namespace", "x", "name", "y")})
	wantErr(t, err, "connection refused", false)
	_, err = call(t, down, actions.KubernetesGet, actions.Request{With: with("apiVersion", "v1", "kind", "Node", "name", "y")})
	wantErr(t, err, "connection refused", false)
}

// stuckDeployment creates a one-replica Deployment whose pods are bound
// to a node that does not exist, so its rollout never completes.
func stuckDeployment(t *testing.T, k *testenv.KubeEnv, ns, name string) {
	t.Helper()
	ctx := context.Background()
	k.Deployment(t, ns, name, 1)
	d, err := k.Clientset.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.NodeName = "ghost"
	if _, err := k.Clientset.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestWaitRolloutTimeout: pods bound to a node that does not exist never
// run, so the rollout never completes.
func TestWaitRolloutTimeout(t *testing.T) {
	k, a := cluster(t)
	ns := uniq("stuck")
	stuckDeployment(t, k, ns, "web")
	start := time.Now()
	_, err := call(t, a, actions.KubernetesWaitRollout, actions.Request{With: with("kind", "deployment", "namespace", ns, "name", "web", "timeout", "2s")})
	wantErr(t, err, "rollout of deployment "+ns+"/web not complete after 2s", true)
	if el := time.Since(start); el < 2*time.Second || el > 10*time.Second {
		t.Fatalf("gave up after %s", el)
	}
}

// TestWaitRolloutDryRun: a dry run restarted nothing, so it does not wait
// for a rollout: it looks once and says what a real run would wait for,
// even when the rollout never completes. A missing workload still fails.
func TestWaitRolloutDryRun(t *testing.T) {
	k, a := cluster(t)
	ns := uniq("waitdry")
	stuckDeployment(t, k, ns, "web")
	start := time.Now()
	out := mustCall(t, a, actions.KubernetesWaitRollout, actions.Request{DryRun: true, With: with("kind", "deployment", "namespace", ns, "name", "web", "timeout", "30s")})
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("a dry run waited %s", el)
	}
	if out["dryRun"] != true || out["complete"] != false || out["wouldWait"] != "30s" || out["waiting"] == "" || out["desired"] != int64(1) {
		t.Errorf("dry run: %v", out)
	}
	_, err := call(t, a, actions.KubernetesWaitRollout, actions.Request{DryRun: true, With: with("namespace", ns, "name", "missing")})
	wantErr(t, err, "deployment "+ns+"/missing not found", true)
}

// uniq returns a fresh namespace name per call, so tests also pass with
// -count=N against the one control plane.
func uniq(base string) string {
	nsMu.Lock()
	defer nsMu.Unlock()
	nsSeq[base]++
	if nsSeq[base] == 1 {
		return base
	}
	return fmt.Sprintf("%s-%d", base, nsSeq[base])
}

var (
	nsMu  sync.Mutex
	nsSeq = map[string]int{}
)

func livePods(t *testing.T, k *testenv.KubeEnv, ns, selector string) []corev1.Pod {
	t.Helper()
	list, err := k.Clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && podReady(&p) {
			out = append(out, p)
		}
	}
	return out
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/ingress/alertmanager"
	"github.com/firebreak-ops/firebreak/internal/router"
	"github.com/firebreak-ops/firebreak/internal/runs"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// TestAlertRestartsDeployment is the whole alert-triggered remediation
// path with real parts: Prometheus-style alerts posted to Debian's
// Alertmanager, delivered to Firebreak's webhook, the shipped
// restart-deployment runbook run by the worker, and the restart made in a
// real kube-apiserver (kube-controller-manager and kwok roll the pods). A
// burst of alerts for one deployment restarts it exactly once; another
// deployment gets its own run.
func TestAlertRestartsDeployment(t *testing.T) {
	kube := testenv.Kube(t)
	kube.Deployment(t, "prod", "checkout", 2)
	kube.Deployment(t, "prod", "cart", 1)
	kube.Deployment(t, "prod", "search", 1)

	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: &config.Config{
		Alertmanager: config.Alertmanager{Token: "am-token"},
		Kubernetes:   config.Kubernetes{Kubeconfig: kube.Kubeconfig},
	}})
	am := testenv.StartAlertmanager(t, fb.URL+alertmanager.Path, "am-token", time.Second)
	a := &api{t: t, base: fb.URL}

	for i := 0; i < 30; i++ {
		am.Post(testenv.PostAlert{Labels: map[string]string{
			"alertname": "KubePodCrashLooping", "namespace": "prod", "deployment": "checkout", "pod": fmt.Sprintf("checkout-%d", i%2)}})
	}
	am.Post(testenv.PostAlert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "prod", "deployment": "cart", "pod": "cart-0"}})
	// Not a deployment alert this runbook handles: no run.
	am.Post(testenv.PostAlert{Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "prod", "pod": "orphan"}})

	for _, dep := range []string{"checkout", "cart"} {
		st := a.waitForLong("runbook:restart-deployment:prod/"+dep, 90*time.Second, func(s *runwire.RunState) bool { return s.Done() })
		if st.Status != runwire.StatusSucceeded {
			t.Fatalf("%s run: %+v", dep, st)
		}
		for _, name := range []string{"restart", "rollout", "report"} {
			if s := step(st, name); s.Status != runwire.StepSucceeded {
				t.Errorf("%s: step %s is %s: %s", dep, name, s.Status, s.Error)
			}
		}
		if out := step(st, "rollout").Output.(map[string]any); fmt.Sprint(out["ready"]) != fmt.Sprint(out["desired"]) {
			t.Errorf("%s rollout output %v", dep, out)
		}
	}
	// Let any late delivery from Alertmanager arrive, then count.
	time.Sleep(3 * time.Second)
	ctx := context.Background()
	for dep, want := range map[string]int{"checkout": 2, "cart": 2, "search": 1} {
		rs, err := kube.Clientset.AppsV1().ReplicaSets("prod").List(ctx, metav1.ListOptions{LabelSelector: "app=" + dep})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs.Items) != want {
			t.Errorf("deployment %s has %d ReplicaSets, want %d (one restart per alerting deployment, none otherwise)", dep, len(rs.Items), want)
		}
		d, err := kube.Clientset.AppsV1().Deployments("prod").Get(ctx, dep, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, restarted := d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"]
		if restarted != (want == 2) {
			t.Errorf("deployment %s restartedAt annotation present=%v", dep, restarted)
		}
	}
	var listed []runs.Summary
	a.do("GET", "/v1/runs?runbook=restart-deployment", nil, &listed)
	if len(listed) != 2 {
		t.Fatalf("runs %+v", listed)
	}
	st := a.waitFor("runbook:restart-deployment:prod/checkout", "done", func(s *runwire.RunState) bool { return s.Done() })
	if len(st.Alerts) != 2 {
		t.Errorf("checkout run recorded %+v, want its two alerts (pods 0 and 1)", st.Alerts)
	}
	// A new alert for checkout inside the cooldown is suppressed, visibly.
	msg := alertmanager.Message{Version: "4", Status: "firing", Alerts: []alertmanager.Alert{{Status: "firing", Fingerprint: "late",
		Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "prod", "deployment": "checkout", "pod": "checkout-9"}}}}
	var resp alertmanager.Response
	(&api{t: t, base: fb.URL, token: "am-token"}).do("POST", alertmanager.Path, msg, &resp)
	if resp.Counts[router.Suppressed] != 1 {
		t.Fatalf("late alert: %+v", resp)
	}

	// A dry run reaches the apiserver (server-side dry run) and changes nothing.
	ref := a.start(runs.StartRequest{Runbook: "restart-deployment", DryRun: true, Params: fmtParams("namespace", "prod", "deployment", "search")})
	st = a.waitForLong(ref.ID, 60*time.Second, func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || step(st, "restart").Output.(map[string]any)["dryRun"] != true {
		t.Fatalf("dry run %+v", st)
	}
	rs, _ := kube.Clientset.AppsV1().ReplicaSets("prod").List(ctx, metav1.ListOptions{LabelSelector: "app=search"})
	if len(rs.Items) != 1 {
		t.Fatalf("dry run restarted search: %d ReplicaSets", len(rs.Items))
	}

	// A deployment that does not exist: the step fails with the reason.
	ref = a.start(runs.StartRequest{Runbook: "restart-deployment", Params: fmtParams("namespace", "prod", "deployment", "ghost")})
	st = a.waitForLong(ref.ID, 60*time.Second, func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusFailed || step(st, "restart").Attempts != 1 {
		t.Fatalf("ghost run %+v", st)
	}
	t.Logf("ghost: %s", step(st, "restart").Error)

	// scale-on-saturation: +2 within bounds, then at the ceiling it says so.
	ref = a.start(runs.StartRequest{Runbook: "scale-on-saturation", Params: fmtParams("namespace", "prod", "deployment", "search", "max_replicas", 3)})
	st = a.waitForLong(ref.ID, 60*time.Second, func(s *runwire.RunState) bool { return s.Done() })
	if st.Status != runwire.StatusSucceeded || step(st, "scale").Status != runwire.StepSucceeded || step(st, "rollout").Status != runwire.StepSucceeded {
		t.Fatalf("scale run %+v", st)
	}
	d, _ := kube.Clientset.AppsV1().Deployments("prod").Get(ctx, "search", metav1.GetOptions{})
	if *d.Spec.Replicas != 3 {
		t.Fatalf("search has %d replicas, want 3 (1 + 2, max 3)", *d.Spec.Replicas)
	}
	ref = a.start(runs.StartRequest{Runbook: "scale-on-saturation", Params: fmtParams("namespace", "prod", "deployment", "search", "max_replicas", 3)})
	st = a.waitForLong(ref.ID, 60*time.Second, func(s *runwire.RunState) bool { return s.Done() })
	if step(st, "scale").Status != runwire.StepSkipped || step(st, "at_ceiling").Status != runwire.StepSucceeded {
		t.Fatalf("scale at ceiling %+v", st)
	}

	// cordon-node: waits for a human, then cordons the node.
	ref = a.start(runs.StartRequest{Runbook: "cordon-node", Params: fmtParams("node", kube.NodeName)})
	a.waitForLong(ref.ID, 30*time.Second, func(s *runwire.RunState) bool { return s.Status == runwire.StatusWaitingApproval })
	if n, _ := kube.Clientset.CoreV1().Nodes().Get(ctx, kube.NodeName, metav1.GetOptions{}); n.Spec.Unschedulable {
		t.Fatal("node cordoned before approval")
	}
	if code := a.do("POST", runURL(ref.ID)+"/approvals", map[string]any{"step": "approve", "approve": true, "by": "oncall"}, nil); code != 200 {
		t.Fatalf("approve: HTTP %d", code)
	}
	st = a.waitForLong(ref.ID, 30*time.Second, func(s *runwire.RunState) bool { return s.Done() })
	n, _ := kube.Clientset.CoreV1().Nodes().Get(ctx, kube.NodeName, metav1.GetOptions{})
	if st.Status != runwire.StatusSucceeded || !n.Spec.Unschedulable {
		t.Fatalf("cordon run %s, node unschedulable=%v", st.Status, n.Spec.Unschedulable)
	}
}

// waitForLong is waitFor with a longer deadline, for runs that wait on a
// rollout.
func (a *api) waitForLong(id string, d time.Duration, cond func(*runwire.RunState) bool) *runwire.RunState {
	a.t.Helper()
	deadline := time.Now().Add(d)
	var st runwire.RunState
	for time.Now().Before(deadline) {
		st = runwire.RunState{}
		if code := a.do("GET", runURL(id), nil, &st); code == 200 && cond(&st) {
			return &st
		}
		time.Sleep(200 * time.Millisecond)
	}
	a.t.Fatalf("run %s did not finish in %s; last state %+v", id, d, st)
	return nil
}

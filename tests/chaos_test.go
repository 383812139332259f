package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/firebreak-ops/firebreak/activities/slack/slackfake"
	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/experiments/plan"
	"github.com/firebreak-ops/firebreak/internal/chaos"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// chaosExperiments are the experiments the chaos tests run against the
// real control plane: checkout's pods, probed through a real Prometheus
// scraping a real target and through the Deployment itself.
const chaosExperiments = `
apiVersion: firebreak/v1
kind: Experiment
metadata: {name: kill-checkout}
spec:
  target: {namespaces: [shop], selector: {app: checkout}, mode: one}
  blastRadius: {namespaces: [shop], maxMode: fixed, maxPods: 2, maxDuration: 10m}
  fault: {kind: PodChaos, spec: {action: pod-kill}}
  probes:
    - name: error_ratio
      prometheus: {query: 'checkout_error_ratio'}
    - name: checkout
      kubernetes: {apiVersion: apps/v1, kind: Deployment, namespace: shop, name: checkout}
  steadyState: probes.error_ratio < 0.05 && probes.checkout.spec.replicas == 3
  abortWhen: probes.error_ratio > 0.2
  preconditions: ["context.openIncidents == 0", "!context.inFreeze"]
  duration: 8s
  interval: 1s
  injectTimeout: 20s
  recoveryTimeout: 4s
---
apiVersion: firebreak/v1
kind: Experiment
metadata: {name: fail-checkout}
spec:
  target: {namespaces: [shop], selector: {app: checkout}, mode: one}
  blastRadius: {namespaces: [shop]}
  fault: {kind: PodChaos, spec: {action: pod-failure}}
  duration: 10m
  interval: 30s
  injectTimeout: 60s
  recoveryTimeout: 60s
---
apiVersion: firebreak/v1
kind: Experiment
metadata: {name: blink-checkout}
spec:
  target: {namespaces: [shop], selector: {app: checkout}, mode: one}
  blastRadius: {namespaces: [shop]}
  fault: {kind: PodChaos, spec: {action: pod-failure}}
  duration: 4s
  interval: 1s
  injectTimeout: 30s
  recoveryTimeout: 60s
---
apiVersion: firebreak/v1
kind: Experiment
metadata: {name: overlap}
spec:
  target: {namespaces: [shop], selector: {app: checkout}, mode: all}
  blastRadius: {namespaces: [shop], allowAll: true}
  fault: {kind: PodChaos, spec: {action: pod-failure}}
  duration: 10m
  interval: 30s
  injectTimeout: 60s
  recoveryTimeout: 60s
---
apiVersion: firebreak/v1
kind: GameDay
metadata: {name: chaos-tuesday, description: checkout game day}
spec:
  schedule: "0 14 * * TUE"
  groups:
    - experiments: [kill-checkout]
    - experiments: [kill-checkout, pod-kill-checkout]
      parallel: true
`

// checkoutMetrics is the real scrape target: a gauge the test moves.
type checkoutMetrics struct {
	ratio prometheus.Gauge
	srv   *httptest.Server
}

func newCheckoutMetrics(t *testing.T) *checkoutMetrics {
	reg := prometheus.NewRegistry()
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "checkout_error_ratio", Help: "share of failed checkouts"})
	reg.MustRegister(g)
	g.Set(0.01)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	t.Cleanup(srv.Close)
	return &checkoutMetrics{ratio: g, srv: srv}
}

// pdEvents records PagerDuty Events API v2 calls.
type pdEvents struct {
	mu     sync.Mutex
	events []map[string]any
}

func (p *pdEvents) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev map[string]any
	_ = json.NewDecoder(r.Body).Decode(&ev)
	p.mu.Lock()
	p.events = append(p.events, ev)
	p.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"x"}`)
}

func (p *pdEvents) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.events)
}

type chaosEnv struct {
	t       *testing.T
	api     *api
	kube    *testenv.KubeEnv
	cm      *testenv.ChaosMesh
	ns      string // the test's own namespace: checkout runs there
	metrics *checkoutMetrics
	slack   *slackfake.Server
	pd      *pdEvents
	dyn     dynamic.Interface
	promURL string
}

var podChaosGVR = schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "podchaos"}

// inNamespace moves experiments written for namespace shop into ns.
func inNamespace(yaml, ns string) string { return strings.ReplaceAll(yaml, "shop", ns) }

// startChaosEnv runs checkout (3 pods) in namespace ns of the package's
// control plane, with Chaos Mesh's real controller, and a Firebreak whose
// catalog has chaosExperiments moved into ns.
func startChaosEnv(t *testing.T, ns string) *chaosEnv {
	kube, cm := cluster.ChaosMesh(t)
	kube.Deployment(t, ns, "checkout", 3)
	metrics := newCheckoutMetrics(t)
	promURL := testenv.Prometheus(t, strings.TrimPrefix(metrics.srv.URL, "http://"))
	fake := slackfake.New(t)
	pd := &pdEvents{}
	pdSrv := httptest.NewServer(pd)
	t.Cleanup(pdSrv.Close)

	cat, err := experiments.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadFile("chaos-test.yaml", []byte(inNamespace(chaosExperiments, ns))); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	cfg.Kubernetes.Kubeconfig = kube.Kubeconfig
	cfg.Prometheus.URL = promURL
	cfg.Slack.BotToken, cfg.Slack.APIURL = "xoxb-test", fake.URL()
	cfg.PagerDuty.EventsURL, cfg.PagerDuty.RoutingKey = pdSrv.URL, "routing-key-1"
	cfg.Chaos.SlackChannel, cfg.Chaos.PageOnStuck = "C0CHAOS", true
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Config: cfg, Experiments: cat})
	dyn := dynamicClient(t, kube)
	e := &chaosEnv{t: t, api: &api{t: t, base: fb.URL}, kube: kube, cm: cm, ns: ns, metrics: metrics, slack: fake, pd: pd, dyn: dyn, promURL: promURL}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(cm.Logs())
		}
	})
	// Prometheus must have scraped the target before probes mean anything.
	e.setRatio(0.01)
	return e
}

// checkoutPods lists checkout's live pods (not being deleted) by name,
// with the image of their one container.
func (e *chaosEnv) checkoutPods() map[string]string {
	e.t.Helper()
	l, err := e.kube.Clientset.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=checkout"})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range l.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = p.Spec.Containers[0].Image
		}
	}
	return out
}

// imagesRestored fails the test unless every checkout pod runs its own
// image again: Chaos Mesh's pod-failure swaps it for a pause image and
// must restore it on recovery.
func (e *chaosEnv) imagesRestored() {
	e.t.Helper()
	for name, img := range e.checkoutPods() {
		if img != "fake" {
			e.t.Errorf("pod %s/%s runs %q after the rollback, want its own image %q back", e.ns, name, img, "fake")
		}
	}
}

// liveStatus reads the controller-written status of a run's PodChaos.
func (e *chaosEnv) liveStatus(id string) (conds map[string]string, records []map[string]any) {
	e.t.Helper()
	obj, err := e.dyn.Resource(podChaosGVR).Namespace(e.ns).Get(context.Background(), chaoswire.ChaosResourceName(id), metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	conds = map[string]string{}
	cs, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range cs {
		m, _ := c.(map[string]any)
		conds[fmt.Sprint(m["type"])] = fmt.Sprint(m["status"])
	}
	rs, _, _ := unstructured.NestedSlice(obj.Object, "status", "experiment", "containerRecords")
	for _, r := range rs {
		if m, ok := r.(map[string]any); ok {
			records = append(records, m)
		}
	}
	return conds, records
}

func dynamicClient(t *testing.T, kube *testenv.KubeEnv) dynamic.Interface {
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		t.Fatal(err)
	}
	return dyn
}

// setRatio moves the gauge and waits until Prometheus has scraped it.
func (e *chaosEnv) setRatio(v float64) {
	e.t.Helper()
	e.metrics.ratio.Set(v)
	want := fmt.Sprintf(`"%g"`, v)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.promURL + "/api/v1/query?query=checkout_error_ratio")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), want) {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("Prometheus never saw checkout_error_ratio %g", v)
}

func (e *chaosEnv) start(name string, dry bool) chaos.ExperimentRef {
	e.t.Helper()
	var ref chaos.ExperimentRef
	if code := e.api.do("POST", "/v1/experiments/runs", chaos.ExperimentRequest{Experiment: name, DryRun: dry}, &ref); code != http.StatusCreated {
		e.t.Fatalf("start %s: HTTP %d", name, code)
	}
	return ref
}

func (e *chaosEnv) get(id string) *chaoswire.ExperimentState {
	st, code := e.tryGet(id)
	if code != http.StatusOK {
		e.t.Fatalf("get %s: HTTP %d", id, code)
	}
	return st
}

// tryGet reads a run's state and returns the HTTP status with it.
func (e *chaosEnv) tryGet(id string) (*chaoswire.ExperimentState, int) {
	var st chaoswire.ExperimentState
	code := e.api.do("GET", "/v1/experiments/runs/"+url.PathEscape(id), nil, &st)
	return &st, code
}

func (e *chaosEnv) wait(id string, d time.Duration, cond func(*chaoswire.ExperimentState) bool) *chaoswire.ExperimentState {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for {
		// While a worker restarts, a read that needs the workflow's query
		// can answer "busy, retry" (429) or 503; a client retries, and so
		// does this wait, until its deadline.
		st, code := e.tryGet(id)
		switch {
		case code == http.StatusOK:
			if cond(st) {
				return st
			}
		case code != http.StatusTooManyRequests && code != http.StatusServiceUnavailable:
			e.t.Fatalf("get %s: HTTP %d", id, code)
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("experiment %s: condition not met within %s; state %+v", id, d, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func done(st *chaoswire.ExperimentState) bool { return st.Status == chaoswire.ExperimentCompleted }

func injected(st *chaoswire.ExperimentState) bool { return st.InjectedAt != nil || done(st) }

// podChaos lists the PodChaos resources Firebreak owns in the test's
// namespace.
func (e *chaosEnv) podChaos() []string {
	list, err := e.dyn.Resource(podChaosGVR).Namespace(e.ns).List(context.Background(),
		metav1.ListOptions{LabelSelector: names.LabelManagedBy + "=" + names.LabelManagedByValue})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, it := range list.Items {
		out = append(out, it.GetName())
	}
	return out
}

// TestChaosExperiments runs experiments through Firebreak against Chaos
// Mesh's real controller (PodChaos pod-kill and pod-failure; the kinds
// that need chaos-daemon are proven only against the stand-in, in
// activities/chaosmesh and internal/testenv).
func TestChaosExperiments(t *testing.T) {
	e := startChaosEnv(t, "shop")

	t.Run("catalog", func(t *testing.T) {
		var list []plan.Summary
		e.api.do("GET", "/v1/experiments", nil, &list)
		seen := map[string]bool{}
		for _, s := range list {
			seen[s.Name] = true
		}
		if !seen["kill-checkout"] || !seen["pod-kill-checkout"] || !seen["network-latency-cart"] {
			t.Fatalf("catalog %v", list)
		}
	})

	t.Run("passes and rolls back", func(t *testing.T) {
		ref := e.start("kill-checkout", false)
		if ref.Status != chaoswire.ExperimentRunning || !names.IsExperimentWorkflowID(ref.ID) {
			t.Fatalf("ref %+v", ref)
		}
		st := e.wait(ref.ID, 20*time.Second, injected)
		// While the fault is on, the resource is there with our labels and
		// the spec the experiment renders.
		if live := e.podChaos(); len(live) != 1 || live[0] != chaoswire.ChaosResourceName(ref.ID) {
			t.Fatalf("live PodChaos %v", live)
		}
		obj, err := e.dyn.Resource(podChaosGVR).Namespace(e.ns).Get(context.Background(), chaoswire.ChaosResourceName(ref.ID), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		spec := obj.Object["spec"].(map[string]any)
		if spec["action"] != "pod-kill" || spec["mode"] != "one" || spec["duration"] != "8s" ||
			obj.GetLabels()[names.LabelRun] != chaoswire.RunLabel(ref.ID) || obj.GetAnnotations()[names.AnnotationRunID] != ref.ID {
			t.Fatalf("resource spec %v labels %v annotations %v", spec, obj.GetLabels(), obj.GetAnnotations())
		}
		// Chaos Mesh's controller wrote the conditions and the record.
		conds, recs := e.liveStatus(ref.ID)
		if conds["Selected"] != "True" || conds["AllInjected"] != "True" || len(recs) != 1 ||
			recs[0]["phase"] != "Injected" || !strings.HasPrefix(fmt.Sprint(recs[0]["id"]), e.ns+"/checkout-") {
			t.Fatalf("controller-written status: conditions %v records %v", conds, recs)
		}
		killed := strings.TrimPrefix(fmt.Sprint(recs[0]["id"]), e.ns+"/")
		st = e.wait(ref.ID, 40*time.Second, done)
		if st.Verdict != chaoswire.VerdictPassed {
			t.Fatalf("verdict %s: %s\n%+v", st.Verdict, st.Reason, st.Phases)
		}
		if len(st.Targets) != 1 || st.Targets[0].ID != e.ns+"/"+killed {
			t.Errorf("targets %+v, want the controller's record %s/%s", st.Targets, e.ns, killed)
		}
		if pods := e.checkoutPods(); len(pods) != 3 || pods[killed] != "" {
			t.Errorf("the controller should have killed %s and the Deployment replaced it: pods %v", killed, pods)
		}
		if live := e.podChaos(); len(live) != 0 {
			t.Errorf("resources left: %v", live)
		}
		counts := map[string]int{}
		for _, s := range st.Probes["error_ratio"] {
			counts[s.Phase]++
			if s.Error != "" {
				t.Errorf("probe error %s", s.Error)
			}
		}
		if counts["before"] != 1 || counts["during"] < 5 || counts["after"] != 1 {
			t.Errorf("error_ratio samples %v", counts)
		}
		var md []byte
		req, _ := http.NewRequest("GET", e.api.base+"/v1/experiments/runs/"+url.PathEscape(ref.ID)+"/report", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		md, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(md), "**passed**") || !strings.Contains(string(md), "data:image/svg+xml;base64,") ||
			!strings.Contains(string(md), "| error_ratio | 0.01 |") {
			t.Errorf("report HTTP %d:\n%s", resp.StatusCode, md)
		}
		if msgs := e.slack.Messages(); len(msgs) == 0 || !strings.Contains(msgs[len(msgs)-1].Text, "kill-checkout") {
			t.Errorf("no report in Slack: %+v", msgs)
		}
	})

	t.Run("abortWhen from a real Prometheus", func(t *testing.T) {
		ref := e.start("kill-checkout", false)
		e.wait(ref.ID, 20*time.Second, injected)
		e.metrics.ratio.Set(0.5)
		st := e.wait(ref.ID, 30*time.Second, done)
		e.setRatio(0.01)
		if st.Verdict != chaoswire.VerdictAborted || !strings.Contains(st.Reason, "probes.error_ratio=0.5") {
			t.Fatalf("verdict %s: %s", st.Verdict, st.Reason)
		}
		if live := e.podChaos(); len(live) != 0 {
			t.Errorf("resources left: %v", live)
		}
	})

	t.Run("dry run injects nothing", func(t *testing.T) {
		before := e.checkoutPods()
		st := e.wait(e.start("kill-checkout", true).ID, 30*time.Second, done)
		if st.Verdict != chaoswire.VerdictPassed || !st.DryRun || !strings.Contains(st.Manifest, "pod-kill") {
			t.Fatalf("verdict %s (%s) manifest %q", st.Verdict, st.Reason, st.Manifest)
		}
		if after := e.checkoutPods(); !maps.Equal(after, before) || len(e.podChaos()) != 0 {
			t.Errorf("a dry run injected something")
		}
	})

	t.Run("controller killed mid-experiment and back: rollback verified", func(t *testing.T) {
		ref := e.start("blink-checkout", false)
		e.wait(ref.ID, 30*time.Second, injected)
		e.cm.Kill()
		// The run ends its observation, deletes the resource and waits:
		// with no controller the finalizer holds it.
		e.wait(ref.ID, 30*time.Second, func(st *chaoswire.ExperimentState) bool {
			return phaseStarted(st, chaoswire.PhaseRollback)
		})
		time.Sleep(2 * time.Second)
		if live := e.podChaos(); len(live) != 1 {
			t.Fatalf("with the controller away the resource should be held by its finalizer: %v", live)
		}
		if err := e.cm.Restart(); err != nil {
			t.Fatal(err)
		}
		st := rolledBack(t, e, ref.ID, 60*time.Second)
		if st.Verdict != chaoswire.VerdictPassed {
			t.Errorf("verdict %s: %s", st.Verdict, st.Reason)
		}
		e.imagesRestored()
	})

	t.Run("controller gone for good: escalation fires", func(t *testing.T) {
		pages := e.pd.Len()
		ref := e.start("kill-checkout", false)
		e.wait(ref.ID, 20*time.Second, injected)
		e.cm.Kill()
		defer func() {
			if err := e.cm.Restart(); err != nil {
				t.Fatal(err)
			}
		}()
		st := e.wait(ref.ID, 60*time.Second, done)
		if st.Verdict != chaoswire.VerdictNeedsAttention {
			t.Fatalf("verdict %s: %s", st.Verdict, st.Reason)
		}
		var escalated bool
		for _, m := range e.slack.Messages() {
			if m.Channel == "C0CHAOS" && strings.Contains(m.Text, "could not verify that its fault was removed") {
				escalated = true
			}
		}
		if !escalated || e.pd.Len() != pages+1 {
			t.Errorf("escalated to Slack %v; PagerDuty events %d (was %d)", escalated, e.pd.Len(), pages)
		}
		if err := e.cm.Restart(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for len(e.podChaos()) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if live := e.podChaos(); len(live) != 0 {
			t.Errorf("resource still there once the controller is back: %v", live)
		}
	})

	t.Run("abort", func(t *testing.T) {
		ref := e.start("fail-checkout", false)
		e.wait(ref.ID, 30*time.Second, injected)
		if code := e.api.do("POST", "/v1/experiments/runs/"+url.PathEscape(ref.ID)+"/abort", map[string]string{"reason": "enough"}, nil); code != http.StatusAccepted {
			t.Fatalf("abort: HTTP %d", code)
		}
		st := e.wait(ref.ID, 30*time.Second, done)
		if st.Verdict != chaoswire.VerdictAborted || !strings.Contains(st.Reason, "enough") || len(e.podChaos()) != 0 {
			t.Fatalf("verdict %s (%s), resources %v", st.Verdict, st.Reason, e.podChaos())
		}
		e.imagesRestored()
	})

	t.Run("overlapping pod-failures: the fault Chaos Mesh leaves is removed", func(t *testing.T) {
		// Chaos Mesh's pod-failure saves the image it replaces; the second
		// of two overlapping ones saves the first's pause image, and when
		// the first recovers first, the second's recovery puts the pause
		// image back for good. Firebreak's rollback finds and repairs it.
		first := e.start("overlap", false)
		e.wait(first.ID, 30*time.Second, injected)
		// The controller patches from its informer cache: give it time to
		// see the first swap, as any two experiments minutes apart do. (The
		// experiment's name is short: Chaos Mesh keys the saved image by
		// the resource's name only while the key fits in 63 characters.)
		time.Sleep(2 * time.Second)
		second := e.start("overlap", false)
		e.wait(second.ID, 30*time.Second, injected)
		saved := "chaos-mesh-" + chaoswire.ChaosResourceName(second.ID) + "-pod-failure-app-normal-image"
		pods, err := e.kube.Clientset.CoreV1().Pods(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=checkout"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Annotations[saved] != p.Spec.Containers[0].Image {
				t.Fatalf("setup: the second pod-failure should have saved the pause image on %s: annotations %v, image %q", p.Name, p.Annotations, p.Spec.Containers[0].Image)
			}
		}
		for _, ref := range []chaos.ExperimentRef{first, second} {
			if code := e.api.do("POST", "/v1/experiments/runs/"+url.PathEscape(ref.ID)+"/abort", map[string]string{"reason": "overlap test"}, nil); code != http.StatusAccepted {
				t.Fatalf("abort: HTTP %d", code)
			}
			e.wait(ref.ID, 60*time.Second, done)
		}
		st := e.get(second.ID)
		var detail string
		for _, p := range st.Phases {
			if p.Name == chaoswire.PhaseRollback {
				detail = p.Detail
			}
		}
		if !strings.Contains(detail, "Chaos Mesh had left the fault on") || strings.Count(detail, e.ns+"/checkout-") != 3 {
			t.Errorf("the second run's rollback should have repaired all 3 pods: %q", detail)
		}
		e.imagesRestored()
	})

	t.Run("game day on a Temporal Schedule", func(t *testing.T) {
		var days []chaos.GameDaySummary
		e.api.do("GET", "/v1/gamedays", nil, &days)
		var day *chaos.GameDaySummary
		for i := range days {
			if days[i].Name == "chaos-tuesday" {
				day = &days[i]
			}
		}
		if day == nil || !day.Exists || day.Paused || len(day.NextRuns) == 0 || day.NextRuns[0].Weekday() != time.Tuesday {
			t.Fatalf("game days %+v", days)
		}
		for _, op := range []struct {
			path   string
			paused bool
		}{{"/v1/gamedays/chaos-tuesday/pause", true}, {"/v1/gamedays/chaos-tuesday/unpause", false}} {
			var got chaos.GameDaySummary
			if code := e.api.do("POST", op.path, map[string]string{"reason": "test"}, &got); code != http.StatusOK || got.Paused != op.paused {
				t.Fatalf("%s: HTTP %d paused=%v", op.path, code, got.Paused)
			}
		}
		var got chaos.GameDaySummary
		if code := e.api.do("POST", "/v1/gamedays/chaos-tuesday/trigger", nil, &got); code != http.StatusOK {
			t.Fatalf("trigger: HTTP %d", code)
		}
		deadline := time.Now().Add(20 * time.Second)
		for len(got.Recent) == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the schedule started nothing")
			}
			time.Sleep(200 * time.Millisecond)
			e.api.do("GET", "/v1/gamedays", nil, &days)
			for _, d := range days {
				if d.Name == "chaos-tuesday" {
					got = d
				}
			}
		}
		id := got.Recent[0].WorkflowID
		var st chaoswire.GameDayState
		deadline = time.Now().Add(90 * time.Second)
		for st.Status != chaoswire.ExperimentCompleted {
			if time.Now().After(deadline) {
				t.Fatalf("game day %s not done: %+v", id, st)
			}
			time.Sleep(500 * time.Millisecond)
			e.api.do("GET", "/v1/gamedays/runs/"+url.PathEscape(id), nil, &st)
		}
		// pod-kill-checkout targets namespace prod, where nothing runs: its
		// steady state (a Deployment that does not exist) fails, so it is
		// not run, and the score counts it as not passed.
		verdicts := map[string]string{}
		for _, r := range st.Results {
			verdicts[r.Experiment] += r.Verdict + " "
		}
		if verdicts["kill-checkout"] != "passed passed " || verdicts["pod-kill-checkout"] != "not_run " || st.Score < 66 || st.Score > 67 {
			t.Fatalf("results %v score %v", verdicts, st.Score)
		}
		resp, err := http.Get(e.api.base + "/v1/gamedays/runs/" + url.PathEscape(id) + "/report")
		if err != nil {
			t.Fatal(err)
		}
		md, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(md), "Resilience score: **67%**") || strings.Count(string(md), "## Chaos experiment: ") != 3 {
			t.Errorf("report:\n%s", md)
		}
		var posted bool
		for _, m := range e.slack.Messages() {
			if m.Channel == "C0CHAOS" && strings.Contains(m.Text, "Game day *chaos-tuesday*: resilience score *67%*") {
				posted = true
			}
		}
		if !posted {
			t.Errorf("game day report not posted to Slack")
		}
		if code := e.api.do("DELETE", "/v1/gamedays/chaos-tuesday", nil, nil); code != http.StatusOK {
			t.Fatalf("delete: HTTP %d", code)
		}
		e.api.do("GET", "/v1/gamedays", nil, &days)
		for _, d := range days {
			if d.Name == "chaos-tuesday" && d.Exists {
				t.Errorf("schedule still there after delete")
			}
		}
		expectError(t, e.api, "POST", "/v1/gamedays/nope/trigger", nil, http.StatusNotFound, "no game day is named")
	})

	t.Run("a SEV1 incident halts chaos", func(t *testing.T) {
		ref := e.start("fail-checkout", false)
		e.wait(ref.ID, 30*time.Second, injected)
		var inc map[string]any
		if code := e.api.do("POST", "/v1/incidents", map[string]any{"title": "Checkout 5xx", "severity": "sev1", "commander": "alice"}, &inc); code != http.StatusCreated {
			t.Fatalf("declare: HTTP %d %v", code, inc)
		}
		st := e.wait(ref.ID, 30*time.Second, done)
		if st.Verdict != chaoswire.VerdictAborted || !strings.Contains(st.Reason, "halted") || len(e.podChaos()) != 0 {
			t.Fatalf("verdict %s (%s), resources %v", st.Verdict, st.Reason, e.podChaos())
		}
		e.imagesRestored()
		var cs chaoswire.ChaosState
		e.api.do("GET", "/v1/chaos", nil, &cs)
		if !cs.Halted || !strings.Contains(cs.Reason, fmt.Sprint(inc["id"])) {
			t.Fatalf("chaos state %+v after incident %v", cs, inc["id"])
		}
		// The incident is open: experiments whose preconditions ask for no
		// open incident are not run, even after chaos resumes.
		e.api.do("POST", "/v1/chaos/resume", nil, &cs)
		st = e.wait(e.start("kill-checkout", false).ID, 30*time.Second, done)
		if st.Verdict != chaoswire.VerdictNotRun || !strings.Contains(st.Reason, "context.openIncidents=1") {
			t.Fatalf("with an open incident: %s (%s)", st.Verdict, st.Reason)
		}
		if code := e.api.do("POST", "/v1/incidents/"+url.PathEscape(fmt.Sprint(inc["id"]))+"/resolve", map[string]string{"summary": "test over"}, nil); code != http.StatusOK {
			t.Fatalf("resolve: HTTP %d", code)
		}
	})

	t.Run("halt 50 running experiments", func(t *testing.T) {
		const n = 50
		ids := make([]string, n)
		for i := range ids {
			ids[i] = e.start("fail-checkout", false).ID
		}
		deadline := time.Now().Add(90 * time.Second)
		for len(e.podChaos()) < n || !allInjected(e, ids) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d injected", len(e.podChaos()), n)
			}
			time.Sleep(200 * time.Millisecond)
		}
		began := time.Now()
		var st chaoswire.ChaosState
		if code := e.api.do("POST", "/v1/chaos/halt", map[string]string{"reason": "SEV1 declared"}, &st); code != http.StatusOK || !st.Halted {
			t.Fatalf("halt: HTTP %d %+v", code, st)
		}
		for len(e.podChaos()) > 0 {
			if time.Since(began) > 60*time.Second {
				t.Fatalf("%d resources still there a minute after the halt", len(e.podChaos()))
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("halt: %d experiments rolled back, every resource gone %s after the halt", n, time.Since(began).Round(time.Millisecond))
		e.imagesRestored()
		for _, id := range ids {
			if st := e.wait(id, 30*time.Second, done); st.Verdict != chaoswire.VerdictAborted || !strings.Contains(st.Reason, "halted") {
				t.Fatalf("%s: %s (%s)", id, st.Verdict, st.Reason)
			}
		}
		expectError(t, e.api, "POST", "/v1/experiments/runs", chaos.ExperimentRequest{Experiment: "fail-checkout"}, http.StatusConflict, "chaos is halted")
		if code := e.api.do("POST", "/v1/chaos/resume", nil, &st); code != http.StatusOK || st.Halted {
			t.Fatalf("resume: HTTP %d %+v", code, st)
		}
		ref := e.start("kill-checkout", true)
		e.wait(ref.ID, 30*time.Second, done)
	})

	t.Run("cli", func(t *testing.T) {
		bin := firebreakBinary(t)
		cli := func(want int, args ...string) string {
			t.Helper()
			cmd := exec.Command(bin, append([]string{"--server", e.api.base}, args...)...)
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != want {
				t.Fatalf("firebreak %v: exit %d, want %d\n%s", args, code, want, out)
			}
			return string(out)
		}
		if out := cli(0, "chaos", "list"); !strings.Contains(out, "kill-checkout") || !strings.Contains(out, "PodChaos") {
			t.Errorf("chaos list:\n%s", out)
		}
		if out := cli(0, "chaos", "run", "kill-checkout", "--dry-run", "--wait"); !strings.Contains(out, "PASSED: dry run") || !strings.Contains(out, "inject") {
			t.Errorf("chaos run --wait:\n%s", out)
		}
		if out := cli(0, "chaos", "halt", "--reason", "cli test"); !strings.Contains(out, "chaos: HALTED by") || !strings.Contains(out, "cli test") {
			t.Errorf("chaos halt:\n%s", out)
		}
		if out := cli(1, "chaos", "run", "kill-checkout"); !strings.Contains(out, "chaos is halted") || !strings.Contains(out, "HTTP 409") {
			t.Errorf("run while halted:\n%s", out)
		}
		if out := cli(0, "chaos", "resume"); !strings.Contains(out, "chaos: allowed") {
			t.Errorf("chaos resume:\n%s", out)
		}
		if out := cli(0, "gameday", "list"); !strings.Contains(out, "weekly-resilience") || !strings.Contains(out, "paused") {
			t.Errorf("gameday list:\n%s", out)
		}
		dir := t.TempDir()
		bad := filepath.Join(dir, "bad.yaml")
		_ = os.WriteFile(bad, []byte(strings.Replace(strings.SplitN(chaosExperiments, "---", 2)[0], "pod-kill", "pod-kil", 1)), 0o600)
		if out := cli(1, "validate", bad); !strings.Contains(out, "bad.yaml:8:34: ") || !strings.Contains(out, `spec.fault.spec.action must be one of pod-kill, pod-failure, container-kill, not "pod-kil"`) {
			t.Errorf("validate:\n%s", out)
		}
	})

	t.Run("bad requests", func(t *testing.T) {
		expectError(t, e.api, "POST", "/v1/experiments/runs", map[string]any{"experiment": "nope"}, http.StatusNotFound, `no experiment is named "nope"`)
		expectError(t, e.api, "POST", "/v1/experiments/runs", map[string]any{"experimnt": "x"}, http.StatusBadRequest, "unknown field")
		expectError(t, e.api, "GET", "/v1/experiments/runs/runbook:x:y", nil, http.StatusNotFound, "no experiment run")
		expectError(t, e.api, "GET", "/v1/experiments/runs/experiment:x:nope", nil, http.StatusNotFound, "no run")
	})
}

// phaseStarted reports whether the run has begun the named phase.
func phaseStarted(st *chaoswire.ExperimentState, name string) bool {
	for _, p := range st.Phases {
		if p.Name == name {
			return true
		}
	}
	return false
}

func allInjected(e *chaosEnv, ids []string) bool {
	for _, id := range ids {
		if e.get(id).InjectedAt == nil {
			return false
		}
	}
	return true
}

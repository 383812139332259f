package chaosmesh_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
	"github.com/firebreak-ops/firebreak/internal/testenv"
)

// podNames lists the live pods of app in ns.
func podNames(t *testing.T, k *testenv.KubeEnv, ns, app string) map[string]string {
	t.Helper()
	pods, err := k.Clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = string(p.UID)
		}
	}
	return out
}

// TestLifecycle creates each kind against a real Deployment's pods, waits
// for the controller to inject it, deletes it and waits for it to be
// recovered and gone: PodChaos pod-failure on Chaos Mesh's real controller
// (its image swap undone), the kinds that need chaos-daemon on the
// stand-in.
func TestLifecycle(t *testing.T) {
	k, ctrl := chaosCluster(t)
	realChaosMesh(t)
	const standIn = "lifecycle"
	k.Deployment(t, standIn, "web", 3)
	k.Deployment(t, realNS, "web", 3)
	a := chaosmesh.NewFromREST(k.Config)
	ctx := context.Background()
	sel := `"selector":{"labelSelectors":{"app":"web"}}`

	tests := []struct {
		kind, spec string
		records    int
		container  bool // record ids name the container
		real       bool // on Chaos Mesh's real controller
	}{
		{"PodChaos", `{"action":"pod-failure","mode":"all","duration":"1m",` + sel + `}`, 3, false, true},
		{"NetworkChaos", `{"action":"delay","mode":"all","delay":{"latency":"100ms"},` + sel + `}`, 3, false, false},
		{"StressChaos", `{"mode":"fixed","value":"2","stressors":{"cpu":{"workers":1,"load":50}},` + sel + `}`, 2, true, false},
		{"HTTPChaos", `{"mode":"fixed-percent","value":"34","target":"Request","port":80,"delay":"1s",` + sel + `}`, 1, false, false},
		{"IOChaos", `{"action":"latency","mode":"one","volumePath":"/data","delay":"10ms",` + sel + `}`, 1, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			ns := standIn
			if tt.real {
				ns = realNS
			}
			pods := podNames(t, k, ns, "web")
			o := obj(tt.kind, ns, strings.ToLower(tt.kind))
			start := time.Now()
			if _, err := a.Create(ctx, createReq(o, "run-life", tt.spec)); err != nil {
				t.Fatal(err)
			}
			st := await(t, a, o, actions.UntilInjected, 10*time.Second)
			t.Logf("injected in %s", time.Since(start).Round(time.Millisecond))
			if len(st.Records) != tt.records {
				t.Fatalf("%d records, want %d: %+v", len(st.Records), tt.records, st.Records)
			}
			for _, r := range st.Records {
				if _, ok := pods[r.Name]; !ok || r.Namespace != ns || r.Phase != "Injected" || r.InjectedCount != 1 {
					t.Errorf("record %+v: not an injected pod of %v", r, pods)
				}
				if want := ns + "/" + r.Name; tt.container {
					if r.ID != want+"/app" {
						t.Errorf("record id %q, want %q", r.ID, want+"/app")
					}
				} else if r.ID != want {
					t.Errorf("record id %q, want %q", r.ID, want)
				}
			}
			if !slices.Contains(st.Finalizers, testenv.ChaosFinalizer) || st.Deleting || st.AllRecovered {
				t.Fatalf("state after injection: %+v", st)
			}

			start = time.Now()
			if err := a.Delete(ctx, o); err != nil {
				t.Fatal(err)
			}
			await(t, a, o, actions.UntilRecovered, 5*time.Second)
			await(t, a, o, actions.UntilGone, 5*time.Second)
			t.Logf("recovered and gone in %s", time.Since(start).Round(time.Millisecond))
			if tt.real {
				for name, img := range podImages(t, k, ns, "web") {
					if img != "fake" {
						t.Errorf("pod %s runs %q after recovery", name, img)
					}
				}
			} else if n := ctrl.Recovered()[testenv.ChaosKey(tt.kind, ns, o.Name)]; n != 1 {
				t.Fatalf("controller recovered it %d times", n)
			}
			if err := a.Delete(ctx, o); err != nil {
				t.Fatalf("deleting again: %v", err)
			}
		})
	}
	for _, ns := range []string{standIn, realNS} {
		if got := podNames(t, k, ns, "web"); len(got) != 3 {
			t.Fatalf("pods of %s changed: %v", ns, got)
		}
	}
}

// podImages maps the live pods of app in ns to their container's image.
func podImages(t *testing.T, k *testenv.KubeEnv, ns, app string) map[string]string {
	t.Helper()
	pods, err := k.Clientset.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			out[p.Name] = p.Spec.Containers[0].Image
		}
	}
	return out
}

// TestPodKill checks that Chaos Mesh's pod-kill really kills a pod, which
// the Deployment replaces.
func TestPodKill(t *testing.T) {
	k, _ := realChaosMesh(t)
	const ns = realNS
	k.Deployment(t, ns, "victim", 2)
	before := podNames(t, k, ns, "victim")
	a := chaosmesh.NewFromREST(k.Config)
	ctx := context.Background()

	o := obj("PodChaos", ns, "kill-one")
	if _, err := a.Create(ctx, createReq(o, "run-kill", `{"action":"pod-kill","mode":"one","selector":{"namespaces":["`+ns+`"],"labelSelectors":{"app":"victim"}}}`)); err != nil {
		t.Fatal(err)
	}
	st := await(t, a, o, actions.UntilInjected, 10*time.Second)
	if len(st.Records) != 1 {
		t.Fatalf("records: %+v", st.Records)
	}
	victim := st.Records[0].Name
	if _, ok := before[victim]; !ok {
		t.Fatalf("killed %q, not one of %v", victim, before)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		now := podNames(t, k, ns, "victim")
		_, stillThere := now[victim]
		if !stillThere && len(now) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s never replaced: %v", victim, now)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := a.Delete(ctx, o); err != nil {
		t.Fatal(err)
	}
	await(t, a, o, actions.UntilGone, 5*time.Second)
}

// TestStuckFinalizer checks that when Chaos Mesh cannot recover, awaiting
// recovery times out with Reached false and the last state, and that the
// resource goes once Chaos Mesh recovers.
func TestStuckFinalizer(t *testing.T) {
	k, ctrl := chaosCluster(t)
	const ns = "stuck"
	k.Deployment(t, ns, "app", 1)
	a := chaosmesh.NewFromREST(k.Config)
	ctx := context.Background()
	ctrl.SetStuck(true)
	t.Cleanup(func() { ctrl.SetStuck(false) })

	o := obj("NetworkChaos", ns, "partition")
	if _, err := a.Create(ctx, createReq(o, "run-stuck", `{"action":"partition","mode":"all","selector":{"labelSelectors":{"app":"app"}}}`)); err != nil {
		t.Fatal(err)
	}
	await(t, a, o, actions.UntilInjected, 10*time.Second)
	if err := a.Delete(ctx, o); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := a.Await(ctx, actions.ChaosAwaitRequest{Object: o, Until: actions.UntilRecovered, Timeout: time.Second, Poll: 100 * time.Millisecond})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	st := res.State
	if res.Reached || !st.Exists || !st.Deleting || st.AllRecovered || !st.AllInjected ||
		!slices.Equal(st.Finalizers, []string{testenv.ChaosFinalizer}) || len(st.Records) != 1 {
		t.Fatalf("await on a stuck resource: %+v", res)
	}
	if took < time.Second || took > 3*time.Second {
		t.Fatalf("await took %s for a 1s timeout", took)
	}

	ctrl.SetStuck(false)
	st = await(t, a, o, actions.UntilGone, 5*time.Second)
	if st.Exists {
		t.Fatalf("state: %+v", st)
	}
}

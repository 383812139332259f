package chaosmesh_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
)

// TestAwaitRestored checks UntilRestored on real pods, each in the state
// Chaos Mesh may leave it once a PodChaos is gone: the pause image with no
// pod-failure annotation left (what overlapping pod-failures leave) is
// repaired from the ReplicaSet's template; a pod another pod-failure
// still holds (under either of Chaos Mesh's annotation keys), a healthy
// pod and a pod that is gone are left alone.
func TestAwaitRestored(t *testing.T) {
	k, _ := chaosCluster(t)
	const ns = "restore"
	k.Deployment(t, ns, "web", 3)
	ctx := context.Background()
	var names []string
	for n := range podNames(t, k, ns, "web") {
		names = append(names, n)
	}
	slices.Sort(names)
	pods := k.Clientset.CoreV1().Pods(ns)
	patch := func(name, image string, annotations map[string]string) {
		t.Helper()
		p := fmt.Sprintf(`{"metadata":{"annotations":%s},"spec":{"containers":[{"name":"app","image":%q}]}}`, jsonMap(annotations), image)
		if _, err := pods.Patch(ctx, name, types.StrategicMergePatchType, []byte(p), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	const pause = "gcr.io/google-containers/pause:latest"
	k.Deployment(t, ns, "api", 1)
	for n := range podNames(t, k, ns, "api") {
		names = append(names, n)
	}
	left, held, healthy, heldShort := names[0], names[1], names[2], names[3]
	patch(left, pause, nil)
	patch(held, pause, map[string]string{"chaos-mesh-other-pod-failure-app-normal-image": "fake"})
	// A fault whose key was too long: Chaos Mesh keys it by container.
	patch(heldShort, pause, map[string]string{"app-normal": "fake"})

	a := chaosmesh.NewFromREST(k.Config)
	o := obj("PodChaos", ns, "gone-already")
	targets := []actions.ChaosRecord{}
	for _, n := range []string{left, held, healthy, heldShort, "web-vanished"} {
		targets = append(targets, actions.ChaosRecord{ID: ns + "/" + n, Namespace: ns, Name: n, Phase: "Injected"})
	}
	res, err := a.Await(ctx, actions.ChaosAwaitRequest{Object: o, Until: actions.UntilRestored, Targets: targets, Timeout: 5 * time.Second})
	if err != nil || !res.Reached {
		t.Fatalf("await restored: %+v %v", res, err)
	}
	if !slices.Equal(res.Repaired, []string{ns + "/" + left}) {
		t.Errorf("repaired %v, want only %s", res.Repaired, left)
	}
	tests := []struct {
		pod, image string
	}{
		{left, "fake"},    // repaired from the template
		{held, pause},     // another fault still holds it
		{healthy, "fake"}, // untouched
		{heldShort, pause},
	}
	for _, tt := range tests {
		p, err := pods.Get(ctx, tt.pod, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Spec.Containers[0].Image; got != tt.image {
			t.Errorf("pod %s runs %q, want %q", tt.pod, got, tt.image)
		}
	}

	// While the resource exists, it is not restored yet.
	live := obj("PodChaos", ns, "still-here")
	if _, err := a.Create(ctx, createReq(live, "run-restore", `{"action":"pod-failure","mode":"one","selector":{"namespaces":["restore"],"labelSelectors":{"app":"nothing"}}}`)); err != nil {
		t.Fatal(err)
	}
	res, err = a.Await(ctx, actions.ChaosAwaitRequest{Object: live, Until: actions.UntilRestored, Targets: targets, Timeout: 300 * time.Millisecond})
	if err != nil || res.Reached {
		t.Fatalf("await restored on a live resource: %+v %v", res, err)
	}
	if err := a.Delete(ctx, live); err != nil {
		t.Fatal(err)
	}
}

func jsonMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	s := "{"
	for k, v := range m {
		if len(s) > 1 {
			s += ","
		}
		s += fmt.Sprintf("%q:%q", k, v)
	}
	return s + "}"
}

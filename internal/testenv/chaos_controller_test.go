package testenv

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

func TestPickPods(t *testing.T) {
	pods := make([]corev1.Pod, 10)
	for i := range pods {
		pods[i].Name = fmt.Sprintf("p%d", i)
	}
	tests := []struct {
		mode     v1alpha1.SelectorMode
		value    string
		min, max int
		wantErr  bool
	}{
		{v1alpha1.AllMode, "", 10, 10, false},
		{v1alpha1.OneMode, "", 1, 1, false},
		{v1alpha1.FixedMode, "3", 3, 3, false},
		{v1alpha1.FixedMode, "30", 10, 10, false},
		{v1alpha1.FixedMode, "0", 0, 0, true},
		{v1alpha1.FixedPercentMode, "25", 2, 2, false},
		{v1alpha1.FixedPercentMode, "101", 0, 0, true},
		{v1alpha1.RandomMaxPercentMode, "50", 0, 5, false},
		{"some", "", 0, 0, true},
	}
	for _, tt := range tests {
		got, err := pickPods(pods, tt.mode, tt.value)
		if (err != nil) != tt.wantErr || len(got) < tt.min || len(got) > tt.max {
			t.Errorf("%s %q: %d pods, err %v", tt.mode, tt.value, len(got), err)
		}
		seen := map[string]bool{}
		for _, p := range got {
			if seen[p.Name] {
				t.Errorf("%s %q: %s picked twice", tt.mode, tt.value, p.Name)
			}
			seen[p.Name] = true
		}
	}
	if got, err := pickPods(nil, v1alpha1.OneMode, ""); err != nil || len(got) != 0 {
		t.Errorf("one of none: %v %v", got, err)
	}
}

// TestChaosController runs the stand-in controller on real pods: a
// PodChaos pod-kill of half a Deployment's pods, a selector matching
// nothing, and a deletion held by a stuck controller.
func TestChaosController(t *testing.T) {
	k := Kube(t)
	InstallChaosMesh(t, k)
	InstallChaosMesh(t, k) // installing twice is harmless
	c := StartChaosController(t, k)
	k.Deployment(t, "chaos", "web", 4)
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	podChaos := dyn.Resource(ChaosMeshGroupVersion.WithResource("podchaos")).Namespace("chaos")
	create := func(name, spec string) {
		t.Helper()
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON([]byte(`{"apiVersion":"chaos-mesh.org/v1alpha1","kind":"PodChaos","metadata":{"name":"` + name + `"},"spec":` + spec + `}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := podChaos.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	status := func(name string, until func(v1alpha1.ChaosStatus) bool) *unstructured.Unstructured {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			u, err := podChaos.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := chaosStatus(u)
			if err != nil {
				t.Fatal(err)
			}
			if until(st) {
				return u
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: status never as wanted: %+v (controller errors %v)", name, st, c.Errors())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	create("half", `{"action":"pod-kill","mode":"fixed-percent","value":"50","selector":{"labelSelectors":{"app":"web"}}}`)
	u := status("half", func(st v1alpha1.ChaosStatus) bool { return conditionTrue(st, v1alpha1.ConditionAllInjected) })
	st, _ := chaosStatus(u)
	if len(st.Experiment.Records) != 2 || !slices.Contains(u.GetFinalizers(), ChaosFinalizer) ||
		conditionTrue(st, v1alpha1.ConditionAllRecovered) || !conditionTrue(st, v1alpha1.ConditionSelected) {
		t.Fatalf("after injection: finalizers %v, status %+v", u.GetFinalizers(), st)
	}
	killed := c.Killed()
	if len(killed) != 2 {
		t.Fatalf("killed %v", killed)
	}
	for _, r := range st.Experiment.Records {
		if !slices.Contains(killed, r.Id) || r.Phase != v1alpha1.Injected || r.SelectorKey != "." {
			t.Errorf("record %+v, killed %v", r, killed)
		}
		ns, name, _ := strings.Cut(r.Id, "/")
		if _, err := k.Clientset.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("pod %s survived pod-kill: %v", r.Id, err)
		}
	}
	if n := c.Injected()[ChaosKey("PodChaos", "chaos", "half")]; n != 1 {
		t.Errorf("injected %d times", n)
	}

	create("nobody", `{"action":"pod-failure","mode":"all","duration":"1m","selector":{"labelSelectors":{"app":"nobody"}}}`)
	u = status("nobody", func(st v1alpha1.ChaosStatus) bool { return len(st.Conditions) > 0 })
	if st, _ := chaosStatus(u); conditionTrue(st, v1alpha1.ConditionSelected) || conditionTrue(st, v1alpha1.ConditionAllInjected) || len(st.Experiment.Records) != 0 {
		t.Fatalf("nothing selected: %+v", st)
	}

	c.SetStuck(true)
	if err := podChaos.Delete(ctx, "half", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	u, err = podChaos.Get(ctx, "half", metav1.GetOptions{})
	if err != nil || u.GetDeletionTimestamp() == nil || !slices.Contains(u.GetFinalizers(), ChaosFinalizer) {
		t.Fatalf("stuck controller let it go: %v %v", u, err)
	}
	c.SetStuck(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := podChaos.Get(ctx, "half", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never released after unsticking: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := c.Recovered()[ChaosKey("PodChaos", "chaos", "half")]; n != 1 {
		t.Errorf("recovered %d times", n)
	}
}

package testenv

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
)

// TestChaosMesh runs Chaos Mesh's real controller on a control plane:
// PodChaos pod-failure swaps a pod's image and restores it when the
// resource is deleted; pod-kill deletes a pod; a killed controller holds
// the finalizer until it is restarted; stopping the control plane stops
// the controller.
func TestChaosMesh(t *testing.T) {
	k := Kube(t)
	c := StartChaosMeshT(t, k)
	ctx := context.Background()
	k.Deployment(t, "cm", "web", 2)
	dyn, err := dynamic.NewForConfig(k.Config)
	if err != nil {
		t.Fatal(err)
	}
	res := dyn.Resource(ChaosMeshGroupVersion.WithResource("podchaos")).Namespace("cm")
	pods := func() []corev1.Pod {
		t.Helper()
		l, err := k.Clientset.CoreV1().Pods("cm").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		return slices.DeleteFunc(l.Items, func(p corev1.Pod) bool { return p.DeletionTimestamp != nil })
	}
	create := func(name, action string) {
		t.Helper()
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": ChaosMeshGroupVersion.String(), "kind": "PodChaos",
			"metadata": map[string]any{"name": name, "namespace": "cm"},
			"spec": map[string]any{"action": action, "mode": "one", "duration": "10m",
				"selector": map[string]any{"namespaces": []any{"cm"}, "labelSelectors": map[string]any{"app": "web"}}},
		}}
		if _, err := res.Create(ctx, u, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, d time.Duration, check func() error) {
		t.Helper()
		deadline := time.Now().Add(d)
		for {
			err := check()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s: %v", what, d, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	injected := func(name string) []string {
		t.Helper()
		var ids []string
		waitFor(name+" AllInjected", 30*time.Second, func() error {
			u, err := res.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
			for _, cd := range conds {
				m, _ := cd.(map[string]any)
				if m["type"] == "AllInjected" && m["status"] == "True" {
					recs, _, _ := unstructured.NestedSlice(u.Object, "status", "experiment", "containerRecords")
					ids = ids[:0]
					for _, r := range recs {
						id, _, _ := unstructured.NestedString(r.(map[string]any), "id")
						ids = append(ids, id)
					}
					return nil
				}
			}
			return fmt.Errorf("conditions %v", conds)
		})
		return ids
	}
	gone := func(name string, d time.Duration) {
		t.Helper()
		if err := res.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		waitFor(name+" gone", d, func() error {
			if _, err := res.Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return fmt.Errorf("still there (%v)", err)
			}
			return nil
		})
	}
	images := func() map[string]string {
		out := map[string]string{}
		for _, p := range pods() {
			out[p.Name] = p.Spec.Containers[0].Image
		}
		return out
	}

	t.Run("pod-failure swaps the image and restores it", func(t *testing.T) {
		create("fail", "pod-failure")
		ids := injected("fail")
		if len(ids) != 1 {
			t.Fatalf("records %v", ids)
		}
		swapped := 0
		for _, img := range images() {
			if img != "fake" {
				swapped++
			}
		}
		if swapped != 1 {
			t.Fatalf("images while injected: %v", images())
		}
		gone("fail", 30*time.Second)
		for name, img := range images() {
			if img != "fake" {
				t.Errorf("pod %s still runs %q after recovery", name, img)
			}
		}
	})

	t.Run("pod-kill deletes a pod", func(t *testing.T) {
		create("kill", "pod-kill")
		ids := injected("kill")
		if len(ids) != 1 {
			t.Fatalf("records %v", ids)
		}
		waitFor("the killed pod to go", 30*time.Second, func() error {
			for _, p := range pods() {
				if "cm/"+p.Name == ids[0] {
					return fmt.Errorf("%s still there", p.Name)
				}
			}
			return nil
		})
		gone("kill", 30*time.Second)
	})

	t.Run("a killed controller holds the finalizer until restarted", func(t *testing.T) {
		create("held", "pod-failure")
		injected("held")
		c.Kill()
		if c.Running() {
			t.Fatal("still running after Kill")
		}
		if err := res.Delete(ctx, "held", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		if u, err := res.Get(ctx, "held", metav1.GetOptions{}); err != nil || !slices.Contains(u.GetFinalizers(), ChaosFinalizer) {
			t.Fatalf("with the controller away the resource should stay, held by its finalizer: %v", err)
		}
		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
		gone("held", 30*time.Second)
		for name, img := range images() {
			if img != "fake" {
				t.Errorf("pod %s still runs %q after the restarted controller recovered it", name, img)
			}
		}
		if c.Starts() != 2 {
			t.Errorf("starts %d", c.Starts())
		}
	})

	pid := c.proc.cmd.Process.Pid
	k.Stop()
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Errorf("chaos-controller-manager (pid %d) still running after the control plane stopped: %v", pid, err)
	}
}

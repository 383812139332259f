package testenv

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
)

// TestKube starts the control plane, runs a Deployment on the kwok node,
// rolls it to a new ReplicaSet the way `kubectl rollout restart` does, and
// checks that Stop leaves no process behind.
func TestKube(t *testing.T) {
	start := time.Now()
	k := Kube(t)
	t.Logf("control plane ready in %s", time.Since(start).Round(100*time.Millisecond))
	ctx := context.Background()

	cfg, err := clientcmd.LoadFromFile(k.Kubeconfig)
	if err != nil || cfg.CurrentContext != KubeContext || cfg.Contexts[KubeContext] == nil {
		t.Fatalf("kubeconfig: %v %+v", err, cfg)
	}
	node, err := k.Clientset.CoreV1().Nodes().Get(ctx, k.NodeName, metav1.GetOptions{})
	if err != nil || node.Spec.Unschedulable {
		t.Fatalf("node: %v %+v", err, node)
	}

	d := k.Deployment(t, "harness", "web", 2)
	pods, err := k.Clientset.CoreV1().Pods("harness").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("pods: %v %d", err, len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning || p.Spec.NodeName != k.NodeName {
			t.Fatalf("pod %s: phase %s node %s", p.Name, p.Status.Phase, p.Spec.NodeName)
		}
	}

	patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, time.Now().Format(time.RFC3339))
	if _, err := k.Clientset.AppsV1().Deployments("harness").Patch(ctx, "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		cur, err := k.Clientset.AppsV1().Deployments("harness").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		s := cur.Status
		if cur.Generation > d.Generation && s.ObservedGeneration >= cur.Generation && s.UpdatedReplicas == 2 && s.AvailableReplicas == 2 && s.Replicas == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("restart never completed: %+v", s)
		}
		time.Sleep(200 * time.Millisecond)
	}
	rss, err := k.Clientset.AppsV1().ReplicaSets("harness").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(rss.Items) != 2 {
		t.Fatalf("want 2 ReplicaSets after a restart: %v %d", err, len(rss.Items))
	}

	k.Stop()
	for _, p := range k.procs {
		if err := syscall.Kill(p.cmd.Process.Pid, 0); err != syscall.ESRCH {
			t.Errorf("%s (pid %d) still running after Stop: %v", p.name, p.cmd.Process.Pid, err)
		}
	}
}

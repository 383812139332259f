package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"go.temporal.io/sdk/client"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/internal/app"
	"github.com/firebreak-ops/firebreak/internal/config"
	"github.com/firebreak-ops/firebreak/internal/ids"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

const benchExperiment = `
apiVersion: firebreak/v1
kind: Experiment
metadata: {name: bench-fail}
spec:
  target: {namespaces: [bench], selector: {app: web}, mode: one}
  blastRadius: {namespaces: [bench]}
  fault: {kind: PodChaos, spec: {action: pod-failure}}
  duration: 10m
  interval: 1m
  injectTimeout: 2m
  recoveryTimeout: 1m
`

// chaosHalt measures the halt: 50 experiments with their faults injected
// on a real kube-apiserver (Chaos Mesh's CRDs, the stand-in controller),
// then POST /v1/chaos/halt, timed until every resource is gone.
func (b *bench) chaosHalt(cfg *config.Config, stopWorker func()) error {
	kube, err := testenv.StartKube()
	if err != nil {
		return fmt.Errorf("control plane: %w", err)
	}
	defer kube.Stop()
	ctx := context.Background()
	if err := testenv.ApplyChaosMeshCRDs(ctx, kube.Config); err != nil {
		return err
	}
	ctrl, err := testenv.RunChaosController(kube.Config)
	if err != nil {
		return err
	}
	defer ctrl.Stop()
	if err := benchDeployment(ctx, kube); err != nil {
		return err
	}
	// The Firebreak worker again, now with the cluster configured.
	stopWorker()
	cfg.Kubernetes.Kubeconfig = kube.Kubeconfig
	w := app.NewWorker(b.c, cfg, slog.New(slog.DiscardHandler), "")
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Stop()
	f, err := experiments.Parse("bench.yaml", []byte(benchExperiment))
	if err != nil {
		return err
	}
	exp := f.Experiments[0]
	dyn, err := dynamic.NewForConfig(kube.Config)
	if err != nil {
		return err
	}
	gvr := schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "podchaos"}
	live := func() (total, injected int, err error) {
		list, err := dyn.Resource(gvr).Namespace("bench").List(ctx, metav1.ListOptions{})
		if err != nil {
			return 0, 0, err
		}
		for _, it := range list.Items {
			conds, _, _ := unstructured.NestedSlice(it.Object, "status", "conditions")
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == "AllInjected" && m["status"] == "True" {
					injected++
				}
			}
		}
		return len(list.Items), injected, nil
	}
	const n = 50
	var took []float64
	for r := 0; r < b.runs; r++ {
		for i := 0; i < n; i++ {
			id := names.ExperimentRunID(exp.Name(), ids.NewSuffix())
			if _, err := b.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: names.TaskQueue}, names.ExperimentWorkflow,
				chaoswire.ExperimentInput{Experiment: exp}); err != nil {
				return err
			}
		}
		deadline := time.Now().Add(3 * time.Minute)
		for {
			total, injected, err := live()
			if err != nil {
				return err
			}
			if total == n && injected == n {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("only %d of %d experiments injected", injected, n)
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(2 * time.Second) // every run is observing
		began := time.Now()
		resp, err := http.Post(b.api+"/v1/chaos/halt", "application/json", bytes.NewReader([]byte(`{"reason":"bench","by":"bench"}`)))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("halt: HTTP %d", resp.StatusCode)
		}
		for {
			total, _, err := live()
			if err != nil {
				return err
			}
			if total == 0 {
				break
			}
			if time.Since(began) > 2*time.Minute {
				return fmt.Errorf("%d resources still there 2 minutes after the halt", total)
			}
			time.Sleep(20 * time.Millisecond)
		}
		took = append(took, time.Since(began).Seconds())
		resp, err = http.Post(b.api+"/v1/chaos/resume", "application/json", bytes.NewReader([]byte(`{}`)))
		if err != nil {
			return err
		}
		resp.Body.Close()
		time.Sleep(2 * time.Second) // the halted runs finish
	}
	sort.Float64s(took)
	v := median(took)
	b.add(Figure{Name: "chaos: halt 50 running experiments → every fault removed", Value: v, Unit: "s", Target: "≤ 5 s", Met: ptr(v <= 5)})
	return nil
}

func benchDeployment(ctx context.Context, kube *testenv.KubeEnv) error {
	cs := kube.Clientset
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench"}}, metav1.CreateOptions{}); err != nil {
		return err
	}
	replicas := int32(3)
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "bench"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					NodeName:   kube.NodeName,
					Containers: []corev1.Container{{Name: "web", Image: "web:bench"}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("bench").Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return err
	}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		pods, err := cs.CoreV1().Pods("bench").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err == nil {
			running := 0
			for _, p := range pods.Items {
				if p.Status.Phase == corev1.PodRunning {
					running++
				}
			}
			if running == 3 {
				return nil
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("bench pods not running within 90s")
}

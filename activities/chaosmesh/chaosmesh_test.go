package chaosmesh_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/testenv"
)

// One control plane for the whole package. The first test runs before the
// Chaos Mesh CRDs are installed, to see a cluster without Chaos Mesh; the
// others share the CRDs, one stand-in controller for the kinds that need
// chaos-daemon, and Chaos Mesh's real controller for PodChaos in
// namespace realNS (the stand-in leaves that namespace alone).
var (
	kubeOnce  sync.Once
	kube      *testenv.KubeEnv
	kubeErr   error
	chaosOnce sync.Once
	chaosErr  error
	ctrl      *testenv.ChaosController
	realOnce  sync.Once
	realErr   error
	real      *testenv.ChaosMesh
)

// realNS is the namespace Chaos Mesh's real controller watches.
const realNS = "real-chaos"

func TestMain(m *testing.M) {
	code := m.Run()
	if ctrl != nil {
		if code != 0 {
			fmt.Fprintln(os.Stderr, "chaos controller errors:", strings.Join(ctrl.Errors(), "\n"))
		}
		ctrl.Stop()
	}
	if kube != nil {
		if code != 0 {
			fmt.Fprintln(os.Stderr, kube.Logs())
		}
		kube.Stop()
	}
	os.Exit(code)
}

// cluster returns the package's control plane, with or without Chaos Mesh.
func cluster(t *testing.T) *testenv.KubeEnv {
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
	return kube
}

// chaosCluster returns the control plane with the Chaos Mesh CRDs and the
// stand-in controller running.
func chaosCluster(t *testing.T) (*testenv.KubeEnv, *testenv.ChaosController) {
	t.Helper()
	k := cluster(t)
	chaosOnce.Do(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if chaosErr = testenv.ApplyChaosMeshCRDs(ctx, k.Config); chaosErr != nil {
			return
		}
		ctrl, chaosErr = testenv.RunChaosController(k.Config, realNS)
		t.Logf("Chaos Mesh CRDs and controller ready in %s", time.Since(start).Round(10*time.Millisecond))
	})
	if chaosErr != nil {
		t.Fatal(chaosErr)
	}
	return k, ctrl
}

// realChaosMesh returns the control plane with the Chaos Mesh CRDs and
// Chaos Mesh's real controller running in realNS.
func realChaosMesh(t *testing.T) (*testenv.KubeEnv, *testenv.ChaosMesh) {
	t.Helper()
	k, _ := chaosCluster(t)
	realOnce.Do(func() {
		start := time.Now()
		real, realErr = testenv.StartChaosMeshIn(k, realNS)
		t.Logf("Chaos Mesh's controller ready in %s", time.Since(start).Round(10*time.Millisecond))
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	return k, real
}

// chaosInstalled reports whether the shared cluster has the CRDs.
func chaosInstalled() bool { return ctrl != nil || chaosErr != nil }

func obj(kind, ns, name string) actions.ChaosObject {
	return actions.ChaosObject{Kind: kind, Namespace: ns, Name: name}
}

// createReq is a request the way experiments make them: labelled with the
// run and experiment, annotated with the run ID.
func createReq(o actions.ChaosObject, run, spec string) actions.ChaosCreateRequest {
	return actions.ChaosCreateRequest{
		Object:      o,
		Spec:        json.RawMessage(spec),
		Labels:      map[string]string{names.LabelRun: run, names.LabelExperiment: "test"},
		Annotations: map[string]string{names.AnnotationRunID: "experiment:test:" + run},
	}
}

// await waits for a condition and fails the test unless it is reached.
func await(t *testing.T, a *chaosmesh.Activities, o actions.ChaosObject, until string, timeout time.Duration) actions.ChaosState {
	t.Helper()
	res, err := a.Await(context.Background(), actions.ChaosAwaitRequest{Object: o, Until: until, Timeout: timeout, Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatalf("await %s %s: %v", until, o.Name, err)
	}
	if !res.Reached {
		t.Fatalf("await %s %s: not reached in %s; state %+v", until, o.Name, timeout, res.State)
	}
	return res.State
}

// TestWithoutChaosMesh checks a cluster that does not serve the Chaos Mesh
// kinds: the sweep finds nothing, reads and deletes see nothing, creates
// fail permanently. It uses the shared cluster when it runs first (as in a
// full run), else a cluster of its own.
func TestWithoutChaosMesh(t *testing.T) {
	k := cluster(t)
	if chaosInstalled() {
		k = testenv.Kube(t)
	}
	ctx := context.Background()
	a := chaosmesh.NewFromREST(k.Config)

	deleted, err := a.Sweep(ctx, func(context.Context, string) (bool, error) {
		t.Error("sweep asked about a run")
		return false, nil
	})
	if err != nil || len(deleted) != 0 {
		t.Fatalf("sweep: %v %v", deleted, err)
	}
	o := obj("PodChaos", "default", "absent")
	if st, err := a.Status(ctx, o); err != nil || st.Exists {
		t.Fatalf("status: %+v %v", st, err)
	}
	if err := a.Delete(ctx, o); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := a.Await(ctx, actions.ChaosAwaitRequest{Object: o, Until: actions.UntilGone, Timeout: time.Second}); err != nil {
		t.Fatalf("await gone: %v", err)
	}
	_, err = a.Create(ctx, createReq(o, "r1", `{"action":"pod-kill","mode":"one","selector":{}}`))
	if !actions.IsPermanent(err) || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("create without Chaos Mesh: want a permanent 'not installed' error, got %v", err)
	}
}

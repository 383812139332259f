package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/firebreak-ops/firebreak/experiments"
	"github.com/firebreak-ops/firebreak/internal/names"
	"github.com/firebreak-ops/firebreak/internal/testenv"
	chaoswire "github.com/firebreak-ops/firebreak/workflows/wire/chaos"
)

// crashExperiment injects for 12 s; the tests kill its worker in the middle.
const crashExperiment = `
apiVersion: firebreak/v1
kind: Experiment
metadata: {name: crash-checkout}
spec:
  target: {namespaces: [shop], selector: {app: checkout}, mode: one}
  blastRadius: {namespaces: [shop]}
  fault: {kind: PodChaos, spec: {action: pod-failure}}
  probes:
    - name: checkout
      kubernetes: {apiVersion: apps/v1, kind: Deployment, namespace: shop, name: checkout}
  steadyState: probes.checkout.spec.replicas == 3
  duration: 12s
  interval: 1s
  injectTimeout: 30s
  recoveryTimeout: 30s
`

// crashSetup runs checkout in namespace ns of the package's control plane,
// with Chaos Mesh's real controller, and writes the experiment (moved into
// ns) and a config naming the cluster.
func crashSetup(t *testing.T, ns string) (e *chaosEnv, expPath, cfgPath string) {
	kube, cm := cluster.ChaosMesh(t)
	kube.Deployment(t, ns, "checkout", 3)
	dir := t.TempDir()
	expPath = filepath.Join(dir, "crash.yaml")
	cfgPath = filepath.Join(dir, "firebreak.yaml")
	if err := os.WriteFile(expPath, []byte(inNamespace(crashExperiment, ns)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf("kubernetes:\n  kubeconfig: %s\n", kube.Kubeconfig)), 0o600); err != nil {
		t.Fatal(err)
	}
	e = &chaosEnv{t: t, kube: kube, cm: cm, ns: ns}
	e.dyn = dynamicClient(t, kube)
	return e, expPath, cfgPath
}

// rolledBack waits for the run to finish and checks the fault is gone, the
// removal verified by the run itself, and every checkout pod running its
// own image again.
func rolledBack(t *testing.T, e *chaosEnv, id string, within time.Duration) *chaoswire.ExperimentState {
	t.Helper()
	st := e.wait(id, within, done)
	var rollback *chaoswire.Phase
	for i := range st.Phases {
		if st.Phases[i].Name == chaoswire.PhaseRollback {
			rollback = &st.Phases[i]
		}
	}
	if rollback == nil || rollback.Status != "ok" || st.RecoveredAt == nil {
		t.Fatalf("no verified rollback: verdict %s (%s) phases %+v", st.Verdict, st.Reason, st.Phases)
	}
	if live := e.podChaos(); len(live) != 0 {
		t.Fatalf("resources left after the run: %v", live)
	}
	e.imagesRestored()
	return st
}

// TestChaosWorkerKilledDuringObservation kills -9 the worker while the
// fault is injected; a new worker rolls it back and verifies it is gone.
func TestChaosWorkerKilledDuringObservation(t *testing.T) {
	bin := firebreakBinary(t)
	e, expPath, cfgPath := crashSetup(t, "crash-worker")
	cat, err := experiments.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if err := cat.LoadPath(expPath); err != nil {
		t.Fatal(err)
	}
	eng := testenv.Engine(t, t.TempDir())
	fb := testenv.StartFirebreak(t, eng, testenv.Options{Role: "api", Experiments: cat})
	e.api = &api{t: t, base: fb.URL}
	// An orphan: a Firebreak resource whose run this Temporal has never
	// heard of. The worker's start-up sweep removes it.
	orphan := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "PodChaos",
		"metadata": map[string]any{"name": "fb-orphan", "namespace": e.ns,
			"labels":      map[string]any{names.LabelManagedBy: names.LabelManagedByValue},
			"annotations": map[string]any{names.AnnotationRunID: "experiment:gone:xyz"}},
		"spec": map[string]any{"action": "pod-failure", "mode": "one", "selector": map[string]any{"namespaces": []any{e.ns}}},
	}}
	if _, err := e.dyn.Resource(podChaosGVR).Namespace(e.ns).Create(context.Background(), orphan, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	worker := serve(t, bin, eng.FrontendAddress(), "worker", "--experiments", expPath, "--config", cfgPath)
	deadline := time.Now().Add(30 * time.Second)
	for len(e.podChaos()) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the orphan survived the worker's start: %v", e.podChaos())
		}
		time.Sleep(100 * time.Millisecond)
	}

	ref := e.start("crash-checkout", false)
	e.wait(ref.ID, 60*time.Second, injected)
	time.Sleep(2 * time.Second) // into the observation phase
	if err := worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = worker.Wait()
	if live := e.podChaos(); len(live) != 1 {
		t.Fatalf("the fault should outlive the dead worker: %v", live)
	}
	time.Sleep(3 * time.Second)
	serve(t, bin, eng.FrontendAddress(), "worker", "--experiments", expPath, "--config", cfgPath)
	st := rolledBack(t, e, ref.ID, 90*time.Second)
	if st.Verdict != chaoswire.VerdictPassed {
		t.Errorf("verdict %s: %s", st.Verdict, st.Reason)
	}
}

// TestChaosDevRestart kills -9 `firebreak dev` itself (embedded Temporal,
// worker and API in one process) while the fault is injected, and starts it
// again on the same data dir: the run resumes, rolls back and verifies.
func TestChaosDevRestart(t *testing.T) {
	bin := firebreakBinary(t)
	e, expPath, cfgPath := crashSetup(t, "crash-dev")
	dataDir := t.TempDir()
	apiPort, temporalPort := testenv.FreePort(t), testenv.FreePort(t)
	e.api = &api{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", apiPort)}
	dev := func() *exec.Cmd {
		cmd := exec.Command(bin, "dev", "--data-dir", dataDir, "--listen", fmt.Sprintf("127.0.0.1:%d", apiPort),
			"--temporal-port", fmt.Sprint(temporalPort), "--ui-port", "0", "--experiments", expPath, "--config", cfgPath)
		logFile, _ := os.Create(filepath.Join(t.TempDir(), "dev.log"))
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Signal(syscall.SIGINT)
				_ = cmd.Wait()
			}
			if t.Failed() {
				b, _ := os.ReadFile(logFile.Name())
				t.Logf("dev log:\n%s", b)
			}
		})
		deadline := time.Now().Add(60 * time.Second)
		for e.api.tryGet("/readyz", nil) != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatal("firebreak dev not ready within 60s")
			}
			time.Sleep(100 * time.Millisecond)
		}
		return cmd
	}
	first := dev()
	ref := e.start("crash-checkout", false)
	e.wait(ref.ID, 60*time.Second, injected)
	time.Sleep(2 * time.Second)
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	if live := e.podChaos(); len(live) != 1 {
		t.Fatalf("the fault should outlive the dead process: %v", live)
	}
	dev()
	st := rolledBack(t, e, ref.ID, 120*time.Second)
	if st.Verdict != chaoswire.VerdictPassed {
		t.Errorf("verdict %s: %s", st.Verdict, st.Reason)
	}
}

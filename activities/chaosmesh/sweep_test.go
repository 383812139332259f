package chaosmesh_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
	"github.com/firebreak-ops/firebreak/internal/names"
)

// TestSweep checks that the sweep deletes exactly the Firebreak resources
// of runs that are no longer open, asking once per run.
func TestSweep(t *testing.T) {
	k, _ := chaosCluster(t)
	k.Namespace(t, "sweep-a")
	k.Namespace(t, "sweep-b")
	a := chaosmesh.NewFromREST(k.Config)
	ctx := context.Background()
	none := `"selector":{"labelSelectors":{"app":"none"}}`

	open := obj("PodChaos", "sweep-a", "open")
	closed1 := obj("NetworkChaos", "sweep-a", "closed")
	closed2 := obj("StressChaos", "sweep-b", "closed")
	failing := obj("PodChaos", "sweep-b", "unknown-run")
	noRun := obj("HTTPChaos", "sweep-a", "no-run-id")
	for _, c := range []struct {
		o    actions.ChaosObject
		run  string
		spec string
	}{
		{open, "run-open", `{"action":"pod-failure","mode":"all","duration":"1m",` + none + `}`},
		{closed1, "run-closed", `{"action":"delay","mode":"all","delay":{"latency":"1ms"},` + none + `}`},
		{closed2, "run-closed", `{"mode":"all","stressors":{"memory":{"workers":1,"size":"1MB"}},` + none + `}`},
		{failing, "run-err", `{"action":"pod-failure","mode":"all","duration":"1m",` + none + `}`},
	} {
		if _, err := a.Create(ctx, createReq(c.o, c.run, c.spec)); err != nil {
			t.Fatal(err)
		}
	}
	req := createReq(noRun, "run-closed", `{"mode":"all","target":"Request","port":80,"abort":true,`+none+`}`)
	req.Annotations = nil
	if _, err := a.Create(ctx, req); err != nil {
		t.Fatal(err)
	}
	// Not labelled as Firebreak's: the sweep must not touch it, whatever
	// its annotation says.
	c := reader(t)
	foreign := &v1alpha1.PodChaos{
		ObjectMeta: metav1.ObjectMeta{Namespace: "sweep-a", Name: "foreign",
			Annotations: map[string]string{names.AnnotationRunID: "experiment:test:run-closed"}},
		Spec: v1alpha1.PodChaosSpec{Action: v1alpha1.PodKillAction, ContainerSelector: v1alpha1.ContainerSelector{
			PodSelector: v1alpha1.PodSelector{Mode: v1alpha1.AllMode, Selector: v1alpha1.PodSelectorSpec{
				GenericSelectorSpec: v1alpha1.GenericSelectorSpec{LabelSelectors: map[string]string{"app": "none"}}}}}},
	}
	if err := c.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	asked := map[string]int{}
	isOpen := func(_ context.Context, runID string) (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		asked[runID]++
		switch runID {
		case "experiment:test:run-closed":
			return false, nil
		case "experiment:test:run-err":
			return false, errors.New("history unavailable")
		}
		return true, nil // run-open, and anything other tests left
	}
	start := time.Now()
	deleted, err := a.Sweep(ctx, isOpen)
	t.Logf("sweep took %s", time.Since(start).Round(time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "history unavailable") || !strings.Contains(err.Error(), "run-err") {
		t.Fatalf("sweep error: %v", err)
	}
	if want := []actions.ChaosObject{closed1, closed2}; !slices.Equal(deleted, want) {
		t.Fatalf("deleted %v, want %v", deleted, want)
	}
	for _, run := range []string{"run-open", "run-closed"} {
		if n := asked["experiment:test:"+run]; n != 1 {
			t.Errorf("asked about %s %d times", run, n)
		}
	}
	for _, o := range deleted {
		await(t, a, o, actions.UntilGone, 5*time.Second)
	}
	for _, o := range []actions.ChaosObject{open, failing, noRun, obj("PodChaos", "sweep-a", "foreign")} {
		if st, err := a.Status(ctx, o); err != nil || !st.Exists || st.Deleting {
			t.Errorf("%s/%s should be untouched: %+v %v", o.Namespace, o.Name, st, err)
		}
	}
}

package chaosmesh_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/chaosmesh"
)

// TestHaltMany injects 50 resources and halts them all at once, as the
// chaos halt switch does: deleted, recovered and gone well within 5 s.
func TestHaltMany(t *testing.T) {
	k, _ := chaosCluster(t)
	const ns, n = "halt", 50
	k.Deployment(t, ns, "web", 2)
	a := chaosmesh.NewFromREST(k.Config)
	ctx := context.Background()
	objs := make([]actions.ChaosObject, n)
	for i := range objs {
		objs[i] = obj("NetworkChaos", ns, fmt.Sprintf("delay-%02d", i))
	}
	all := func(f func(o actions.ChaosObject) error) {
		t.Helper()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
			sem  = make(chan struct{}, 10)
		)
		for _, o := range objs {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				if err := f(o); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	reached := func(until string) func(o actions.ChaosObject) error {
		return func(o actions.ChaosObject) error {
			res, err := a.Await(ctx, actions.ChaosAwaitRequest{Object: o, Until: until, Timeout: 10 * time.Second, Poll: 50 * time.Millisecond})
			if err == nil && !res.Reached {
				err = fmt.Errorf("%s never %s: %+v", o.Name, until, res.State)
			}
			return err
		}
	}

	start := time.Now()
	all(func(o actions.ChaosObject) error {
		_, err := a.Create(ctx, createReq(o, "run-halt", `{"action":"delay","mode":"one","delay":{"latency":"10ms"},"selector":{"labelSelectors":{"app":"web"}}}`))
		return err
	})
	all(reached(actions.UntilInjected))
	t.Logf("%d resources created and injected in %s", n, time.Since(start).Round(time.Millisecond))

	start = time.Now()
	all(func(o actions.ChaosObject) error { return a.Delete(ctx, o) })
	all(reached(actions.UntilGone))
	took := time.Since(start)
	t.Logf("%d resources halted (deleted, recovered, gone) in %s", n, took.Round(time.Millisecond))
	if took > 5*time.Second {
		t.Fatalf("halting %d resources took %s, want at most 5s", n, took)
	}
}

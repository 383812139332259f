package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

// ChaosFinalizer is the finalizer Chaos Mesh (and ChaosController) puts on
// the resources it injects, and removes once their targets are recovered.
const ChaosFinalizer = "chaos-mesh/records"

// ChaosController stands in for the Chaos Mesh controller for the faults
// that need chaos-daemon on real nodes (NetworkChaos, StressChaos,
// HTTPChaos, IOChaos, …): PodChaos pod-kill and pod-failure are tested on
// the real controller (ChaosMesh). It watches the kinds of
// ChaosMeshResources in all namespaces but those it skips. For a new resource it adds ChaosFinalizer, selects pods
// from the cluster's real pods with the resource's selector and mode,
// kills them for a PodChaos pod-kill (their controllers recreate them),
// and records them as injected in the status, with Selected and
// AllInjected true. For a resource being deleted it records every target
// recovered, sets AllRecovered, and removes the finalizer, unless it is
// stuck. Chaos Mesh's CRDs have no status subresource, so status is
// written with the object.
type ChaosController struct {
	dyn     dynamic.Interface
	pods    kubernetes.Interface
	queue   workqueue.TypedRateLimitingInterface[chaosKey]
	factory dynamicinformer.DynamicSharedInformerFactory
	stuck   atomic.Bool
	skip    []string // namespaces left to another controller
	cancel  context.CancelFunc
	workers sync.WaitGroup
	stop    sync.Once

	mu        sync.Mutex
	injected  map[string]int
	recovered map[string]int
	killed    []string
	errs      []string
}

// chaosKey names one Chaos Mesh resource.
type chaosKey struct{ kind, namespace, name string }

func (k chaosKey) String() string { return ChaosKey(k.kind, k.namespace, k.name) }

// ChaosKey is how ChaosController's counters name a resource:
// Kind/namespace/name.
func ChaosKey(kind, namespace, name string) string { return kind + "/" + namespace + "/" + name }

// StartChaosController runs a ChaosController on k until the test ends,
// leaving the namespaces in skip alone. Install the CRDs first
// (InstallChaosMesh). Run one at a time per cluster.
func StartChaosController(t testing.TB, k *KubeEnv, skip ...string) *ChaosController {
	t.Helper()
	c, err := RunChaosController(k.Config, skip...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// RunChaosController starts a ChaosController outside a test; the caller
// must Stop it. It leaves the namespaces in skip alone: Chaos Mesh's real
// controller may run there (StartChaosMeshIn).
func RunChaosController(cfg *rest.Config, skip ...string) (*ChaosController, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 1000, 2000
	cfg.UserAgent = "firebreak-testenv-chaos-controller"
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &ChaosController{
		dyn:  dyn,
		pods: cs,
		queue: workqueue.NewTypedRateLimitingQueue(
			workqueue.NewTypedItemExponentialFailureRateLimiter[chaosKey](10*time.Millisecond, time.Second)),
		factory:   dynamicinformer.NewDynamicSharedInformerFactory(dyn, 0),
		skip:      skip,
		cancel:    cancel,
		injected:  map[string]int{},
		recovered: map[string]int{},
	}
	for kind, resource := range ChaosMeshResources {
		inf := c.factory.ForResource(ChaosMeshGroupVersion.WithResource(resource)).Informer()
		enqueue := func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok && !slices.Contains(c.skip, u.GetNamespace()) {
				c.queue.Add(chaosKey{kind, u.GetNamespace(), u.GetName()})
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    enqueue,
			UpdateFunc: func(_, obj any) { enqueue(obj) },
		}); err != nil {
			c.Stop()
			return nil, err
		}
	}
	c.factory.Start(ctx.Done())
	syncCtx, syncCancel := context.WithTimeout(ctx, 30*time.Second)
	defer syncCancel()
	for gvr, ok := range c.factory.WaitForCacheSync(syncCtx.Done()) {
		if !ok {
			c.Stop()
			return nil, fmt.Errorf("chaos controller: %s never synced: are the Chaos Mesh CRDs installed?", gvr.Resource)
		}
	}
	for range 8 {
		c.workers.Go(func() { c.work(ctx) })
	}
	return c, nil
}

// Stop stops the controller and waits for its workers. It is safe to call
// more than once.
func (c *ChaosController) Stop() {
	c.stop.Do(func() {
		c.cancel()
		c.queue.ShutDown()
		c.workers.Wait()
		c.factory.Shutdown()
	})
}

// SetStuck makes the controller leave resources being deleted alone, their
// targets injected and their finalizer in place, as a Chaos Mesh that
// cannot recover its targets would. Unsticking it recovers them.
func (c *ChaosController) SetStuck(stuck bool) {
	c.stuck.Store(stuck)
	if stuck {
		return
	}
	for kind, resource := range ChaosMeshResources {
		inf := c.factory.ForResource(ChaosMeshGroupVersion.WithResource(resource)).Informer()
		for _, obj := range inf.GetStore().List() {
			if u, ok := obj.(*unstructured.Unstructured); ok && !slices.Contains(c.skip, u.GetNamespace()) {
				c.queue.Add(chaosKey{kind, u.GetNamespace(), u.GetName()})
			}
		}
	}
}

// Injected counts, by ChaosKey, how often the controller injected each
// resource.
func (c *ChaosController) Injected() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.injected)
}

// Recovered counts, by ChaosKey, how often the controller recovered each
// resource and released its finalizer.
func (c *ChaosController) Recovered() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.recovered)
}

// Killed lists the pods (namespace/name) PodChaos pod-kill deleted, in
// order.
func (c *ChaosController) Killed() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.killed)
}

// Errors lists the reconcile errors the controller met (it retries them),
// for failure messages.
func (c *ChaosController) Errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.errs)
}

func (c *ChaosController) work(ctx context.Context) {
	for {
		key, quit := c.queue.Get()
		if quit {
			return
		}
		err := c.reconcile(ctx, key)
		switch {
		case err == nil:
			c.queue.Forget(key)
		case ctx.Err() == nil:
			c.mu.Lock()
			if len(c.errs) < 100 {
				c.errs = append(c.errs, key.String()+": "+err.Error())
			}
			c.mu.Unlock()
			c.queue.AddRateLimited(key)
		}
		c.queue.Done(key)
	}
}

func (c *ChaosController) client(key chaosKey) dynamic.ResourceInterface {
	return c.dyn.Resource(ChaosMeshGroupVersion.WithResource(ChaosMeshResources[key.kind])).Namespace(key.namespace)
}

func (c *ChaosController) reconcile(ctx context.Context, key chaosKey) error {
	obj, err := c.client(key).Get(ctx, key.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if obj.GetDeletionTimestamp() != nil {
		return c.recover(ctx, key, obj)
	}
	return c.inject(ctx, key, obj)
}

// chaosTargets is the part of every handled kind's spec the controller
// reads.
type chaosTargets struct {
	v1alpha1.ContainerSelector `json:",inline"`
	Action                     string `json:"action"`
	GracePeriod                int64  `json:"gracePeriod"`
}

// inject handles a live resource once: selects, kills for pod-kill, and
// writes the finalizer and the injected status.
func (c *ChaosController) inject(ctx context.Context, key chaosKey, obj *unstructured.Unstructured) error {
	st, err := chaosStatus(obj)
	if err != nil {
		return err
	}
	for _, cond := range st.Conditions {
		if cond.Type == v1alpha1.ConditionSelected {
			return nil // handled already
		}
	}
	var spec chaosTargets
	raw, err := json.Marshal(obj.Object["spec"])
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("spec: %w", err)
	}
	pods, selErr := selectPods(ctx, c.pods, key.namespace, spec.PodSelector)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if key.kind == "PodChaos" && spec.Action == string(v1alpha1.PodKillAction) {
		for _, p := range pods {
			if err := c.kill(ctx, p, spec.GracePeriod); err != nil {
				return err
			}
		}
	}
	st = v1alpha1.ChaosStatus{Experiment: v1alpha1.ExperimentStatus{DesiredPhase: v1alpha1.RunningPhase}}
	for _, p := range pods {
		for _, id := range recordIDs(key.kind, spec, p) {
			st.Experiment.Records = append(st.Experiment.Records, &v1alpha1.Record{
				Id: id, SelectorKey: ".", Phase: v1alpha1.Injected, InjectedCount: 1,
			})
		}
	}
	switch {
	case selErr != nil:
		st.Conditions = conditions(false, false, false, "Failed: "+selErr.Error())
	case len(st.Experiment.Records) == 0:
		st.Conditions = conditions(false, false, false, "no pod is selected")
	default:
		st.Conditions = conditions(true, true, false, "")
	}
	first := true
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := obj
		if !first {
			if cur, err = c.client(key).Get(ctx, key.name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		first = false
		if cur.GetDeletionTimestamp() != nil {
			return nil // deleted meanwhile; nothing to recover without a finalizer
		}
		if !slices.Contains(cur.GetFinalizers(), ChaosFinalizer) {
			cur.SetFinalizers(append(cur.GetFinalizers(), ChaosFinalizer))
		}
		if err := setChaosStatus(cur, st); err != nil {
			return err
		}
		_, err := c.client(key).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(st.Experiment.Records) > 0 {
		c.mu.Lock()
		c.injected[key.String()]++
		c.mu.Unlock()
	}
	return nil
}

func (c *ChaosController) kill(ctx context.Context, p corev1.Pod, grace int64) error {
	uid := p.UID
	err := c.pods.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{
		GracePeriodSeconds: &grace,
		Preconditions:      &metav1.Preconditions{UID: &uid},
	})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("pod-kill %s/%s: %w", p.Namespace, p.Name, err)
	}
	c.mu.Lock()
	c.killed = append(c.killed, p.Namespace+"/"+p.Name)
	c.mu.Unlock()
	return nil
}

// recover marks a deleted resource's targets recovered and releases its
// finalizer, unless the controller is stuck.
func (c *ChaosController) recover(ctx context.Context, key chaosKey, obj *unstructured.Unstructured) error {
	if !slices.Contains(obj.GetFinalizers(), ChaosFinalizer) || c.stuck.Load() {
		return nil
	}
	first := true
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := obj
		if !first {
			var err error
			if cur, err = c.client(key).Get(ctx, key.name, metav1.GetOptions{}); err != nil {
				return err
			}
		}
		first = false
		st, err := chaosStatus(cur)
		if err != nil {
			return err
		}
		if !conditionTrue(st, v1alpha1.ConditionAllRecovered) {
			for _, r := range st.Experiment.Records {
				if r != nil && r.Phase == v1alpha1.Injected {
					r.Phase = v1alpha1.NotInjected
					r.RecoveredCount++
				}
			}
			st.Experiment.DesiredPhase = v1alpha1.StoppedPhase
			st.Conditions = conditions(conditionTrue(st, v1alpha1.ConditionSelected), false, true, "")
			if err := setChaosStatus(cur, st); err != nil {
				return err
			}
			if cur, err = c.client(key).Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
				return err
			}
			// Counted once the recovery is recorded, before the finalizer
			// goes: whoever sees the object gone sees the count too.
			c.mu.Lock()
			c.recovered[key.String()]++
			c.mu.Unlock()
		}
		cur.SetFinalizers(slices.DeleteFunc(cur.GetFinalizers(), func(f string) bool { return f == ChaosFinalizer }))
		_, err = c.client(key).Update(ctx, cur, metav1.UpdateOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

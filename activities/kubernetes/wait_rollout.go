package kubernetes

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/internal/source"
)

// pollInterval is how often wait-rollout looks at the workload.
const pollInterval = 500 * time.Millisecond

type waitRolloutInput struct {
	common
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Timeout   string `json:"timeout"`
}

// rollout is a workload's rollout progress.
type rollout struct {
	Generation         int64  `json:"generation"`
	ObservedGeneration int64  `json:"observedGeneration"`
	Desired            int64  `json:"desired"`
	Updated            int64  `json:"updated"`
	Ready              int64  `json:"ready"`
	Available          int64  `json:"available"`
	Complete           bool   `json:"complete"`
	Waiting            string `json:"waiting,omitempty"` // what the rollout waits for
}

// WaitRollout waits until a workload's rollout is complete: the controller
// has seen the latest spec (observedGeneration ≥ generation) and every
// desired replica is updated and available, with no old replica left. It
// heartbeats its progress while waiting, fails at once if a deployment
// exceeded its progress deadline, and fails permanently after timeout
// (default 5m). A dry run restarted nothing, so it does not wait: it reads
// the workload once and says what a real run would wait for.
func (a *Activities) WaitRollout(ctx context.Context, req actions.Request) (any, error) {
	var in waitRolloutInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	kind, err := workloadKind(in.Kind, kindDeployment, kindStatefulSet, kindDaemonSet)
	if err != nil {
		return nil, err
	}
	if err := requireName("name", in.Name); err != nil {
		return nil, err
	}
	timeout := 5 * time.Minute
	if in.Timeout != "" {
		d, err := source.ParseDuration(in.Timeout)
		if err != nil {
			return nil, actions.Permanent(err)
		}
		timeout = d.D()
	}
	c, err := a.clientsFor(in.Context)
	if err != nil {
		return nil, err
	}
	ns := c.ns(in.Namespace)
	if req.DryRun {
		return dryRunWait(ctx, c, kind, ns, in.Name, timeout)
	}
	start := time.Now()
	deadline := start.Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		w, err := c.getWorkload(ctx, kind, ns, in.Name)
		if err != nil {
			return nil, err
		}
		r, err := progress(w)
		if err != nil {
			return nil, err
		}
		Heartbeat(ctx, r)
		if r.Complete {
			return map[string]any{
				"kind": kind, "namespace": ns, "name": in.Name,
				"generation": r.Generation, "observedGeneration": r.ObservedGeneration,
				"desired": r.Desired, "updated": r.Updated, "ready": r.Ready, "available": r.Available,
				"complete": true, "waited": time.Since(start).Round(time.Millisecond).String(),
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, actions.Permanentf("rollout of %s not complete after %s: %s (%d desired, %d updated, %d ready, %d available)",
				w.what(), source.Duration(timeout), r.Waiting, r.Desired, r.Updated, r.Ready, r.Available)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for rollout of %s: %w", w.what(), ctx.Err())
		case <-tick.C:
		}
	}
}

// dryRunWait reads a workload's rollout once: the workload must exist and
// be a kind whose rollout can be waited for, as in a real run, but an
// incomplete rollout is reported, not waited for.
func dryRunWait(ctx context.Context, c *clients, kind, ns, name string, timeout time.Duration) (any, error) {
	w, err := c.getWorkload(ctx, kind, ns, name)
	if err != nil {
		return nil, err
	}
	r, err := progress(w)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"dryRun": true, "kind": kind, "namespace": ns, "name": name,
		"wouldWait": source.Duration(timeout).String(), "complete": r.Complete, "waiting": r.Waiting,
		"generation": r.Generation, "observedGeneration": r.ObservedGeneration,
		"desired": r.Desired, "updated": r.Updated, "ready": r.Ready, "available": r.Available,
	}, nil
}

// progress reads a workload's rollout state, the way `kubectl rollout
// status` judges it.
func progress(w *workload) (rollout, error) {
	var r rollout
	r.Generation = w.obj.GetGeneration()
	switch {
	case w.deployment != nil:
		d := w.deployment
		s := d.Status
		r.ObservedGeneration = int64(s.ObservedGeneration)
		r.Desired = replicas(d.Spec.Replicas)
		r.Updated, r.Ready, r.Available = int64(s.UpdatedReplicas), int64(s.ReadyReplicas), int64(s.AvailableReplicas)
		for _, c := range s.Conditions {
			if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" && r.ObservedGeneration >= r.Generation {
				return r, actions.Permanentf("%s exceeded its progress deadline: %s", w.what(), c.Message)
			}
		}
		switch {
		case r.ObservedGeneration < r.Generation:
			r.Waiting = "the controller to observe the new spec"
		case r.Updated < r.Desired:
			r.Waiting = fmt.Sprintf("%d of %d replicas updated", r.Updated, r.Desired)
		case int64(s.Replicas) > r.Updated:
			r.Waiting = fmt.Sprintf("%d old replicas to terminate", int64(s.Replicas)-r.Updated)
		case r.Available < r.Updated:
			r.Waiting = fmt.Sprintf("%d of %d updated replicas available", r.Available, r.Updated)
		}
	case w.statefulSet != nil:
		st := w.statefulSet
		s := st.Status
		if st.Spec.UpdateStrategy.Type != appsv1.RollingUpdateStatefulSetStrategyType {
			return r, actions.Permanentf("%s uses the %s update strategy: its rollout cannot be waited for", w.what(), st.Spec.UpdateStrategy.Type)
		}
		r.ObservedGeneration = s.ObservedGeneration
		r.Desired = replicas(st.Spec.Replicas)
		r.Updated, r.Ready, r.Available = int64(s.UpdatedReplicas), int64(s.ReadyReplicas), int64(s.AvailableReplicas)
		partition := int64(0)
		if ru := st.Spec.UpdateStrategy.RollingUpdate; ru != nil && ru.Partition != nil {
			partition = int64(*ru.Partition)
		}
		switch {
		case r.ObservedGeneration < r.Generation:
			r.Waiting = "the controller to observe the new spec"
		case r.Ready < r.Desired || r.Available < r.Desired:
			r.Waiting = fmt.Sprintf("%d of %d replicas available", r.Available, r.Desired)
		case partition > 0 && r.Updated < r.Desired-partition:
			r.Waiting = fmt.Sprintf("%d of %d replicas above partition %d updated", r.Updated, r.Desired-partition, partition)
		case partition == 0 && (s.UpdateRevision != s.CurrentRevision || r.Updated < r.Desired):
			r.Waiting = fmt.Sprintf("%d of %d replicas updated", r.Updated, r.Desired)
		}
	case w.daemonSet != nil:
		ds := w.daemonSet
		s := ds.Status
		if ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
			return r, actions.Permanentf("%s uses the %s update strategy: its rollout cannot be waited for", w.what(), ds.Spec.UpdateStrategy.Type)
		}
		r.ObservedGeneration = s.ObservedGeneration
		r.Desired = int64(s.DesiredNumberScheduled)
		r.Updated, r.Ready, r.Available = int64(s.UpdatedNumberScheduled), int64(s.NumberReady), int64(s.NumberAvailable)
		switch {
		case r.ObservedGeneration < r.Generation:
			r.Waiting = "the controller to observe the new spec"
		case r.Updated < r.Desired:
			r.Waiting = fmt.Sprintf("%d of %d pods updated", r.Updated, r.Desired)
		case r.Available < r.Desired:
			r.Waiting = fmt.Sprintf("%d of %d updated pods available", r.Available, r.Desired)
		}
	}
	r.Complete = r.Waiting == ""
	return r, nil
}

func replicas(p *int32) int64 {
	if p == nil {
		return 1
	}
	return int64(*p)
}

package chaosmesh

import (
	"context"
	"slices"
	"strings"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Status reads a Chaos Mesh resource's state: its conditions, the targets
// it recorded and whether it is being deleted. A resource that does not
// exist (or whose kind the cluster does not serve) has Exists false; that
// is not an error.
func (a *Activities) Status(ctx context.Context, o actions.ChaosObject) (actions.ChaosState, error) {
	_, obj, err := lookup(o)
	if err != nil {
		return actions.ChaosState{}, err
	}
	c, err := a.clientFor()
	if err != nil {
		return actions.ChaosState{}, err
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		if apierrors.IsNotFound(err) || notInstalled(err) {
			return actions.ChaosState{}, nil
		}
		return actions.ChaosState{}, classify(err, "chaos: reading "+describe(o))
	}
	return stateOf(obj), nil
}

// stateOf summarizes a resource as Firebreak sees it.
func stateOf(obj resource) actions.ChaosState {
	st := actions.ChaosState{
		Exists:     true,
		Deleting:   obj.GetDeletionTimestamp() != nil,
		Finalizers: slices.Clone(obj.GetFinalizers()),
	}
	s := obj.GetStatus()
	for _, c := range s.Conditions {
		on := c.Status == corev1.ConditionTrue
		switch c.Type {
		case v1alpha1.ConditionAllInjected:
			st.AllInjected = on
		case v1alpha1.ConditionAllRecovered:
			st.AllRecovered = on
		case v1alpha1.ConditionPaused:
			st.Paused = on
		}
	}
	for _, r := range s.Experiment.Records {
		if r == nil {
			continue
		}
		st.Records = append(st.Records, record(r))
	}
	return st
}

// record converts one status record. Chaos Mesh ids are namespace/pod for
// pods and namespace/pod/container for containers; Namespace and Name are
// the pod's.
func record(r *v1alpha1.Record) actions.ChaosRecord {
	out := actions.ChaosRecord{
		ID:             r.Id,
		Phase:          string(r.Phase),
		InjectedCount:  r.InjectedCount,
		RecoveredCount: r.RecoveredCount,
	}
	if ns, rest, ok := strings.Cut(r.Id, "/"); ok {
		out.Namespace = ns
		out.Name, _, _ = strings.Cut(rest, "/")
	}
	return out
}

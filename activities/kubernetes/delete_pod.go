package kubernetes

import (
	"context"
	"sort"

	"go.temporal.io/sdk/activity"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

type deletePodInput struct {
	common
	Namespace          string    `json:"namespace"`
	Name               string    `json:"name"`
	LabelSelector      string    `json:"labelSelector"`
	GracePeriodSeconds *intValue `json:"gracePeriodSeconds"`
	MaxPods            *intValue `json:"maxPods"`
}

// podRef is a chosen pod, kept in the activity's heartbeat details so a
// retried attempt deletes the same pods instead of choosing again (and
// deleting their replacements).
type podRef struct {
	Name string    `json:"name"`
	UID  types.UID `json:"uid"`
}

// DeletePod deletes a pod by name, or the live pods a label selector
// matches, refusing a selector that matches more than maxPods (default 1).
// Each deletion is bound to the chosen pod's UID: a pod that is already
// gone, or replaced by a new pod of the same name, counts as deleted.
func (a *Activities) DeletePod(ctx context.Context, req actions.Request) (any, error) {
	var in deletePodInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	if (in.Name == "") == (in.LabelSelector == "") {
		return nil, actions.Permanentf("give exactly one of with.name and with.labelSelector")
	}
	maxPods := int64(1)
	if in.MaxPods != nil {
		maxPods = int64(*in.MaxPods)
	}
	if maxPods < 1 {
		return nil, actions.Permanentf("maxPods %d must be at least 1", maxPods)
	}
	var sel labels.Selector
	if in.LabelSelector != "" {
		s, err := labels.Parse(in.LabelSelector)
		if err != nil {
			return nil, actions.Permanentf("labelSelector %q: %v", in.LabelSelector, err)
		}
		if s.Empty() {
			return nil, actions.Permanentf("labelSelector %q matches every pod", in.LabelSelector)
		}
		sel = s
	}
	opts := metav1.DeleteOptions{DryRun: dryRun(req)}
	if in.GracePeriodSeconds != nil {
		if *in.GracePeriodSeconds < 0 {
			return nil, actions.Permanentf("gracePeriodSeconds %d is negative", *in.GracePeriodSeconds)
		}
		g := int64(*in.GracePeriodSeconds)
		opts.GracePeriodSeconds = &g
	}
	c, err := a.clientsFor(in.Context)
	if err != nil {
		return nil, err
	}
	ns := c.ns(in.Namespace)
	pods := c.typed.CoreV1().Pods(ns)
	out := map[string]any{"namespace": ns, "dryRun": req.DryRun}
	if opts.GracePeriodSeconds != nil {
		out["gracePeriodSeconds"] = *opts.GracePeriodSeconds
	}

	var chosen []podRef
	if activity.IsActivity(ctx) && activity.HasHeartbeatDetails(ctx) {
		_ = activity.GetHeartbeatDetails(ctx, &chosen)
	}
	if chosen == nil {
		if in.Name != "" {
			p, err := pods.Get(ctx, in.Name, metav1.GetOptions{})
			if err != nil {
				return nil, Classify(err, "pod "+ns+"/"+in.Name)
			}
			chosen = []podRef{{p.Name, p.UID}}
		} else {
			list, err := pods.List(ctx, metav1.ListOptions{LabelSelector: sel.String()})
			if err != nil {
				return nil, Classify(err, "pods "+sel.String()+" in "+ns)
			}
			terminating := 0
			chosen = []podRef{}
			for _, p := range list.Items {
				if p.DeletionTimestamp != nil {
					terminating++
					continue
				}
				chosen = append(chosen, podRef{p.Name, p.UID})
			}
			sort.Slice(chosen, func(i, j int) bool { return chosen[i].Name < chosen[j].Name })
			out["matched"] = int64(len(chosen))
			out["terminating"] = int64(terminating)
			if int64(len(chosen)) > maxPods {
				return nil, actions.Permanentf("labelSelector %s matches %d pods in %s, more than maxPods %d: refusing to delete them",
					sel.String(), len(chosen), ns, maxPods)
			}
		}
		if !req.DryRun {
			Heartbeat(ctx, chosen)
		}
	}

	deleted, gone := []any{}, []any{}
	for _, p := range chosen {
		o := opts
		uid := p.UID
		o.Preconditions = &metav1.Preconditions{UID: &uid}
		err := pods.Delete(ctx, p.Name, o)
		switch {
		case err == nil:
			deleted = append(deleted, p.Name)
		case apierrors.IsNotFound(err), apierrors.IsConflict(err):
			// Deleted by an earlier attempt, or replaced by a new pod.
			gone = append(gone, p.Name)
		default:
			return nil, Classify(err, "pod "+ns+"/"+p.Name)
		}
	}
	out["deleted"] = deleted
	out["count"] = int64(len(deleted))
	if len(gone) > 0 {
		out["alreadyGone"] = gone
	}
	return out, nil
}

package chaosmesh

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Chaos Mesh's pod-failure saves the image it replaces in an annotation
// of the pod, chaos-mesh-<chaos>-pod-failure-<container>-normal-image (or
// -init- for init containers), or, when that key would be longer than 63
// characters, just <container>-normal (-init).
const (
	podFailureMarker = "-pod-failure-"
	normalSuffix     = "-normal"
	initSuffix       = "-init"
)

// restoreTargets checks the pods a PodChaos injected, once the resource is
// gone, and repairs those Chaos Mesh left broken. Chaos Mesh's pod-failure
// saves the image it replaces in an annotation of the pod and puts it
// back on recovery. When two pod-failures overlap on one pod, the second
// saves the pause image the first put there; if the first recovers first,
// the second's recovery "restores" the pause image and the pod keeps the
// fault with nothing left to remove it. A target that still exists, no
// longer carries any pod-failure annotation (no fault is left on it) and
// whose containers differ from its owner ReplicaSet's pod template gets
// the template's images back. Pods another fault still holds are left
// alone: that fault's own recovery (and its run's check) deals with them.
// Pods without a ReplicaSet have no template to compare with and are
// left as they are. It returns the pods it repaired, namespace/name.
func (a *Activities) restoreTargets(ctx context.Context, targets []actions.ChaosRecord) (repaired []string, err error) {
	c, err := a.clientFor()
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		if t.Namespace == "" || t.Name == "" {
			continue
		}
		var pod corev1.Pod
		err := c.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: t.Name}, &pod)
		if apierrors.IsNotFound(err) {
			continue // killed or replaced: nothing of the fault is left on it
		}
		if err != nil {
			return repaired, classify(err, "chaos: reading target pod "+t.ID)
		}
		if pod.DeletionTimestamp != nil || heldByPodFailure(&pod) {
			continue
		}
		want, err := templateImages(ctx, c, &pod)
		if err != nil {
			return repaired, err
		}
		if want == nil {
			continue
		}
		patched := pod.DeepCopy()
		changed := false
		for i, ctr := range patched.Spec.Containers {
			if img, ok := want[ctr.Name]; ok && img != ctr.Image {
				patched.Spec.Containers[i].Image = img
				changed = true
			}
		}
		if !changed {
			continue
		}
		if err := c.Patch(ctx, patched, client.MergeFrom(&pod)); err != nil {
			if apierrors.IsNotFound(err) {
				continue
			}
			return repaired, classify(err, "chaos: restoring the images of "+t.ID)
		}
		repaired = append(repaired, t.ID)
	}
	return repaired, nil
}

// heldByPodFailure reports whether a pod-failure still holds one of the
// pod's containers: a saved image is still there.
func heldByPodFailure(pod *corev1.Pod) bool {
	for k := range pod.Annotations {
		if strings.HasPrefix(k, "chaos-mesh-") && strings.Contains(k, podFailureMarker) && strings.HasSuffix(k, "-image") {
			return true
		}
	}
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for _, c := range cs {
			if _, ok := pod.Annotations[c.Name+normalSuffix]; ok {
				return true
			}
			if _, ok := pod.Annotations[c.Name+initSuffix]; ok {
				return true
			}
		}
	}
	return false
}

// templateImages returns the images, by container, of the pod template
// the pod was made from (its owner ReplicaSet's), or nil when it has no
// ReplicaSet to compare with.
func templateImages(ctx context.Context, c client.Client, pod *corev1.Pod) (map[string]string, error) {
	owner := metav1.GetControllerOf(pod)
	if owner == nil || owner.Kind != "ReplicaSet" {
		return nil, nil
	}
	var rs appsv1.ReplicaSet
	if err := c.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: owner.Name}, &rs); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		return nil, classify(err, fmt.Sprintf("chaos: reading ReplicaSet %s/%s", pod.Namespace, owner.Name))
	}
	if rs.UID != owner.UID {
		return nil, nil
	}
	out := map[string]string{}
	for _, ctr := range rs.Spec.Template.Spec.Containers {
		out[ctr.Name] = ctr.Image
	}
	return out, nil
}

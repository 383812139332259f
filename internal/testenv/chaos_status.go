package testenv

import (
	"fmt"
	"slices"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// recordIDs are the ids Chaos Mesh gives a pod's records:
// namespace/pod, or namespace/pod/container for kinds that select
// containers (the named ones, else the first).
func recordIDs(kind string, spec chaosTargets, p corev1.Pod) []string {
	podID := p.Namespace + "/" + p.Name
	containers := kind == "StressChaos" || kind == "IOChaos" ||
		(kind == "PodChaos" && spec.Action == string(v1alpha1.ContainerKillAction))
	if !containers || len(p.Spec.Containers) == 0 {
		return []string{podID}
	}
	if len(spec.ContainerNames) == 0 {
		return []string{podID + "/" + p.Spec.Containers[0].Name}
	}
	var ids []string
	for _, ctr := range p.Spec.Containers {
		if slices.Contains(spec.ContainerNames, ctr.Name) {
			ids = append(ids, podID+"/"+ctr.Name)
		}
	}
	return ids
}

// conditions builds the four Chaos Mesh conditions; reason explains a
// false Selected.
func conditions(selected, allInjected, allRecovered bool, reason string) []v1alpha1.ChaosCondition {
	status := func(b bool) corev1.ConditionStatus {
		if b {
			return corev1.ConditionTrue
		}
		return corev1.ConditionFalse
	}
	sel := v1alpha1.ChaosCondition{Type: v1alpha1.ConditionSelected, Status: status(selected)}
	if !selected {
		sel.Reason = reason
	}
	return []v1alpha1.ChaosCondition{
		sel,
		{Type: v1alpha1.ConditionAllInjected, Status: status(allInjected)},
		{Type: v1alpha1.ConditionAllRecovered, Status: status(allRecovered)},
		{Type: v1alpha1.ConditionPaused, Status: corev1.ConditionFalse},
	}
}

func conditionTrue(st v1alpha1.ChaosStatus, t v1alpha1.ChaosConditionType) bool {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// chaosStatus reads the common part of a resource's status.
func chaosStatus(obj *unstructured.Unstructured) (v1alpha1.ChaosStatus, error) {
	var st v1alpha1.ChaosStatus
	m, ok := obj.Object["status"].(map[string]any)
	if !ok {
		return st, nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &st); err != nil {
		return st, fmt.Errorf("status: %w", err)
	}
	return st, nil
}

// setChaosStatus writes the common part of a resource's status, keeping
// kind-specific fields.
func setChaosStatus(obj *unstructured.Unstructured, st v1alpha1.ChaosStatus) error {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&st)
	if err != nil {
		return err
	}
	cur, _ := obj.Object["status"].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	for _, f := range []string{"conditions", "experiment"} {
		if v, ok := m[f]; ok {
			cur[f] = v
		} else {
			delete(cur, f)
		}
	}
	obj.Object["status"] = cur
	return nil
}

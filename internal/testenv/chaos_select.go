package testenv

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// selectPods resolves a Chaos Mesh pod selector against the cluster's
// live pods the way Chaos Mesh does for the fields tests use: namespaces
// (default: the chaos resource's own), pods, label, expression, field and
// annotation selectors, nodes and pod phases. Node selectors are not
// supported. The mode and value then pick among the matches.
func selectPods(ctx context.Context, cs kubernetes.Interface, ownNamespace string, ps v1alpha1.PodSelector) ([]corev1.Pod, error) {
	s := ps.Selector
	if len(s.NodeSelectors) > 0 {
		return nil, fmt.Errorf("the stand-in controller does not support nodeSelectors")
	}
	var matched []corev1.Pod
	if len(s.Pods) > 0 {
		for ns, podNames := range s.Pods {
			for _, name := range podNames {
				p, err := cs.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
				if err != nil {
					continue
				}
				matched = append(matched, *p)
			}
		}
	} else {
		sel, err := metav1.LabelSelectorAsSelector(&metav1.LabelSelector{MatchLabels: s.LabelSelectors, MatchExpressions: s.ExpressionSelectors})
		if err != nil {
			return nil, fmt.Errorf("label selectors: %w", err)
		}
		opts := metav1.ListOptions{LabelSelector: sel.String()}
		if len(s.FieldSelectors) > 0 {
			opts.FieldSelector = fields.SelectorFromSet(s.FieldSelectors).String()
		}
		namespaces := s.Namespaces
		if len(namespaces) == 0 {
			namespaces = []string{ownNamespace}
		}
		for _, ns := range namespaces {
			list, err := cs.CoreV1().Pods(ns).List(ctx, opts)
			if err != nil {
				return nil, err
			}
			matched = append(matched, list.Items...)
		}
	}
	matched = slices.DeleteFunc(matched, func(p corev1.Pod) bool {
		if p.DeletionTimestamp != nil {
			return true
		}
		for k, v := range s.AnnotationSelectors {
			if p.Annotations[k] != v {
				return true
			}
		}
		if len(s.Nodes) > 0 && !slices.Contains(s.Nodes, p.Spec.NodeName) {
			return true
		}
		return len(s.PodPhaseSelectors) > 0 && !slices.Contains(s.PodPhaseSelectors, string(p.Status.Phase))
	})
	slices.SortFunc(matched, func(a, b corev1.Pod) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return pickPods(matched, ps.Mode, ps.Value)
}

// pickPods applies a Chaos Mesh selector mode to the matched pods.
func pickPods(pods []corev1.Pod, mode v1alpha1.SelectorMode, value string) ([]corev1.Pod, error) {
	n := len(pods)
	var want int
	switch mode {
	case v1alpha1.AllMode:
		return pods, nil
	case v1alpha1.OneMode:
		want = min(1, n)
	case v1alpha1.FixedMode:
		v, err := strconv.Atoi(value)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("mode fixed: value %q is not a positive number", value)
		}
		want = min(v, n)
	case v1alpha1.FixedPercentMode, v1alpha1.RandomMaxPercentMode:
		p, err := strconv.Atoi(value)
		if err != nil || p < 0 || p > 100 {
			return nil, fmt.Errorf("mode %s: value %q is not a percentage", mode, value)
		}
		if mode == v1alpha1.RandomMaxPercentMode {
			p = rand.IntN(p + 1)
		}
		want = n * p / 100
	default:
		return nil, fmt.Errorf("unknown mode %q", mode)
	}
	out := make([]corev1.Pod, 0, want)
	for _, i := range rand.Perm(n)[:want] {
		out = append(out, pods[i])
	}
	return out, nil
}

package kubernetes

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// workload is a deployment, statefulset or daemonset, read for an update.
type workload struct {
	kind, namespace, name string
	obj                   metav1.Object // the object's metadata
	template              *corev1.PodTemplateSpec
	deployment            *appsv1.Deployment
	statefulSet           *appsv1.StatefulSet
	daemonSet             *appsv1.DaemonSet
}

// what names the workload in errors and outputs: "deployment prod/checkout".
func (w *workload) what() string { return w.kind + " " + w.namespace + "/" + w.name }

func describe(kind, namespace, name string) string { return kind + " " + namespace + "/" + name }

// getWorkload reads a workload.
func (c *clients) getWorkload(ctx context.Context, kind, namespace, name string) (*workload, error) {
	w := &workload{kind: kind, namespace: namespace, name: name}
	apps := c.typed.AppsV1()
	var err error
	switch kind {
	case kindDeployment:
		w.deployment, err = apps.Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			w.obj, w.template = w.deployment, &w.deployment.Spec.Template
		}
	case kindStatefulSet:
		w.statefulSet, err = apps.StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			w.obj, w.template = w.statefulSet, &w.statefulSet.Spec.Template
		}
	case kindDaemonSet:
		w.daemonSet, err = apps.DaemonSets(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			w.obj, w.template = w.daemonSet, &w.daemonSet.Spec.Template
		}
	}
	if err != nil {
		return nil, Classify(err, w.what())
	}
	return w, nil
}

// update writes the workload back (optimistically: a concurrent change is a
// conflict) and returns the stored (or, in a dry run, would-be) metadata.
func (c *clients) update(ctx context.Context, w *workload, dryRun []string) (metav1.Object, error) {
	opts := metav1.UpdateOptions{DryRun: dryRun, FieldManager: fieldManager}
	apps := c.typed.AppsV1()
	var (
		out metav1.Object
		err error
	)
	switch w.kind {
	case kindDeployment:
		out, err = apps.Deployments(w.namespace).Update(ctx, w.deployment, opts)
	case kindStatefulSet:
		out, err = apps.StatefulSets(w.namespace).Update(ctx, w.statefulSet, opts)
	case kindDaemonSet:
		out, err = apps.DaemonSets(w.namespace).Update(ctx, w.daemonSet, opts)
	}
	if err != nil {
		return nil, Classify(err, w.what())
	}
	return out, nil
}

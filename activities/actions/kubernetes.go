package actions

// Kubernetes actions. The mutating ones use Kubernetes server-side dry run
// (dryRun=All) when the request is a dry run; the read-only ones simply run.
const (
	KubernetesRolloutRestart = "kubernetes.rollout-restart"
	KubernetesScale          = "kubernetes.scale"
	KubernetesDeletePod      = "kubernetes.delete-pod"
	KubernetesCordon         = "kubernetes.cordon"
	KubernetesUncordon       = "kubernetes.uncordon"
	KubernetesWaitRollout    = "kubernetes.wait-rollout"
	KubernetesGet            = "kubernetes.get"
	KubernetesPatch          = "kubernetes.patch"
)

// Fields the Kubernetes actions share.
var (
	kubeContextField = Field{Kind: KindString, Description: "kubeconfig context (default: the current context)"}
	namespaceField   = Field{Kind: KindString, Description: "namespace (default: the context's namespace, else default)"}
	nameField        = Field{Kind: KindString, Required: true, Description: "object name"}
	nodeField        = Field{Kind: KindString, Required: true, Description: "node name"}
)

// workloadField is the kind: field of actions on the named workload kinds.
func workloadField(kinds string) Field {
	return Field{Kind: KindString, Description: kinds + " (default deployment)"}
}

// kubernetesActions change and read Kubernetes objects.
var kubernetesActions = []Spec{
	{
		Name: KubernetesRolloutRestart,
		Description: "Restart a workload's pods like `kubectl rollout restart`: stamp its pod template " +
			"with kubectl.kubernetes.io/restartedAt. A retried step never restarts twice.",
		Fields: map[string]Field{
			"context":   kubeContextField,
			"kind":      workloadField("deployment, statefulset or daemonset"),
			"namespace": namespaceField,
			"name":      nameField,
		},
		Mutating: true,
		DryRun:   true,
	},
	{
		Name:        KubernetesScale,
		Description: "Set a workload's replicas, clamped to [min, max]; the output says when it was clamped.",
		Fields: map[string]Field{
			"context":   kubeContextField,
			"kind":      workloadField("deployment or statefulset"),
			"namespace": namespaceField,
			"name":      nameField,
			"replicas":  {Kind: KindInt, Required: true, Description: "wanted replicas (not negative)"},
			"min":       {Kind: KindInt, Description: "lowest replicas allowed (default 0)"},
			"max":       {Kind: KindInt, Description: "highest replicas allowed (default: no limit)"},
		},
		Mutating: true,
		DryRun:   true,
	},
	{
		Name: KubernetesDeletePod,
		Description: "Delete a pod by name, or the pods a label selector matches; refuses a selector " +
			"matching more than maxPods pods.",
		Fields: map[string]Field{
			"context":            kubeContextField,
			"namespace":          namespaceField,
			"name":               {Kind: KindString, Description: "pod name (this or labelSelector)"},
			"labelSelector":      {Kind: KindString, Description: "label selector such as app=checkout (this or name)"},
			"gracePeriodSeconds": {Kind: KindInt, Description: "termination grace period (default: the pod's)"},
			"maxPods":            {Kind: KindInt, Description: "most pods a selector may delete (default 1)"},
		},
		Mutating: true,
		DryRun:   true,
	},
	{
		Name:        KubernetesCordon,
		Description: "Mark a node unschedulable.",
		Fields:      map[string]Field{"context": kubeContextField, "node": nodeField},
		Mutating:    true,
		DryRun:      true,
	},
	{
		Name:        KubernetesUncordon,
		Description: "Mark a node schedulable again.",
		Fields:      map[string]Field{"context": kubeContextField, "node": nodeField},
		Mutating:    true,
		DryRun:      true,
	},
	{
		Name: KubernetesWaitRollout,
		Description: "Wait until a workload's rollout is complete (observed generation current, every " +
			"replica updated and available), or fail after timeout. A dry run looks once and says what it would wait for.",
		Fields: map[string]Field{
			"context":   kubeContextField,
			"kind":      workloadField("deployment, statefulset or daemonset"),
			"namespace": namespaceField,
			"name":      nameField,
			"timeout":   {Kind: KindDuration, Description: "how long to wait (default 5m)"},
		},
		DryRun: true,
	},
	{
		Name:        KubernetesGet,
		Description: "Read any object by apiVersion and kind; the output is the object.",
		Fields: map[string]Field{
			"context":    kubeContextField,
			"apiVersion": {Kind: KindString, Required: true, Description: "e.g. v1, apps/v1"},
			"kind":       {Kind: KindString, Required: true, Description: "e.g. Deployment, Node"},
			"namespace":  {Kind: KindString, Description: "namespace of a namespaced kind (default: the context's, else default)"},
			"name":       nameField,
		},
		DryRun: true,
	},
	{
		Name:        KubernetesPatch,
		Description: "Patch any object by apiVersion and kind.",
		Fields: map[string]Field{
			"context":    kubeContextField,
			"apiVersion": {Kind: KindString, Required: true, Description: "e.g. v1, apps/v1"},
			"kind":       {Kind: KindString, Required: true, Description: "e.g. Deployment, ConfigMap"},
			"namespace":  {Kind: KindString, Description: "namespace of a namespaced kind (default: the context's, else default)"},
			"name":       nameField,
			"patch":      {Kind: KindAny, Required: true, Description: "the patch: a mapping (a list for type json), or JSON/YAML text"},
			"type":       {Kind: KindString, Description: "strategic (default), merge or json"},
		},
		Mutating: true,
		DryRun:   true,
	},
}

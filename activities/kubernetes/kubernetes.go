// Package kubernetes holds the Kubernetes actions: restart, scale and wait
// for workloads, delete pods, cordon nodes, and get or patch any object.
// Clients are built on first use for each kubeconfig context, so a
// Firebreak without Kubernetes starts and only the Kubernetes steps fail.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

// Annotations written on pod templates by rollout-restart.
const (
	RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt"
	RestartIDAnnotation   = "firebreak.dev/restart-id"
)

// fieldManager names Firebreak in managedFields.
const fieldManager = "firebreak"

// Config says where the kubeconfig is.
type Config struct {
	// Kubeconfig is the path of a kubeconfig file. "" means $KUBECONFIG,
	// then ~/.kube/config, then the in-cluster service account.
	Kubeconfig string
}

// Activities performs Kubernetes actions.
type Activities struct {
	cfg     Config
	mu      sync.Mutex
	clients map[string]*clients
}

// New builds the activities; no kubeconfig is read until an action runs.
func New(cfg Config) *Activities {
	return &Activities{cfg: cfg, clients: map[string]*clients{}}
}

// Handlers returns the handler of each Kubernetes action.
func (a *Activities) Handlers() map[string]actions.Handler {
	return map[string]actions.Handler{
		actions.KubernetesRolloutRestart: a.RolloutRestart,
		actions.KubernetesScale:          a.Scale,
		actions.KubernetesDeletePod:      a.DeletePod,
		actions.KubernetesCordon:         a.Cordon,
		actions.KubernetesUncordon:       a.Uncordon,
		actions.KubernetesWaitRollout:    a.WaitRollout,
		actions.KubernetesGet:            a.Get,
		actions.KubernetesPatch:          a.Patch,
	}
}

// clients talk to one kubeconfig context.
type clients struct {
	namespace string // the context's namespace, else "default"
	typed     kubernetes.Interface
	dynamic   dynamic.Interface
	mapper    meta.ResettableRESTMapper
}

// clientsFor returns the (cached) clients of a kubeconfig context; ""
// is the current context. Failures are not cached, so fixing the
// kubeconfig needs no restart.
func (a *Activities) clientsFor(kubeContext string) (*clients, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[kubeContext]; ok {
		return c, nil
	}
	rc, ns, err := RESTConfig(a.cfg.Kubeconfig, kubeContext)
	if err != nil {
		return nil, err
	}
	rc.UserAgent = "firebreak"
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 20, 40
	}
	if rc.Timeout == 0 {
		rc.Timeout = 30 * time.Second
	}
	typed, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, actions.Permanentf("kubernetes: %v", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, actions.Permanentf("kubernetes: %v", err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return nil, actions.Permanentf("kubernetes: %v", err)
	}
	cached := memory.NewMemCacheClient(dc)
	deferred := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	c := &clients{
		namespace: ns,
		typed:     typed,
		dynamic:   dyn,
		mapper:    resettable{restmapper.NewShortcutExpander(deferred, cached, nil), deferred},
	}
	a.clients[kubeContext] = c
	return c, nil
}

// RESTConfig loads one context of a kubeconfig (the current one when
// kubeContext is empty) from path, else $KUBECONFIG, ~/.kube/config or the
// in-cluster service account, with the context's namespace (default
// "default"). Its errors are permanent: retrying cannot fix a kubeconfig.
func RESTConfig(path, kubeContext string) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	rc, err := cc.ClientConfig()
	if err != nil {
		where := "kubeconfig"
		if path != "" {
			where = "kubeconfig " + path
		}
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", actions.Permanentf("kubernetes: no configuration: set KUBECONFIG, create ~/.kube/config, or run in a cluster")
		}
		if kubeContext != "" {
			return nil, "", actions.Permanentf("kubernetes: %s, context %q: %v", where, kubeContext, err)
		}
		return nil, "", actions.Permanentf("kubernetes: %s: %v", where, err)
	}
	ns, _, err := cc.Namespace()
	if err != nil || ns == "" {
		ns = "default"
	}
	return rc, ns, nil
}

type resettable struct {
	meta.RESTMapper
	deferred *restmapper.DeferredDiscoveryRESTMapper
}

func (r resettable) Reset() { r.deferred.Reset() }

// ns returns the namespace to use: the given one or the context's.
func (c *clients) ns(namespace string) string {
	if namespace != "" {
		return namespace
	}
	return c.namespace
}

// common holds the fields every Kubernetes action accepts.
type common struct {
	Context string `json:"context"`
}

// dryRun is the server-side dry-run option of a request.
func dryRun(req actions.Request) []string {
	if req.DryRun {
		return []string{"All"}
	}
	return nil
}

// Classify names the object in an API error and says whether retrying can
// help: not-found, invalid, forbidden and other 4xx answers are permanent
// (but conflicts, timeouts and throttling); connection errors and 5xx are
// retried.
func Classify(err error, what string) error {
	if err == nil {
		return nil
	}
	if actions.IsPermanent(err) {
		return err
	}
	switch {
	case apierrors.IsNotFound(err):
		return actions.Permanent(&named{what + " not found", err})
	case meta.IsNoMatchError(err):
		return actions.Permanent(&named{what + ": " + err.Error(), err})
	case apierrors.IsConflict(err), apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err):
		return &named{what + ": " + err.Error(), err}
	}
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		if code := st.Status().Code; code >= 400 && code < 500 && code != http.StatusRequestTimeout {
			return actions.Permanent(&named{what + ": " + err.Error(), err})
		}
	}
	return &named{what + ": " + err.Error(), err}
}

// named is an error whose text names the object it is about.
type named struct {
	msg string
	err error
}

func (n *named) Error() string { return n.msg }
func (n *named) Unwrap() error { return n.err }

// Heartbeat records activity progress when running as an activity (and
// does nothing when a handler is called directly, as in tests).
func Heartbeat(ctx context.Context, details ...any) {
	if activity.IsActivity(ctx) {
		activity.RecordHeartbeat(ctx, details...)
	}
}

// intValue is an integer with: field that also accepts numeric text, as
// templated values render to text.
type intValue int64

// UnmarshalJSON reads a number or numeric text.
func (i *intValue) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if uq, err := strconv.Unquote(s); err == nil {
		s = strings.TrimSpace(uq)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*i = intValue(n)
		return nil
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f == float64(int64(f)) {
		*i = intValue(f)
		return nil
	}
	return fmt.Errorf("%s is not a whole number", b)
}

// Workload kinds.
const (
	kindDeployment  = "deployment"
	kindStatefulSet = "statefulset"
	kindDaemonSet   = "daemonset"
)

var kindAliases = map[string]string{
	"deployment": kindDeployment, "deployments": kindDeployment, "deploy": kindDeployment,
	"statefulset": kindStatefulSet, "statefulsets": kindStatefulSet, "sts": kindStatefulSet,
	"daemonset": kindDaemonSet, "daemonsets": kindDaemonSet, "ds": kindDaemonSet,
}

// workloadKind normalizes a kind (default deployment) and checks it is one
// of allowed.
func workloadKind(kind string, allowed ...string) (string, error) {
	if kind == "" {
		return kindDeployment, nil
	}
	k, ok := kindAliases[strings.ToLower(strings.TrimSpace(kind))]
	for _, a := range allowed {
		if ok && k == a {
			return k, nil
		}
	}
	return "", actions.Permanentf("kind %q is not one of %s", kind, strings.Join(allowed, ", "))
}

// requireName fails when a required name is empty.
func requireName(field, value string) error {
	if strings.TrimSpace(value) == "" {
		return actions.Permanentf("with.%s is required", field)
	}
	return nil
}

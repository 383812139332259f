// Package chaosmesh creates, reads, awaits and deletes Chaos Mesh
// resources (PodChaos, NetworkChaos, StressChaos, HTTPChaos, IOChaos) for
// chaos experiments, and sweeps away the ones whose run has ended. Its
// client is built on first use, so a Firebreak whose cluster has no Chaos
// Mesh starts and only the chaos steps fail.
package chaosmesh

import (
	"fmt"
	"sync"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/kubernetes"
)

// fieldManager names Firebreak in managedFields.
const fieldManager = "firebreak"

// Activities performs the Chaos Mesh activities.
type Activities struct {
	cfg  kubernetes.Config
	rest *rest.Config

	mu     sync.Mutex
	client client.Client
}

// New builds the activities for the cluster of a kubeconfig (its current
// context); nothing is read until an activity runs.
func New(cfg kubernetes.Config) *Activities {
	return &Activities{cfg: cfg}
}

// NewFromREST builds the activities for the cluster rc points at.
func NewFromREST(rc *rest.Config) *Activities {
	return &Activities{rest: rc}
}

// NewFromClient builds the activities around an existing client, whose
// scheme must know the chaos-mesh.org/v1alpha1 kinds, pods and
// ReplicaSets (see Scheme).
func NewFromClient(c client.Client) *Activities {
	return &Activities{client: c}
}

// Scheme returns a scheme holding the Chaos Mesh API types, and the core
// and apps types (pods, ReplicaSets) UntilRestored reads.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	// Pods and ReplicaSets, for the targets UntilRestored checks.
	if err := corev1.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := appsv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// clientFor returns the (cached) client. Failures are not cached, so
// fixing the kubeconfig needs no restart.
func (a *Activities) clientFor() (client.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		return a.client, nil
	}
	rc := a.rest
	if rc == nil {
		var err error
		if rc, err = loadKubeconfig(a.cfg.Kubeconfig); err != nil {
			return nil, err
		}
	} else {
		rc = rest.CopyConfig(rc)
	}
	if rc.UserAgent == "" {
		rc.UserAgent = "firebreak"
	}
	if rc.QPS == 0 {
		// Every running experiment polls its resources: client-go's default
		// of 5 requests a second would make halting many of them slow.
		rc.QPS, rc.Burst = 100, 200
	}
	if rc.Timeout == 0 {
		rc.Timeout = 30 * time.Second
	}
	s, err := Scheme()
	if err != nil {
		return nil, actions.Permanentf("chaos: %v", err)
	}
	c, err := client.New(rc, client.Options{Scheme: s})
	if err != nil {
		return nil, actions.Permanentf("chaos: %v", err)
	}
	a.client = client.WithFieldOwner(c, fieldManager)
	return a.client, nil
}

// loadKubeconfig reads the current context of a kubeconfig: path, else
// $KUBECONFIG, ~/.kube/config or the in-cluster service account.
func loadKubeconfig(path string) (*rest.Config, error) {
	rc, _, err := kubernetes.RESTConfig(path, "")
	return rc, err
}

// notInstalled reports whether err says the cluster does not serve the
// kind: Chaos Mesh (or this CRD) is not installed.
func notInstalled(err error) bool {
	return meta.IsNoMatchError(err)
}

// classify names the object in an API error and says whether retrying can
// help, as the Kubernetes actions do; a kind the cluster does not serve
// means Chaos Mesh is not installed, which retrying cannot fix.
func classify(err error, what string) error {
	if err != nil && !actions.IsPermanent(err) && notInstalled(err) {
		return actions.Permanent(fmt.Errorf("%s: Chaos Mesh is not installed in the cluster (%w)", what, err))
	}
	return kubernetes.Classify(err, what)
}

// Package kubesecret reads Firebreak's secrets from Kubernetes Secrets in
// one namespace through client-go: "checkout-api" is the only key of the
// Secret checkout-api, "checkout-api/token" its key token. Firebreak needs
// get on those Secrets only; the chart grants it by name.
package kubesecret

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Provider reads Secrets from Namespace.
type Provider struct {
	Namespace string
	// Config builds the client on first use, so a Firebreak that never
	// asks for a secret never reads its kubeconfig.
	Config func() (*rest.Config, error)

	once   sync.Once
	client kubernetes.Interface
	err    error
}

// New returns a provider for namespace over the cluster config returns.
func New(namespace string, config func() (*rest.Config, error)) *Provider {
	return &Provider{Namespace: namespace, Config: config}
}

// Name is "kubernetes".
func (p *Provider) Name() string { return "kubernetes" }

func (p *Provider) clientset() (kubernetes.Interface, error) {
	p.once.Do(func() {
		rc, err := p.Config()
		if err != nil {
			p.err = err
			return
		}
		p.client, p.err = kubernetes.NewForConfig(rc)
	})
	return p.client, p.err
}

// Lookup gets the Secret and returns the key the name picks.
func (p *Provider) Lookup(ctx context.Context, name string) (string, bool, error) {
	cs, err := p.clientset()
	if err != nil {
		return "", false, err
	}
	secret, key, _ := strings.Cut(name, "/")
	s, err := cs.CoreV1().Secrets(p.Namespace).Get(ctx, secret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", false, nil
	case apierrors.IsForbidden(err):
		return "", false, fmt.Errorf("may not get Secret %s in namespace %s: grant get on it by name (the chart's secrets.kubernetes.names)", secret, p.Namespace)
	case err != nil:
		return "", false, fmt.Errorf("getting Secret %s in namespace %s: %w", secret, p.Namespace, err)
	}
	data := map[string]string{}
	for k, v := range s.Data {
		data[k] = string(v)
	}
	for k, v := range s.StringData {
		data[k] = v
	}
	if key != "" {
		v, ok := data[key]
		return v, ok, nil
	}
	if len(data) != 1 {
		keys := make([]string, 0, len(data))
		for k := range data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "", false, fmt.Errorf("Secret %s in namespace %s has %d keys (%s); name one: %s/<key>", secret, p.Namespace, len(keys), strings.Join(keys, ", "), secret)
	}
	for _, v := range data {
		return v, true, nil
	}
	return "", false, nil
}

package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

// ChaosMeshGroupVersion is the API group and version of Chaos Mesh.
var ChaosMeshGroupVersion = schema.GroupVersion{Group: "chaos-mesh.org", Version: "v1alpha1"}

// ChaosMeshResources maps each Chaos Mesh kind Firebreak creates to its
// resource (plural) name. InstallChaosMesh installs these and every other
// Chaos Mesh kind.
var ChaosMeshResources = map[string]string{
	"PodChaos":     "podchaos",
	"NetworkChaos": "networkchaos",
	"StressChaos":  "stresschaos",
	"HTTPChaos":    "httpchaos",
	"IOChaos":      "iochaos",
}

// ChaosMeshCRDsPath is the Chaos Mesh CRD manifest (manifests/crd.yaml of
// the chaos-mesh module, the same version as ChaosMeshBinary):
// $FIREBREAK_CHAOSMESH_CRDS (set by the Makefile), or the newest
// chaosmesh-<version>/crd.yaml in the tool cache.
func ChaosMeshCRDsPath() (string, error) {
	if p := os.Getenv("FIREBREAK_CHAOSMESH_CRDS"); p != "" {
		return p, nil
	}
	if p := cachedTool("chaosmesh-*", "crd.yaml"); p != "" {
		return p, nil
	}
	return "", fmt.Errorf("no Chaos Mesh CRDs in %s: run `make test-deps` (or the tests through `make test`)", ToolCache())
}

// InstallChaosMesh installs Chaos Mesh's CRDs in k and waits until the API
// server serves them. Installing twice is harmless. It installs no
// controller: see StartChaosMesh (the real one) and StartChaosController
// (the stand-in).
func InstallChaosMesh(t testing.TB, k *KubeEnv) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := ApplyChaosMeshCRDs(ctx, k.Config); err != nil {
		t.Fatal(err)
	}
}

// ApplyChaosMeshCRDs is InstallChaosMesh outside a test (for TestMain).
func ApplyChaosMeshCRDs(ctx context.Context, cfg *rest.Config) error {
	p, err := ChaosMeshCRDsPath()
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	cs, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crds := cs.ApiextensionsV1().CustomResourceDefinitions()
	var created []string
	for i, doc := range bytes.Split(append([]byte("\n"), raw...), []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(doc, &crd); err != nil {
			return fmt.Errorf("%s: document %d: %w", p, i+1, err)
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		if _, err := crds.Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating CRD %s: %w", crd.Name, err)
		}
		created = append(created, crd.Name)
	}
	if len(created) == 0 {
		return fmt.Errorf("%s holds no CustomResourceDefinition", p)
	}
	for _, name := range created {
		for {
			crd, err := crds.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("reading CRD %s: %w", name, err)
			}
			if crdEstablished(crd) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRD %s not established: %w", name, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

func crdEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	established, accepted := false, false
	for _, c := range crd.Status.Conditions {
		switch c.Type {
		case apiextensionsv1.Established:
			established = c.Status == apiextensionsv1.ConditionTrue
		case apiextensionsv1.NamesAccepted:
			accepted = c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return established && accepted
}

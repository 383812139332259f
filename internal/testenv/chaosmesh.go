package testenv

import (
	"context"
	"embed"
	"fmt"
	"path"
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

// chaosMeshCRDs are the CRDs of the Chaos Mesh kinds Firebreak creates,
// generated from the chaos-mesh api module by tools/gen-chaos-crds.sh.
//
//go:embed testdata/chaosmesh/*.yaml
var chaosMeshCRDs embed.FS

// ChaosMeshGroupVersion is the API group and version of Chaos Mesh.
var ChaosMeshGroupVersion = schema.GroupVersion{Group: "chaos-mesh.org", Version: "v1alpha1"}

// ChaosMeshResources maps each Chaos Mesh kind InstallChaosMesh installs to
// its resource (plural) name.
var ChaosMeshResources = map[string]string{
	"PodChaos":     "podchaos",
	"NetworkChaos": "networkchaos",
	"StressChaos":  "stresschaos",
	"HTTPChaos":    "httpchaos",
	"IOChaos":      "iochaos",
}

// InstallChaosMesh installs the Chaos Mesh CRDs of ChaosMeshResources in
// k and waits until the API server serves them. Installing twice is
// harmless. It installs no controller: see StartChaosController.
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
	cs, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return err
	}
	crds := cs.ApiextensionsV1().CustomResourceDefinitions()
	files, err := chaosMeshCRDs.ReadDir("testdata/chaosmesh")
	if err != nil {
		return err
	}
	var created []string
	for _, f := range files {
		b, err := chaosMeshCRDs.ReadFile(path.Join("testdata/chaosmesh", f.Name()))
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.UnmarshalStrict(b, &crd); err != nil {
			return fmt.Errorf("chaos mesh CRD %s: %w", f.Name(), err)
		}
		if _, err := crds.Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating CRD %s: %w", crd.Name, err)
		}
		created = append(created, crd.Name)
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

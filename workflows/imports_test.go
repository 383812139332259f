package workflows_test

import (
	"testing"

	"github.com/firebreak-ops/firebreak/internal/golist"
)

// TestWorkflowsArePure checks what the workflow packages link: no
// Kubernetes client, controller-runtime or Chaos Mesh code (faults are
// rendered before a workflow starts), and no package of this module that
// imports the network or randomness directly (the Temporal SDK's own
// imports are its business).
func TestWorkflowsArePure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	pkgs, err := golist.List(".", true, "./...")
	if err != nil {
		t.Fatal(err)
	}

	for _, rule := range []struct {
		name   string
		banned func(path string) bool
	}{
		{"k8s.io/client-go", func(p string) bool { return under(p, "k8s.io/client-go") }},
		{"sigs.k8s.io/controller-runtime", func(p string) bool { return under(p, "sigs.k8s.io/controller-runtime") }},
		{"github.com/chaos-mesh", func(p string) bool { return under(p, "github.com/chaos-mesh") }},
	} {
		t.Run("links "+rule.name, func(t *testing.T) {
			for _, p := range pkgs {
				if rule.banned(p.ImportPath) {
					t.Errorf("./workflows/... links %s", p.ImportPath)
				}
			}
		})
	}
	for _, banned := range []string{"net/http", "crypto/rand", "math/rand"} {
		t.Run("imports "+banned, func(t *testing.T) {
			for _, p := range pkgs {
				if !under(p.ImportPath, module) {
					continue
				}
				for _, imp := range p.Imports {
					if under(imp, banned) {
						t.Errorf("%s, linked by ./workflows/..., imports %s", p.ImportPath, imp)
					}
				}
			}
		})
	}
}

// TestWireHasNoWorkflowCode checks that the wire packages, which
// activities, services and transports import for the types they exchange
// with workflows, link no workflow code: neither the Temporal SDK's
// workflow package nor a package of the workflows themselves.
func TestWireHasNoWorkflowCode(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	pkgs, err := golist.List(".", true, "./wire/...")
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range pkgs {
		p := pkg.ImportPath
		if under(p, "go.temporal.io/sdk/workflow") ||
			(under(p, module+"/workflows") && !under(p, module+"/workflows/wire")) {
			t.Errorf("./workflows/wire/... links %s", p)
		}
	}
}

// under and module are golist's, shorter.
var under = golist.Under

const module = golist.Module

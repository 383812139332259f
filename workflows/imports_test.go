package workflows_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

// module is the project's own module path.
const module = "github.com/firebreak-ops/firebreak"

// TestWorkflowsArePure checks what the workflow packages link: no
// Kubernetes client, controller-runtime or Chaos Mesh code (faults are
// rendered before a workflow starts), and no package of this module that
// imports the network or randomness directly (the Temporal SDK's own
// imports are its business).
func TestWorkflowsArePure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command("go", "list", "-deps", "-json=ImportPath,Imports,Standard", "./...")
	cmd.Dir = "."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	type pkg struct {
		ImportPath string
		Imports    []string
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list reported no packages")
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
	var stderr bytes.Buffer
	cmd := exec.Command("go", "list", "-deps", "./wire/...")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	for _, p := range strings.Fields(string(out)) {
		if under(p, "go.temporal.io/sdk/workflow") ||
			(under(p, module+"/workflows") && !under(p, module+"/workflows/wire")) {
			t.Errorf("./workflows/wire/... links %s", p)
		}
	}
}

// under reports whether path is pkg or a package below it.
func under(path, pkg string) bool {
	return path == pkg || strings.HasPrefix(path, pkg+"/")
}

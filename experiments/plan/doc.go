// Package plan is the chaos experiment and game day definition as the
// workflows see it: the types a file decodes into and travels in workflow
// input as, their structural checks, and the compiled CEL guards. It links
// no Kubernetes or Chaos Mesh code and does no I/O, so workflows can
// import it; the experiments package parses files and renders each fault's
// Chaos Mesh spec before a workflow starts.
package plan

import "regexp"

var (
	identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	nameRe  = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,45}[a-z0-9])?$`)
)

//go:build firebreak_previous

package runbook

import "go.temporal.io/sdk/workflow"

// finalStateVersion: the release before finalStateChange never asks for
// it (see release.go).
const finalStateVersion workflow.Version = workflow.DefaultVersion

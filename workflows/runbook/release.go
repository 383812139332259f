//go:build !firebreak_previous

package runbook

import "go.temporal.io/sdk/workflow"

// finalStateVersion is the newest version of finalStateChange this build
// runs. Built with the tag firebreak_previous, Firebreak is the release
// before that change (release_previous.go): the rolling-upgrade test
// starts runs on that build and finishes them on this one.
const finalStateVersion workflow.Version = 1

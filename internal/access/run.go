package access

import (
	"strings"

	runwire "github.com/firebreak-ops/firebreak/workflows/wire/run"
)

// MayRun applies a definition's spec.access.run to a real run by a known
// caller: what is "runbook" or "experiment", name the definition's name,
// act what a real run does ("run hello-world for real", "inject pod-kill").
// Dry runs, and callers the transport does not know (the API without
// principals), are always allowed.
func MayRun(what, name, act string, allowed []string, p *Principal, dryRun bool) error {
	if p == nil || dryRun {
		return nil
	}
	if len(allowed) == 0 {
		return Errorf(Forbidden, what, "%s %s lists nobody in spec.access.run, so only dry runs are allowed (add --dry-run)", what, name)
	}
	if !runwire.Listed(allowed, p.ID, p.Groups) {
		return Errorf(Forbidden, what, "%s may not %s (spec.access.run: %s); a dry run is allowed", p.DisplayName(), act, strings.Join(allowed, ", "))
	}
	return nil
}

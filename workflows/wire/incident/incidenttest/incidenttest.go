// Package incidenttest holds incident records for tests of the packages
// that render or write them, so they all look at the same incident.
package incidenttest

import (
	"time"

	"github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// Resolved is a resolved SEV3 with every milestone set and a timeline
// entry that needs escaping in tables.
func Resolved() incident.Incident {
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	at := func(m int) *time.Time { t := t0.Add(time.Duration(m) * time.Minute); return &t }
	return incident.Incident{
		ID: "INC-2026-0007", Title: "Queue: backlog #2; growing", Severity: "sev3", Status: "resolved",
		StartedAt: t0, DetectedAt: *at(4), DeclaredAt: *at(5), AcknowledgedAt: at(7), MitigatedAt: at(30), ResolvedAt: at(95),
		Timeline: []incident.TimelineEntry{{At: *at(5), Kind: "declared", By: "ann", Text: "declared | with a pipe\nand a newline"}},
	}
}

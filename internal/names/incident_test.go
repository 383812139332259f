package names_test

import (
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/names"
)

func TestIncidentNames(t *testing.T) {
	for _, tc := range []struct {
		id, title, channel string
	}{
		{"INC-2026-0042", "Checkout 5xx", "inc-2026-0042-checkout-5xx"},
		{"INC-2026-0007", "  Payments: latency > 2s!! ", "inc-2026-0007-payments-latency-2s"},
		{"INC-2026-12345", "Ünïcode ✓ only", "inc-2026-12345-n-code-only"},
		{"INC-2026-0001", "", "inc-2026-0001"},
		// The year is part of the name: next year's first incident is not
		// this year's.
		{"INC-2027-0001", "", "inc-2027-0001"},
		{"INC-2026-0001", strings.Repeat("very long title ", 10), "inc-2026-0001-very-long-title-very-long-title-very-long-title-very-long-title-ve"},
	} {
		if got := names.IncidentChannelName(tc.id, tc.title); got != tc.channel || len(got) > 80 {
			t.Errorf("IncidentChannelName(%q, %q) = %q, want %q", tc.id, tc.title, got, tc.channel)
		}
	}
	for id, ok := range map[string]bool{"INC-2026-0042": true, "INC-2026-12345": true, "INC-26-0042": false, "inc-2026-0042": false, "INC-2026-42": false} {
		if names.IsIncidentID(id) != ok {
			t.Errorf("IsIncidentID(%q) = %t", id, !ok)
		}
	}
	if names.IncidentID(2026, 7) != "INC-2026-0007" || names.IncidentOf(names.IncidentWorkflowID("INC-2026-0007")) != "INC-2026-0007" || names.IncidentYear("INC-2031-0001") != 2031 {
		t.Error("ID helpers do not round-trip")
	}
}

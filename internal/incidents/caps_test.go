package incidents

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/firebreak-ops/firebreak/internal/access"
	incidentwire "github.com/firebreak-ops/firebreak/workflows/wire/incident"
)

// TestFieldCaps: every field of a declaration and of a command has a byte
// cap; a longer value is refused as Invalid naming the field, before
// anything reaches Temporal (the service here has no client).
func TestFieldCaps(t *testing.T) {
	big := func(n int) string { return strings.Repeat("x", n) }
	mb := big(1 << 20)
	s := &Service{}
	declare := func(mod func(*incidentwire.DeclareRequest)) error {
		req := incidentwire.DeclareRequest{Title: "db down", Severity: "sev2", DeclaredBy: "alice"}
		mod(&req)
		_, err := s.DeclareIncident(context.Background(), req, "")
		return err
	}
	command := func(c incidentwire.IncidentCommand) error {
		if c.By == "" {
			c.By = "alice"
		}
		_, err := s.IncidentCommand(context.Background(), "INC-2026-0001", c)
		return err
	}
	link := func(l incidentwire.Link) incidentwire.IncidentCommand {
		return incidentwire.IncidentCommand{Kind: incidentwire.CommandLink, Link: &l}
	}
	for _, tc := range []struct {
		name  string
		err   error
		field string
	}{
		{"title", declare(func(r *incidentwire.DeclareRequest) { r.Title = strings.Repeat("é", 199) + big(10) }), "title"},
		{"title characters", declare(func(r *incidentwire.DeclareRequest) { r.Title = big(201) }), "title"},
		{"commander", declare(func(r *incidentwire.DeclareRequest) { r.Commander = mb }), "commander"},
		{"declared by", declare(func(r *incidentwire.DeclareRequest) { r.DeclaredBy = mb }), "by"},
		{"responder", declare(func(r *incidentwire.DeclareRequest) { r.Responders = []string{"U1", mb} }), "responders[1]"},
		{"responders", declare(func(r *incidentwire.DeclareRequest) { r.Responders = make([]string, 51) }), "responders"},
		{"runs", declare(func(r *incidentwire.DeclareRequest) { r.Runs = []string{mb} }), "runs[0]"},
		{"pagerduty", declare(func(r *incidentwire.DeclareRequest) { r.PagerDutyIncident = mb }), "pagerdutyIncident"},
		{"pagerduty chars", declare(func(r *incidentwire.DeclareRequest) { r.PagerDutyIncident = "P1 <!here>" }), "pagerdutyIncident"},
		{"link url", declare(func(r *incidentwire.DeclareRequest) { r.Links = []incidentwire.Link{{URL: "https://x/" + mb}} }), "links[0].url"},
		{"link title", declare(func(r *incidentwire.DeclareRequest) { r.Links = []incidentwire.Link{{URL: "https://x/", Title: mb}} }), "links[0].title"},
		{"link id", declare(func(r *incidentwire.DeclareRequest) { r.Links = []incidentwire.Link{{ID: mb}} }), "links[0].id"},
		{"link markup", declare(func(r *incidentwire.DeclareRequest) {
			r.Links = []incidentwire.Link{{URL: "https://x/>hi <!channel> <https://evil"}}
		}), "links[0].url"},
		{"links", declare(func(r *incidentwire.DeclareRequest) { r.Links = make([]incidentwire.Link, 21) }), "links"},
		{"note bytes", command(incidentwire.IncidentCommand{Kind: incidentwire.CommandNote, Text: strings.Repeat("😀", 1001)}), "text"},
		{"note", command(incidentwire.IncidentCommand{Kind: incidentwire.CommandNote, Text: mb}), "text"},
		{"status note", command(incidentwire.IncidentCommand{Kind: incidentwire.CommandStatus, Status: "mitigated", Text: mb}), "note"},
		{"summary", command(incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, Text: strings.Repeat("é", 8000) + "x"}), "summary"},
		{"status", command(incidentwire.IncidentCommand{Kind: incidentwire.CommandStatus, Status: mb}), "status"},
		{"by", command(incidentwire.IncidentCommand{Kind: incidentwire.CommandNote, Text: "x", By: mb}), "by"},
		{"user", command(incidentwire.IncidentCommand{Kind: incidentwire.CommandRole, Role: "scribe", User: mb}), "user"},
		{"action item", command(incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, ActionItems: []string{"x", mb}}), "actionItems[1]"},
		{"action items", command(incidentwire.IncidentCommand{Kind: incidentwire.CommandResolve, ActionItems: make([]string, 21)}), "actionItems"},
		{"command link url", command(link(incidentwire.Link{URL: "https://x/" + mb})), "url"},
		{"command link ref", command(link(incidentwire.Link{ID: mb})), "id"},
		{"command link markup", command(link(incidentwire.Link{URL: "https://x/a|b"})), "url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *access.Error
			if !errors.As(tc.err, &e) || e.Kind != access.Invalid {
				t.Fatalf("got %v, want Invalid naming %s", tc.err, tc.field)
			}
			if e.Field != tc.field || len(e.Msg) > 300 {
				t.Errorf("field %q (%d-byte message %.100q), want %q", e.Field, len(e.Msg), e.Msg, tc.field)
			}
		})
	}
}

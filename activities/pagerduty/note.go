package pagerduty

import (
	"context"
	"fmt"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreak-ops/firebreak/activities/actions"
)

type noteInput struct {
	IncidentID string `json:"incidentId"`
	Content    string `json:"content"`
	From       string `json:"from"`
}

// Note adds a note to a PagerDuty incident through the REST API.
func (a *Activities) Note(ctx context.Context, req actions.Request) (any, error) {
	var in noteInput
	if err := actions.Decode(req.With, &in); err != nil {
		return nil, actions.Permanent(err)
	}
	if in.From == "" {
		in.From = a.cfg.From
	}
	switch {
	case in.IncidentID == "" || in.Content == "":
		return nil, actions.Permanentf("incidentId and content are required")
	case in.From == "":
		return nil, actions.Permanentf("PagerDuty needs the email of the user adding a note: set with.from or pagerduty.from (FIREBREAK_PAGERDUTY_FROM)")
	case a.cfg.Token == "":
		return nil, actions.Permanentf("no PagerDuty API token: set pagerduty.token (FIREBREAK_PAGERDUTY_TOKEN)")
	}
	if req.DryRun {
		return map[string]any{"dryRun": true, "incidentId": in.IncidentID}, nil
	}
	note, err := a.client.CreateIncidentNoteWithContext(ctx, in.IncidentID, pagerduty.IncidentNote{
		Content: in.Content, User: pagerduty.APIObject{Summary: in.From},
	})
	if err != nil {
		return nil, classify(fmt.Errorf("pagerduty note on %s: %w", in.IncidentID, err))
	}
	return map[string]any{"incidentId": in.IncidentID, "noteId": note.ID, "createdAt": note.CreatedAt}, nil
}

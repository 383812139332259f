package pagerduty

import (
	"context"
	"fmt"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"github.com/firebreak-ops/firebreak/activities/actions"
	"github.com/firebreak-ops/firebreak/activities/internal/effect"
)

type noteInput struct {
	IncidentID string `json:"incidentId"`
	Content    string `json:"content"`
	From       string `json:"from"`
}

// Note adds a note to a PagerDuty incident through the REST API. Notes
// have no idempotency key, so a retried attempt (an earlier one may have
// added the note before its answer was lost) first looks for the note
// among the incident's notes: the same text, added since the action was
// first scheduled (a minute's leeway for clocks).
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
	if effect.Retry(ctx) {
		earlier, err := a.findNote(ctx, in.IncidentID, in.Content, effect.Since(ctx))
		if err != nil {
			return nil, classify(fmt.Errorf("pagerduty notes of %s: %w", in.IncidentID, err))
		}
		if earlier != nil {
			return map[string]any{"incidentId": in.IncidentID, "noteId": earlier.ID, "createdAt": earlier.CreatedAt}, nil
		}
	}
	note, err := a.client.CreateIncidentNoteWithContext(ctx, in.IncidentID, pagerduty.IncidentNote{
		Content: in.Content, User: pagerduty.APIObject{Summary: in.From},
	})
	if err != nil {
		return nil, classify(fmt.Errorf("pagerduty note on %s: %w", in.IncidentID, err))
	}
	return map[string]any{"incidentId": in.IncidentID, "noteId": note.ID, "createdAt": note.CreatedAt}, nil
}

// findNote returns the newest note of an incident with this content added
// since a time, or nil.
func (a *Activities) findNote(ctx context.Context, incident, content string, since time.Time) (*pagerduty.IncidentNote, error) {
	notes, err := a.client.ListIncidentNotesWithContext(ctx, incident)
	if err != nil {
		return nil, err
	}
	var found *pagerduty.IncidentNote
	for i, n := range notes {
		if n.Content != content {
			continue
		}
		if at, err := time.Parse(time.RFC3339, n.CreatedAt); err == nil && at.Before(since.Add(-time.Minute)) {
			continue
		}
		found = &notes[i]
	}
	return found, nil
}
